"""The grid in the store: the cards of a page as rects, placing one card, and layout batches.

A layout batch loads the dashboard's cards once, applies the moves in memory, checks each
changed page with the sweep line (O(n log n) per page) and writes the moved cards in a few
bulk UPDATEs; the caller's transaction makes it all or nothing.
"""

from collections import defaultdict
from collections.abc import Hashable

from models.base import utcnow
from models.content import Card, Dashboard, Page
from models.errors import InvalidLayout
from models.grid import (
    MAX_CONFLICTS,
    Rect,
    bounds_errors,
    check_bounds,
    first_free_spot,
    overlap_conflict,
    overlap_summary,
    overlaps,
)

GEOMETRY = ("x", "y", "w", "h")


def rect_of(card: Card) -> Rect:
    return Rect(card.id, card.x, card.y, card.w, card.h)


def page_rects(page: Page | int, excluding: int | None = None) -> list[Rect]:
    query = Card.select(Card.id, Card.x, Card.y, Card.w, Card.h).where(Card.page == page)
    if excluding is not None:
        query = query.where(Card.id != excluding)
    return [rect_of(card) for card in query]


def place(page: Page, layout: dict[str, int], card_id: int | None = None, path: str = "/layout") -> dict[str, int]:
    """The layout for a card put on `page` at `layout`: 422 off the grid, 409 on another card."""
    check_bounds(layout, path)
    rect = Rect(card_id, *(layout[name] for name in GEOMETRY))
    others = sorted(page_rects(page, excluding=card_id), key=lambda other: (other.y, other.x, other.card_id))
    hits = [other.card_id for other in others if overlaps(rect, other)]
    if hits:
        raise overlap_conflict([(card_id, other) for other in hits])
    return dict(zip(GEOMETRY, (rect.x, rect.y, rect.w, rect.h)))


def free_spot(page: Page | int, w: int, h: int) -> dict[str, int]:
    """A w×h layout at the first free spot of `page`."""
    x, y = first_free_spot(page_rects(page), w, h)
    return {"x": x, "y": y, "w": w, "h": h}


def dashboard_cards(dashboard: Dashboard) -> list[Card]:
    """Every card of the dashboard with its page (for its number), by id: one query."""
    return list(Card.select(Card, Page).join(Page).where(Card.dashboard == dashboard).order_by(Card.id))


def apply_moves(dashboard: Dashboard, moves: list[dict[str, int]]) -> list[Card]:
    """Apply a batch of `{card_id, x, y, w, h}`: all of it, or raise and change nothing.

    Answers every card of the dashboard as it is afterwards.
    """
    cards = dashboard_cards(dashboard)
    by_id = {card.id: card for card in cards}
    _check_batch(moves, by_id)
    moved, now = [], utcnow()
    for move in moves:
        card = by_id[move["card_id"]]
        if any(getattr(card, name) != move[name] for name in GEOMETRY):
            for name in GEOMETRY:
                setattr(card, name, move[name])
            card.updated_at = now
            moved.append(card)
    _check_overlaps(cards, {card.page_id for card in moved})
    if moved:
        Card.bulk_update(moved, fields=[*GEOMETRY, "updated_at"], batch_size=100)
    return cards


def _check_batch(moves: list[dict[str, int]], by_id: dict[int, Card]) -> None:
    """Every fault of the batch at once: off the grid, not on this dashboard, named twice."""
    errors: list[dict[str, str]] = []
    first_seen: dict[int, int] = {}
    for index, move in enumerate(moves):
        errors += bounds_errors(move, f"/{index}")
        card_id = move["card_id"]
        if card_id not in by_id:
            errors.append({"path": f"/{index}/card_id", "message": f"card {card_id} is not on this dashboard"})
        elif card_id in first_seen:
            errors.append(
                {"path": f"/{index}/card_id", "message": f"card {card_id} is already moved by /{first_seen[card_id]}"}
            )
        first_seen.setdefault(card_id, index)
    if errors:
        raise InvalidLayout("The layout batch cannot be applied.", errors=errors)


def _check_overlaps(cards: list[Card], page_ids: set[int]) -> None:
    """Overlaps among all the cards (moved or not) of each page the batch changed."""
    by_page: defaultdict[int, list[Rect]] = defaultdict(list)
    for card in cards:
        if card.page_id in page_ids:
            by_page[card.page_id].append(rect_of(card))
    pairs: list[tuple[Hashable, Hashable]] = []
    total = 0
    for page_id in sorted(by_page):
        kept, count = overlap_summary(by_page[page_id], keep=MAX_CONFLICTS - len(pairs))
        pairs, total = pairs + kept, total + count
    if total:
        raise overlap_conflict(pairs, total)
