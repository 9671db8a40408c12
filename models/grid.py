"""The dashboard grid: 24 columns, cards as rectangles that never overlap on one page.

Pure functions over `Rect`s; the model layer loads a page's cards into rects and calls these.
"""

from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from models.errors import CardPositionConflict, InvalidLayout

COLUMNS = 24
MAX_HEIGHT = 1000
MAX_CONFLICTS = 50  # pairs listed in a card_position_conflict; conflict_count has them all


@dataclass(frozen=True, slots=True)
class Rect:
    card_id: Hashable
    x: int
    y: int
    w: int
    h: int

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h


_BOUNDS: dict[str, tuple[int, int | None]] = {
    "x": (0, COLUMNS - 1),
    "y": (0, None),
    "w": (1, COLUMNS),
    "h": (1, MAX_HEIGHT),
}


def _field_error(name: str, value: Any) -> str | None:
    low, high = _BOUNDS[name]
    if value is None:
        return f"'{name}' is required."
    if isinstance(value, bool) or not isinstance(value, int):
        return f"'{name}' must be an integer."
    if value < low or (high is not None and value > high):
        upper = f" and at most {high}" if high is not None else ""
        return f"'{name}' must be at least {low}{upper}."
    return None


def bounds_errors(layout: Mapping[str, Any] | Rect, path: str) -> list[dict[str, str]]:
    """Every bounds error of one layout (a mapping or a Rect), as `{path, message}` items."""
    values = _layout_values(layout)
    errors = []
    for name in _BOUNDS:
        message = _field_error(name, values.get(name))
        if message:
            errors.append({"path": f"{path}/{name}", "message": message})
    if not errors and values["x"] + values["w"] > COLUMNS:
        errors.append(
            {
                "path": f"{path}/w",
                "message": f"x + w must be at most {COLUMNS} (the card ends at column {values['x'] + values['w']}).",
            }
        )
    return errors


def _layout_values(layout: Mapping[str, Any] | Rect) -> Mapping[str, Any]:
    if isinstance(layout, Rect):
        return {name: getattr(layout, name) for name in _BOUNDS}
    return layout


def check_bounds(layout: Mapping[str, Any] | Rect, path: str = "") -> None:
    """Raise InvalidLayout naming each field of `layout` that leaves the grid."""
    errors = bounds_errors(layout, path)
    if errors:
        raise InvalidLayout("The layout does not fit the 24-column grid.", errors=errors)


def overlaps(a: Rect, b: Rect) -> bool:
    """Whether two rects share a cell (rects that only touch do not)."""
    return (
        a.w > 0
        and a.h > 0
        and b.w > 0
        and b.h > 0
        and a.x < b.right
        and b.x < a.right
        and a.y < b.bottom
        and b.y < a.bottom
    )


def _sweep(rects: Sequence[Rect]) -> Iterator[tuple[int, list[dict[int, None]]]]:
    """For each rect as the sweep line reaches its top: (its index, the active cells of its columns).

    A sweep over y keeps, for each grid column, the rects active at the sweep line. A new rect
    meets exactly the active rects in its columns, and each pair shares at most 24 columns, so
    the work is O(n log n + k) for k overlapping pairs on the 24-column grid. Ends are handled
    before starts at the same y, so rects that only touch do not overlap. The consumer reads the
    cells before the rect joins them, and nothing here grows with the number of pairs.
    """
    events = sorted(
        [(rect.y, 1, index) for index, rect in enumerate(rects)]
        + [(rect.bottom, 0, index) for index, rect in enumerate(rects)]
    )
    active: dict[int, dict[int, None]] = {}  # column -> {index: None}, an insertion-ordered set
    for _, is_start, index in events:
        columns = range(rects[index].x, rects[index].right)
        if not is_start:
            for column in columns:
                del active[column][index]
            continue
        cells = [active.setdefault(column, {}) for column in columns]
        yield index, cells
        for cell in cells:
            cell[index] = None


def _drawn(rects: Sequence[Rect]) -> list[Rect]:
    return [rect for rect in rects if rect.w > 0 and rect.h > 0]


def find_overlaps(rects: Sequence[Rect]) -> list[tuple[Hashable, Hashable]]:
    """Every pair of overlapping rects, as `(card_id, other_card_id)`."""
    rects = _drawn(rects)
    pairs: list[tuple[Hashable, Hashable]] = []
    for index, cells in _sweep(rects):
        others = dict.fromkeys(other for cell in cells for other in cell)
        pairs += [(rects[other].card_id, rects[index].card_id) for other in others]
    return pairs


def overlap_summary(rects: Sequence[Rect], keep: int = MAX_CONFLICTS) -> tuple[list[tuple[Hashable, Hashable]], int]:
    """(the first `keep` pairs `find_overlaps` would list, how many pairs overlap in all).

    Counting takes one set of the rects a rect meets at a time, so 500 stacked cards (124,750
    pairs) cost O(n) memory, not O(n²).
    """
    rects = _drawn(rects)
    kept: list[tuple[Hashable, Hashable]] = []
    total = 0
    for index, cells in _sweep(rects):
        total += len(set().union(*cells))
        if len(kept) < keep:
            others = dict.fromkeys(other for cell in cells for other in cell)
            kept += [(rects[other].card_id, rects[index].card_id) for other in others][: keep - len(kept)]
    return kept, total


def raise_on_overlaps(rects: Sequence[Rect]) -> None:
    """Raise CardPositionConflict naming the overlapping pairs among `rects` (the first MAX_CONFLICTS)."""
    pairs, total = overlap_summary(rects)
    if total:
        raise overlap_conflict(pairs, total)


def overlap_conflict(pairs: Sequence[tuple[Hashable, Hashable]], total: int | None = None) -> CardPositionConflict:
    """The CardPositionConflict naming the first MAX_CONFLICTS `(card_id, other_card_id)` pairs of
    `total` (default: all of `pairs`)."""
    total = len(pairs) if total is None else total
    shown = pairs[:MAX_CONFLICTS]
    described = ", ".join(f"{'the new card' if a is None else a} and {b}" for a, b in shown)
    more = f", and {total - len(shown)} more pair(s)" if total > len(shown) else ""
    return CardPositionConflict(
        f"Cards would overlap: {described}{more}.",
        conflicts=[{"card_id": a, "other_card_id": b} for a, b in shown],
        conflict_count=total,
    )


def first_free_spot(rects: Sequence[Rect], w: int, h: int) -> tuple[int, int]:
    """The first `(x, y)`, top to bottom then left to right, where a w×h card overlaps nothing.

    The first free spot always sits at y 0 or at the bottom of a card (else it could move up),
    and at x 0 or at the right edge of a card (else it could move left), so only those are tried.
    """
    if not 1 <= w <= COLUMNS or h < 1:
        raise ValueError(f"a card of size {w}x{h} cannot be placed on the grid")
    rects = [rect for rect in rects if rect.w > 0 and rect.h > 0]
    for y in sorted({0, *(rect.bottom for rect in rects)}):
        band = [rect for rect in rects if rect.y < y + h and rect.bottom > y]
        x = _first_gap(band, w)
        if x is not None:
            return x, y
    raise AssertionError("unreachable: below every card the grid is free")


def _first_gap(band: Sequence[Rect], w: int) -> int | None:
    """The leftmost x where w columns are free of every rect in `band`, or None."""
    cursor = 0
    for rect in sorted(band, key=lambda rect: rect.x):
        if rect.x - cursor >= w:
            return cursor
        cursor = max(cursor, rect.right)
    return cursor if COLUMNS - cursor >= w else None
