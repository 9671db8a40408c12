"""What each card type asks of its dataset, and how the answers become the card's `data`.

A data card names its queries in the compiler's vocabulary (models/query.py); render runs them
and hands the results back here. Nothing in this module touches the store.
"""

from collections.abc import Callable
from typing import Any, NamedTuple

OPTIONS_LIMIT = 200


class Ask(NamedTuple):
    """One query of a card: its spec, and whether only the number of result rows is wanted."""

    spec: dict[str, Any]
    count_only: bool = False


Config = dict[str, Any]

# Data cards: card type -> the named query specs for a config.


def _kpi(config: Config) -> dict[str, Ask]:
    return {"main": Ask({"metrics": [config["metric"]], "filters": config.get("filters", [])})}


def _chart(config: Config) -> dict[str, Ask]:
    dimensions = [config["x"]] + ([{"column": config["series_by"]}] if config.get("series_by") else [])
    spec = {"dimensions": dimensions, "metrics": config["metrics"], "filters": config.get("filters", [])}
    return {"main": Ask({**spec, **_optional(config, "sort", "limit")})}


def _table(config: Config) -> dict[str, Ask]:
    filters = config.get("filters", [])
    main: dict[str, Any]
    if config.get("group_by") or config.get("metrics"):
        main = {"dimensions": config.get("group_by", []), "metrics": config.get("metrics", []), "filters": filters}
    else:
        main = {"filters": filters, **_optional(config, "columns")}
    return {"main": Ask({**main, **_optional(config, "sort", "limit")}), "total": Ask(main, count_only=True)}


def _detail(config: Config) -> dict[str, Ask]:
    return {"main": Ask({"columns": config["fields"], "filters": config.get("filters", []), "limit": 1})}


def _filter(config: Config) -> dict[str, Ask]:
    if not config.get("column"):
        return {}
    return {"options": Ask({"dimensions": [{"column": config["column"]}], "limit": OPTIONS_LIMIT})}


def _optional(config: Config, *keys: str) -> dict[str, Any]:
    return {key: config[key] for key in keys if key in config}


QUERIES: dict[str, Callable[[Config], dict[str, Ask]]] = {
    "kpi": _kpi,
    "chart": _chart,
    "table": _table,
    "detail": _detail,
    "filter": _filter,
}


def queries(card_type: str, config: Config) -> dict[str, Ask]:
    """{name: Ask} for a data card; {} for one that needs no query."""
    build = QUERIES.get(card_type)
    return build(config) if build else {}


def dataset_id(card_type: str, config: Config) -> Any:
    return config.get("dataset_id") if card_type in QUERIES else None


# Card type -> its `data` from the query results ({name: {"columns", "rows"}} or a count).


def data(card_type: str, config: Config, results: dict[str, Any], params: dict[str, Any]) -> Any:
    if card_type == "text":
        return {"markdown": config["markdown"]}
    if card_type == "image":
        return {"url": config["url"], "alt": config.get("alt", "")}
    if card_type == "kpi":
        main = results["main"]
        value = main["rows"][0][0] if main["rows"] else None
        return {"value": value, "label": config.get("label") or main["columns"][0]["name"]}
    if card_type == "chart":
        return results["main"]
    if card_type == "table":
        return {**results["main"], "total": results["total"]}
    if card_type == "detail":
        main = results["main"]
        names = [column["name"] for column in main["columns"]]
        return {"record": dict(zip(names, main["rows"][0])) if main["rows"] else None}
    if card_type == "filter":
        options = results.get("options", {"rows": []})["rows"]
        return {
            "parameter": config["parameter"],
            "value": params.get(config["parameter"]),
            "options": [row[0] for row in options if row[0] is not None],
        }
    raise ValueError(f"unknown card type {card_type!r}")
