"""Cards: configs checked against their card type and the project's data, placed on a page."""

from typing import Any

from models import card_queries
from models.card_types import DEFAULT_SIZES, referenced_names, validate_config
from models.content import Card, Dashboard, Page
from models.datasets import Dataset
from models.errors import CardNotFound, InvalidCardConfig, InvalidQuery
from models.layout import free_spot, place
from models.pages import page_at
from models.query import compile_query


def card_on(dashboard: Dashboard, card_id: int) -> Card:
    """The card of this dashboard with its page (for its number): a card of another dashboard is
    as unknown as a missing one."""
    card = Card.select(Card, Page).join(Page).where((Card.id == card_id) & (Card.dashboard == dashboard)).first()
    if card is None:
        raise CardNotFound(f"Card {card_id} is not on dashboard {dashboard.id}.")
    return card


def check_config(dashboard: Dashboard, card_type: str, config: dict[str, Any], path: str = "/config") -> None:
    """The config's schema, then the dataset, columns and parameters it names, all at once."""
    validate_config(card_type, config, path)
    names = referenced_names(card_type, config, path)
    errors = []
    if names["dataset_id"] is not None:
        dataset = Dataset.get_or_none((Dataset.id == names["dataset_id"]) & (Dataset.project == dashboard.project_id))
        if dataset is None:
            errors.append({"path": f"{path}/dataset_id", "message": "no such dataset in this project"})
        else:
            known = {column["name"] for column in dataset.columns}
            errors += [
                {"path": pointer, "message": f"dataset {dataset.id} has no column {name!r}"}
                for pointer, name in names["columns"]
                if name not in known
            ]
            if not errors:
                errors += _sort_errors(card_type, config, dataset, path)
    parameters = {parameter["name"] for parameter in dashboard.parameters}
    errors += [
        {"path": pointer, "message": f"the dashboard has no parameter {name!r}"}
        for pointer, name in names["parameters"]
        if name not in parameters
    ]
    if errors:
        raise InvalidCardConfig(f"The {card_type} card config names what does not exist.", errors=errors)


def _sort_errors(card_type: str, config: dict[str, Any], dataset: Dataset, path: str) -> list[dict[str, str]]:
    """`sort.by` must name an output of the card's query (a column, a dimension, a metric's name),
    found by compiling the query as the render would, so the two can never disagree."""
    errors = []
    for ask in card_queries.queries(card_type, config).values():
        if ask.count_only or "sort" not in ask.spec:
            continue
        try:
            compile_query(dataset, ask.spec, {})
        except InvalidQuery as exc:
            errors += [
                {"path": path + error["path"], "message": error["message"]}
                for error in exc.errors or ()
                if error["path"].startswith("/sort/")
            ]
    return errors


def add_card(
    dashboard: Dashboard,
    card_type: str,
    config: dict[str, Any],
    page_number: int = 1,
    layout: dict[str, int] | None = None,
) -> Card:
    """A new card; without a layout it takes its type's default size at the page's first free spot."""
    check_config(dashboard, card_type, config)
    page = page_at(dashboard, page_number, path="/page")
    size = DEFAULT_SIZES[card_type]
    geometry = place(page, layout) if layout else free_spot(page, size.w, size.h)
    return Card.create(dashboard=dashboard, page=page, card_type=card_type, config=config, **geometry)


def update_card(dashboard: Dashboard, card: Card, changes: dict[str, Any]) -> Card:
    """Apply the fields sent; a page sent without a layout lands at that page's first free spot.

    A `card_type` of None is one left out (the spec's `SameTypeCardUpdate`): the card keeps its type.
    """
    if changes.get("card_type") is not None or "config" in changes:
        card.card_type = changes.get("card_type") or card.card_type
        card.config = changes.get("config", card.config)
        check_config(dashboard, card.card_type, card.config)
    page = page_at(dashboard, changes["page"], path="/page") if "page" in changes else card.page
    if "layout" in changes:
        geometry = place(page, changes["layout"], card_id=card.id)
    elif page.id != card.page_id:
        geometry = free_spot(page, card.w, card.h)
    else:
        geometry = {}
    for name, value in geometry.items():
        setattr(card, name, value)
    card.page = page
    card.save()
    return card


def duplicate_card(card: Card) -> Card:
    """A copy of the card (loaded with its page, as `card_on` does), at its size, at the first free
    spot of its page."""
    geometry = free_spot(card.page_id, card.w, card.h)
    return Card.create(
        dashboard=card.dashboard_id, page=card.page, card_type=card.card_type, config=card.config, **geometry
    )
