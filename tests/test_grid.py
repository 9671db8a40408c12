"""The 24-column grid: bounds, overlaps, first free spot; properties checked against brute force."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from models.errors import CardPositionConflict, InvalidLayout
from models.grid import COLUMNS, Rect, check_bounds, find_overlaps, first_free_spot, overlaps, raise_on_overlaps


def overlap(a, b):
    return a.x < b.right and b.x < a.right and a.y < b.bottom and b.y < a.bottom


def brute_overlaps(rects):
    return {frozenset((a.card_id, b.card_id)) for i, a in enumerate(rects) for b in rects[i + 1 :] if overlap(a, b)}


def brute_first_free_spot(rects, w, h):
    bottom = max((rect.bottom for rect in rects), default=0)
    for y in range(bottom + 1):
        for x in range(COLUMNS - w + 1):
            if not any(overlap(Rect("new", x, y, w, h), rect) for rect in rects):
                return x, y


def as_set(pairs):
    return {frozenset(pair) for pair in pairs}


@st.composite
def rects_on_grid(draw, max_y=40, max_h=12, max_size=25):
    sizes = draw(
        st.lists(
            st.tuples(st.integers(0, COLUMNS - 1), st.integers(0, max_y), st.integers(1, max_h)), max_size=max_size
        )
    )
    return [Rect(index, x, y, draw(st.integers(1, COLUMNS - x)), h) for index, (x, y, h) in enumerate(sizes)]


# --- bounds -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "layout",
    [
        {"x": 0, "y": 0, "w": 24, "h": 1},
        {"x": 23, "y": 0, "w": 1, "h": 1000},
        {"x": 12, "y": 5000, "w": 12, "h": 8},
        Rect(7, 0, 0, 24, 4),
    ],
)
def test_layouts_inside_the_grid_pass(layout):
    check_bounds(layout)


@pytest.mark.parametrize(
    "layout, path",
    [
        ({"x": -1, "y": 0, "w": 1, "h": 1}, "/layout/x"),
        ({"x": 24, "y": 0, "w": 1, "h": 1}, "/layout/x"),
        ({"x": 0, "y": -1, "w": 1, "h": 1}, "/layout/y"),
        ({"x": 0, "y": 0, "w": 0, "h": 1}, "/layout/w"),
        ({"x": 0, "y": 0, "w": 25, "h": 1}, "/layout/w"),
        ({"x": 20, "y": 0, "w": 5, "h": 1}, "/layout/w"),
        ({"x": 0, "y": 0, "w": 1, "h": 0}, "/layout/h"),
        ({"x": 0, "y": 0, "w": 1, "h": 1001}, "/layout/h"),
        ({"x": 0, "y": 0, "w": 1}, "/layout/h"),
        ({"x": True, "y": 0, "w": 1, "h": 1}, "/layout/x"),
        ({"x": 1.5, "y": 0, "w": 1, "h": 1}, "/layout/x"),
    ],
)
def test_layouts_outside_the_grid_name_the_field(layout, path):
    with pytest.raises(InvalidLayout) as caught:
        check_bounds(layout, "/layout")
    assert [error["path"] for error in caught.value.errors] == [path]
    assert caught.value.code == "invalid_layout"


def test_bounds_report_every_field_under_the_batch_prefix():
    with pytest.raises(InvalidLayout) as caught:
        check_bounds({"x": 30, "y": -2, "w": 0, "h": 2000}, "/2")
    assert [error["path"] for error in caught.value.errors] == ["/2/x", "/2/y", "/2/w", "/2/h"]


# --- overlaps -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "a, b",
    [
        (Rect(1, 0, 0, 6, 4), Rect(2, 6, 0, 6, 4)),  # side by side
        (Rect(1, 0, 0, 6, 4), Rect(2, 0, 4, 6, 4)),  # stacked
        (Rect(1, 0, 0, 6, 4), Rect(2, 6, 4, 6, 4)),  # corners meet
    ],
)
def test_touching_edges_do_not_overlap(a, b):
    assert find_overlaps([a, b]) == []


@pytest.mark.parametrize(
    "a, b",
    [
        (Rect(1, 0, 0, 12, 8), Rect(2, 2, 2, 4, 4)),  # containment
        (Rect(1, 3, 3, 6, 4), Rect(2, 3, 3, 6, 4)),  # identical
        (Rect(1, 0, 0, 6, 4), Rect(2, 5, 3, 6, 4)),  # one cell in common
        (Rect(1, 4, 0, 2, 10), Rect(2, 0, 4, 12, 2)),  # a cross
    ],
)
def test_overlapping_pairs_are_found(a, b):
    assert as_set(find_overlaps([a, b])) == {frozenset((1, 2))}


def test_each_overlapping_pair_is_named_once():
    rects = [Rect(1, 0, 0, 24, 2), Rect(2, 0, 1, 24, 2), Rect(3, 0, 0, 24, 3), Rect(4, 0, 3, 24, 1)]
    pairs = find_overlaps(rects)
    assert len(pairs) == len(as_set(pairs)) == 3
    assert as_set(pairs) == {frozenset(p) for p in [(1, 2), (1, 3), (2, 3)]}


def test_raise_on_overlaps_names_the_cards_in_conflict():
    raise_on_overlaps([Rect(1, 0, 0, 6, 4), Rect(2, 6, 0, 6, 4)])
    with pytest.raises(CardPositionConflict) as caught:
        raise_on_overlaps([Rect(1, 0, 0, 6, 4), Rect(2, 6, 0, 6, 4), Rect(3, 4, 2, 4, 4)])
    assert caught.value.code == "card_position_conflict"
    conflicts = caught.value.extra["conflicts"]
    assert {frozenset(c.values()) for c in conflicts} == {frozenset((1, 3)), frozenset((2, 3))}
    assert all(set(c) == {"card_id", "other_card_id"} for c in conflicts)


@given(rects_on_grid())
def test_find_overlaps_equals_brute_force(rects):
    pairs = find_overlaps(rects)
    assert len(pairs) == len(as_set(pairs))
    assert as_set(pairs) == brute_overlaps(rects)


# --- first free spot ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "rects, size, spot",
    [
        ([], (12, 4), (0, 0)),
        ([Rect(1, 0, 0, 24, 3)], (6, 2), (0, 3)),
        ([Rect(1, 0, 0, 12, 8)], (12, 8), (12, 0)),
        ([Rect(1, 0, 0, 12, 8)], (13, 1), (0, 8)),
        ([Rect(1, 0, 0, 6, 2), Rect(2, 10, 0, 14, 6)], (4, 4), (6, 0)),
        ([Rect(1, 0, 0, 6, 2), Rect(2, 10, 0, 14, 6)], (5, 4), (0, 2)),
    ],
)
def test_first_free_spot_examples(rects, size, spot):
    assert first_free_spot(rects, *size) == spot


@pytest.mark.parametrize("w, h", [(0, 1), (25, 1), (1, 0)])
def test_first_free_spot_rejects_sizes_off_the_grid(w, h):
    with pytest.raises(ValueError):
        first_free_spot([], w, h)


@given(rects_on_grid(max_y=12, max_h=6, max_size=12), st.integers(1, COLUMNS), st.integers(1, 6))
def test_first_free_spot_is_the_first_that_fits(rects, w, h):
    x, y = first_free_spot(rects, w, h)
    assert x + w <= COLUMNS
    assert not any(overlap(Rect("new", x, y, w, h), rect) for rect in rects)
    assert (x, y) == brute_first_free_spot(rects, w, h)


# --- a page under edits -------------------------------------------------------------------


class PageEdits(RuleBasedStateMachine):
    """Adds and moves that keep only non-overlapping results never leave a page with overlaps."""

    def __init__(self):
        super().__init__()
        self.cards = {}

    def _try(self, rect):
        candidate = {**self.cards, rect.card_id: rect}
        try:
            raise_on_overlaps(candidate.values())
        except CardPositionConflict as conflict:
            # The page was clean, so every conflict names the card being placed.
            assert all(rect.card_id in pair.values() for pair in conflict.extra["conflicts"])
            return
        self.cards = candidate

    @rule(x=st.integers(0, COLUMNS - 1), y=st.integers(0, 30), h=st.integers(1, 8), data=st.data())
    def add_at_requested_spot(self, x, y, h, data):
        w = data.draw(st.integers(1, COLUMNS - x))
        self._try(Rect(len(self.cards) + 1000, x, y, w, h))

    @rule(w=st.integers(1, COLUMNS), h=st.integers(1, 8))
    def add_at_first_free_spot(self, w, h):
        x, y = first_free_spot(self.cards.values(), w, h)
        card = Rect(len(self.cards) + 1000, x, y, w, h)
        assert find_overlaps([*self.cards.values(), card]) == []
        self.cards[card.card_id] = card

    @rule(x=st.integers(0, COLUMNS - 1), y=st.integers(0, 30), data=st.data())
    def move(self, x, y, data):
        if not self.cards:
            return
        card = self.cards[data.draw(st.sampled_from(sorted(self.cards)))]
        w = min(card.w, COLUMNS - x)
        self._try(Rect(card.card_id, x, y, w, card.h))

    @invariant()
    def no_overlaps(self):
        rects = list(self.cards.values())
        assert find_overlaps(rects) == []
        assert brute_overlaps(rects) == set()


TestPageEdits = PageEdits.TestCase


# --- what a client reads -------------------------------------------------------------------


@pytest.mark.parametrize(
    "layout, path, message",
    [
        ({"x": 24, "y": 0, "w": 1, "h": 1}, "/x", "'x' must be at least 0 and at most 23."),
        ({"x": 0, "y": -1, "w": 1, "h": 1}, "/y", "'y' must be at least 0."),
        ({"x": 0, "y": 0, "w": 25, "h": 1}, "/w", "'w' must be at least 1 and at most 24."),
        ({"x": 0, "y": 0, "w": 1, "h": 0}, "/h", "'h' must be at least 1 and at most 1000."),
        ({"x": 0, "y": 0, "w": 1}, "/h", "'h' is required."),
        ({"x": 0, "y": "0", "w": 1, "h": 1}, "/y", "'y' must be an integer."),
        ({"x": 20, "y": 0, "w": 5, "h": 1}, "/w", "x + w must be at most 24 (the card ends at column 25)."),
    ],
)
def test_bounds_messages_say_what_fits(layout, path, message):
    with pytest.raises(InvalidLayout) as caught:
        check_bounds(layout)
    assert caught.value.detail == "The layout does not fit the 24-column grid."
    assert caught.value.errors == [{"path": path, "message": message}]


def test_a_conflict_names_its_cards_and_the_card_being_added():
    with pytest.raises(CardPositionConflict) as caught:
        raise_on_overlaps([Rect(1, 0, 0, 6, 4), Rect(2, 6, 0, 6, 4), Rect(3, 4, 2, 4, 4)])
    assert caught.value.detail == "Cards would overlap: 1 and 3, 2 and 3."
    assert caught.value.extra["conflicts"] == [{"card_id": 1, "other_card_id": 3}, {"card_id": 2, "other_card_id": 3}]
    with pytest.raises(CardPositionConflict) as caught:
        raise_on_overlaps([Rect(None, 0, 0, 6, 4), Rect(7, 0, 2, 6, 4)])
    assert caught.value.detail == "Cards would overlap: the new card and 7."


def test_an_empty_rect_takes_no_room():
    empty = [Rect(1, 0, 2, 24, 0), Rect(2, 3, 0, 0, 5)]
    assert find_overlaps([*empty, Rect(3, 0, 0, 24, 4)]) == []
    assert first_free_spot(empty, 24, 4) == (0, 0)


def test_cards_one_column_wide_or_one_row_high_take_room():
    thin = [Rect(1, 5, 0, 1, 3), Rect(2, 0, 3, 24, 1)]
    assert find_overlaps(thin) == []
    assert as_set(find_overlaps([*thin, Rect(3, 4, 2, 2, 2)])) == {frozenset((1, 3)), frozenset((2, 3))}
    assert first_free_spot(thin, 5, 3) == (0, 0)
    assert first_free_spot(thin, 6, 3) == (6, 0)
    assert first_free_spot(thin, 24, 1) == (0, 4)


COVER = Rect("cover", 4, 4, 8, 8)


@pytest.mark.parametrize(
    "other",
    [
        Rect("left", 0, 4, 4, 8),
        Rect("right", 12, 4, 4, 8),
        Rect("above", 4, 0, 8, 4),
        Rect("below", 4, 12, 8, 4),
    ],
)
def test_rects_that_only_touch_do_not_overlap_in_either_order(other):
    assert not overlaps(COVER, other) and not overlaps(other, COVER)


@pytest.mark.parametrize("empty", [Rect("no width", 6, 6, 0, 2), Rect("no height", 6, 6, 2, 0)])
def test_an_empty_rect_overlaps_nothing_in_either_order(empty):
    assert not overlaps(COVER, empty) and not overlaps(empty, COVER)


@pytest.mark.parametrize(
    "thin", [Rect("one column", 6, 6, 1, 3), Rect("one row", 6, 6, 3, 1), Rect("one cell", 11, 11, 1, 1)]
)
def test_a_one_cell_wide_or_high_rect_overlaps_what_covers_it_in_either_order(thin):
    assert overlaps(COVER, thin) and overlaps(thin, COVER)


def test_raise_on_overlaps_counts_every_pair_beyond_those_it_lists():
    stacked = [Rect(i, 0, 0, 24, 4) for i in range(12)]  # every pair of 12: 66
    with pytest.raises(CardPositionConflict) as caught:
        raise_on_overlaps(stacked)
    assert caught.value.extra["conflict_count"] == 66
    assert len(caught.value.extra["conflicts"]) == 50


@pytest.mark.parametrize("w,h", [(0, 1), (25, 1), (1, 0)])
def test_first_free_spot_refuses_a_card_the_grid_cannot_hold(w, h):
    with pytest.raises(ValueError, match=rf"^a card of size {w}x{h} cannot be placed on the grid$"):
        first_free_spot([], w, h)
