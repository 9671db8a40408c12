"""Dashboard templates: built-in dashboards kept as data (models/templates/<id>.json) that a
dataset fills in.

A template names roles (a measure, a date, a category, a key) and writes its cards in the card
types' own vocabulary, with placeholders where the dataset fills in:
  {"$dataset": "id"}   the dataset's id          {"$role": r}     the name of r's column
  {"$text": "… {r} …"} text with column names     {"$columns": n}  up to n column names, roles first
  {"$filters": name}   a named filter list         {"$type": r}     the parameter type of r's column
  {"$min": r}          r's lowest value (a key parameter opens on a real record; absent when empty)
  {"$output": i}       the name of a chart/table's i-th output column (dimensions, then metrics)
Instantiating binds every role to a column — by type, and by the data itself for categories and
keys — and creates the dashboard through the same functions as the API, so every card config is
checked exactly as a client's would be. The caller's transaction makes it all or nothing.
"""

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema.validators import validator_for

from models.cards import add_card
from models.content import Collection, Dashboard, Page
from models.dataset_tables import pointer
from models.datasets import Dataset
from models.errors import TemplateIncompatible, TemplateNotFound
from models.pages import add_page
from models.parameters import validate_definitions
from models.query import run_query

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
SCHEMA_FILE = TEMPLATE_DIR / "template.schema.json"
MAX_CATEGORIES = 50
MAX_TEXT = 255  # labels, parameter labels and metric labels are at most this long
_ROLE_IN_TEXT = re.compile(r"\{([a-z][a-z0-9_]*)\}")
Column = dict[str, Any]  # a dataset column: {name, type, key}
_PARAMETER_TYPES = {
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "date": "date",
    "datetime": "date",
}


@dataclass(frozen=True)
class Kind:
    """What a column must be to fill a role of this kind: its types, and a data rule (see _choose)."""

    types: tuple[str, ...]
    requirement: str


KINDS = {
    "measure": Kind(("integer", "number"), "a numeric column (integer or number)"),
    "date": Kind(("date", "datetime"), "a date or datetime column"),
    "category": Kind(("string",), f"a text column with at most {MAX_CATEGORIES} distinct values"),
    "key": Kind(("string", "integer"), "a text or integer column whose values are unique and never empty"),
}


@dataclass(frozen=True)
class Role:
    name: str
    kind: str
    description: str

    @property
    def types(self) -> tuple[str, ...]:
        return KINDS[self.kind].types

    @property
    def requirement(self) -> str:
        return KINDS[self.kind].requirement


@dataclass(frozen=True)
class Template:
    """A loaded template file; `data` is the file as read, never handed out or changed."""

    id: str
    name: str
    description: str
    roles: tuple[Role, ...]
    data: dict[str, Any]

    @property
    def parameters(self) -> list[dict[str, Any]]:
        return self.data["parameters"]

    @property
    def pages(self) -> list[dict[str, Any]]:
        return self.data["pages"]


# --- loading --------------------------------------------------------------------------------


@functools.cache
def _loaded() -> dict[str, Template]:
    """Every template by id, read and checked once: a broken file fails on first use, loudly."""
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    cls = validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema)
    found = {}
    for path in sorted(TEMPLATE_DIR.glob("*.json")):
        if path == SCHEMA_FILE:
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        validator.validate(data)
        if data["id"] != path.stem:
            raise ValueError(f"{path.name}: id {data['id']!r} is not the file's name")
        _check_placeholders(data, path.name)
        roles = tuple(Role(name, spec["kind"], spec["description"]) for name, spec in data["roles"].items())
        found[data["id"]] = Template(data["id"], data["name"], data["description"], roles, data)
    return found


def _check_placeholders(data: dict[str, Any], where: str) -> None:
    """Placeholders must name the file's own roles and filter lists (the schema cannot say so)."""
    roles, filters = set(data["roles"]), set(data.get("filters", {}))
    wanted = {"$role": roles, "$min": roles, "$type": roles, "$filters": filters}

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key in wanted and value not in wanted[key]:
                    raise ValueError(f"{where}: {key} names {value!r}, which the template does not define")
                if key == "$text" and not set(_ROLE_IN_TEXT.findall(value)) <= roles:
                    raise ValueError(f"{where}: {value!r} names a role the template does not define")
                walk(value)

    walk(data)


def all_templates() -> list[Template]:
    return list(_loaded().values())


def template(template_id: str) -> Template:
    found = _loaded().get(template_id)
    if found is None:
        raise TemplateNotFound(f"There is no template {template_id!r}.")
    return found


# --- binding roles to columns ---------------------------------------------------------------


class _Profile:
    """Counts the data rules need, from one aggregate query over the dataset, made on first use."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    @functools.cached_property
    def _counts(self) -> tuple[int, dict[str, tuple[int, int]]]:
        names = [c["name"] for c in self.dataset.columns if c["type"] in ("string", "integer")]
        metrics = [{"agg": "count", "label": "rows"}]
        for index, name in enumerate(names):
            metrics += [
                {"agg": "count", "column": name, "label": f"n{index}"},
                {"agg": "count_distinct", "column": name, "label": f"d{index}"},
            ]
        row = run_query(self.dataset, {"metrics": metrics})["rows"][0]
        counts = {name: (row[1 + 2 * i], row[2 + 2 * i]) for i, name in enumerate(names)}
        return row[0], counts

    def distinct(self, column: Column) -> int:
        return self._counts[1][column["name"]][1]

    def is_unique(self, column: Column) -> bool:
        """Every row has a value, and no two rows the same one (true of an empty dataset)."""
        rows, counts = self._counts
        return counts[column["name"]] == (rows, rows)

    def looks_like_key(self, column: Column) -> bool:
        return column["type"] == "integer" and self._counts[0] > 1 and self.is_unique(column)


def _choose(kind: str, candidates: list[Column], profile: _Profile) -> tuple[Column | None, str | None]:
    """The column for a role of `kind` among `candidates` (dataset order), or (None, why not)."""
    if not candidates:
        return None, "none found"
    if kind == "category":
        fitting = [c for c in candidates if profile.distinct(c) <= MAX_CATEGORIES]
        if not fitting:
            return None, f"every text column has more than {MAX_CATEGORIES} distinct values"
        # The fewest distinct values, but a column of one value splits nothing: it comes last.
        return min(fitting, key=lambda c: (profile.distinct(c) < 2, profile.distinct(c))), None
    if kind == "key":
        unique = [c for c in candidates if profile.is_unique(c)]
        return (unique[0], None) if unique else (None, "no text or integer column has unique, non-empty values")
    if kind == "measure":
        # An integer id adds up to nonsense: prefer numbers that do not look like keys.
        return sorted(candidates, key=profile.looks_like_key)[0], None
    return candidates[0], None


def bind(tpl: Template, dataset: Dataset, given: dict[str, str]) -> dict[str, Column]:
    """{role: column} for every role; TemplateIncompatible lists every bad binding and unmet role.

    Explicit bindings are checked for existence and type only: whoever names a column knows
    its data better than a cardinality rule does. Each role gets a different column.
    """
    columns = {column["name"]: column for column in dataset.columns}
    roles = {role.name: role for role in tpl.roles}
    errors = [
        {"path": pointer("bindings", name), "message": f"the template has no role {name!r}"}
        for name in given
        if name not in roles
    ]
    bound: dict[str, Column] = {}
    for role in tpl.roles:
        if role.name not in given:
            continue
        name, path = given[role.name], pointer("bindings", role.name)
        column = columns.get(name)
        if column is None:
            errors.append({"path": path, "message": f"the dataset has no column {name!r}"})
        elif column["type"] not in role.types:
            errors.append(
                {
                    "path": path,
                    "message": f"{name!r} is a {column['type']} column; {role.name} needs {role.requirement}",
                }
            )
        elif any(other is column for other in bound.values()):
            errors.append({"path": path, "message": f"{name!r} is already bound to another role"})
        else:
            bound[role.name] = column
    profile = _Profile(dataset)
    for role in tpl.roles:
        if role.name in given:
            continue
        taken = [id(column) for column in bound.values()]
        candidates = [c for c in dataset.columns if c["type"] in role.types and id(c) not in taken]
        column, why_not = _choose(role.kind, candidates, profile)
        if column is None:
            errors.append(
                {"path": "/dataset_id", "message": f"needs {role.requirement} for the {role.name} role ({why_not})"}
            )
        else:
            bound[role.name] = column
    if errors:
        raise TemplateIncompatible(f"Dataset {dataset.id} cannot fill the {tpl.id} template.", errors=errors)
    return bound


# --- filling in placeholders ----------------------------------------------------------------


class _Filler:
    """Substitutes a template's placeholders for one dataset and its bound columns."""

    def __init__(self, tpl: Template, dataset: Dataset, bound: dict[str, Column]) -> None:
        self.tpl, self.dataset, self.bound = tpl, dataset, bound

    def __call__(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self(item) for item in node]
        if isinstance(node, dict):
            if len(node) == 1 and next(iter(node)).startswith("$"):
                ((key, argument),) = node.items()
                return getattr(self, "_" + key[1:])(argument)
            filled = ((key, self(value)) for key, value in node.items())
            # A placeholder with nothing to say ($min of an empty dataset) leaves its key out.
            return {key: value for key, value in filled if value is not None}
        return node

    def _dataset(self, _: object) -> int:
        return self.dataset.id

    def _role(self, role: str) -> str:
        return self.bound[role]["name"]

    def _text(self, text: str) -> str:
        return _ROLE_IN_TEXT.sub(lambda m: self.bound[m[1]]["name"], text)[:MAX_TEXT]

    def _type(self, role: str) -> str:
        return _PARAMETER_TYPES[self.bound[role]["type"]]

    def _columns(self, limit: int) -> list[str]:
        bound = [column["name"] for column in self.bound.values()]
        rest = [column["name"] for column in self.dataset.columns if column["name"] not in bound]
        return (bound + rest)[:limit]

    def _filters(self, name: str) -> Any:
        return self(self.tpl.data["filters"][name])

    def _min(self, role: str) -> Any:
        metric = {"agg": "min", "column": self.bound[role]["name"], "label": "lowest"}
        return run_query(self.dataset, {"metrics": [metric]})["rows"][0][0]

    def _output(self, index: int) -> dict[str, int]:
        return {"$output": index}  # resolved by _settle_outputs, once the names are final

    def config(self, card_type: str, config: dict[str, Any]) -> dict[str, Any]:
        filled = self(config)
        return _settle_outputs(filled) if card_type in ("chart", "table") else filled


def _settle_outputs(config: dict[str, Any]) -> dict[str, Any]:
    """Give every output column a distinct name, then point sorts at them.

    Column names are the user's: a category named "Rows" would clash with a metric labelled
    "Rows", which the query compiler refuses. A clashing metric gets a numbered label.
    """
    dimensions = [config["x"]] if "x" in config else list(config.get("group_by", []))
    names = [item["column"] for item in dimensions] + ([config["series_by"]] if "series_by" in config else [])
    for metric in config.get("metrics", []):
        first = metric.get("label") or (f"{metric['agg']}_{metric['column']}" if "column" in metric else "count")
        name, number = first, 2
        while name in names:
            suffix = f" ({number})"
            name, number = first[: MAX_TEXT - len(suffix)] + suffix, number + 1
        if name != first:
            metric["label"] = name
        names.append(name)
    for item in config.get("sort", []):
        if isinstance(item["by"], dict):
            item["by"] = names[item["by"]["$output"]]
    return config


# --- instantiating --------------------------------------------------------------------------


def instantiate(
    tpl: Template,
    dataset: Dataset,
    bindings: dict[str, str],
    *,
    project: int,
    owner: int,
    name: str,
    collection: Collection | None,
) -> Dashboard:
    """A new private dashboard of the caller built from `tpl` over `dataset`."""
    bound = bind(tpl, dataset, bindings)
    fill = _Filler(tpl, dataset, bound)
    dashboard = Dashboard.create_with_first_page(
        project=project,
        owner=owner,
        collection=collection,
        name=name,
        description=tpl.description,
        parameters=validate_definitions(fill(tpl.parameters)),
    )
    for number, page in enumerate(tpl.pages, start=1):
        if number == 1:
            Page.update(name=page["name"]).where((Page.dashboard == dashboard) & (Page.position == 1)).execute()
        else:
            add_page(dashboard, page["name"])
        for card in page["cards"]:
            add_card(
                dashboard,
                card["card_type"],
                fill.config(card["card_type"], card["config"]),
                page_number=number,
                layout=card["layout"],
            )
    return dashboard
