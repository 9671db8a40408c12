"""Layout batches: all or nothing, bounds and names (422), overlaps (409), and concurrent writers."""

import threading
import time

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from config import Settings
from models.content import Dashboard
from models.db import database, is_sqlite
from models.grid import Rect, find_overlaps
from models.identity import Project
from tests.conftest import problem


@pytest.fixture
def board(world):
    """A dashboard with two pages: cards a, b side by side on page 1, c on page 2."""
    _, client = world.user(role="editor")
    url = f"/dashboards/{client.post('/dashboards', json={'name': 'D'}).json()['id']}"
    client.post(f"{url}/pages", json={"name": "Two"})
    ids = [
        client.post(
            f"{url}/cards",
            json={
                "card_type": "text",
                "config": {"markdown": name},
                "page": page,
                "layout": {"x": x, "y": 0, "w": 12, "h": 4},
            },
        ).json()["id"]
        for name, page, x in (("a", 1, 0), ("b", 1, 12), ("c", 2, 0))
    ]
    return client, url, ids


def move(card_id, x, y, w=12, h=4):
    return {"card_id": card_id, "x": x, "y": y, "w": w, "h": h}


def layout_of(client, url):
    return {c["id"]: (c["page"], c["layout"]) for c in client.get(url).json()["cards"]}


def test_batch_applies_whole_and_answers_the_whole_layout(board):
    client, url, (a, b, c) = board
    response = client.patch(f"{url}/layout", json=[move(a, 12, 0), move(b, 0, 0)])
    assert response.status_code == 200 and response.headers["etag"] == '"6"'
    body = response.json()
    assert body["version"] == 6
    assert body["cards"] == [
        {"card_id": a, "page": 1, "x": 12, "y": 0, "w": 12, "h": 4},
        {"card_id": b, "page": 1, "x": 0, "y": 0, "w": 12, "h": 4},
        {"card_id": c, "page": 2, "x": 0, "y": 0, "w": 12, "h": 4},
    ]
    assert layout_of(client, url)[a] == (1, {"x": 12, "y": 0, "w": 12, "h": 4})


def test_overlap_with_an_unmoved_card_is_409_naming_pairs_and_changes_nothing(board):
    client, url, (a, b, c) = board
    before = client.get(url).content
    body = problem(
        client.patch(f"{url}/layout", json=[move(a, 6, 0), move(c, 0, 0, 24, 1)]), 409, "card_position_conflict"
    )
    assert body["conflicts"] == [{"card_id": a, "other_card_id": b}]
    assert client.get(url).content == before


def test_bounds_and_names_are_422_with_every_path(board, world):
    client, url, (a, b, c) = board
    other = client.post("/dashboards", json={"name": "E"}).json()["id"]
    foreign = client.post(f"/dashboards/{other}/cards", json={"card_type": "text", "config": {"markdown": "x"}}).json()[
        "id"
    ]
    before = client.get(url).content
    body = problem(
        client.patch(f"{url}/layout", json=[move(a, 0, 8), move(b, 20, 0, w=6), move(foreign, 0, 20), move(a, 0, 30)]),
        422,
        "invalid_layout",
    )
    assert [e["path"] for e in body["errors"]] == ["/1/w", "/2/card_id", "/3/card_id"]
    problem(client.patch(f"{url}/layout", json=[]), 400, "invalid_request")
    problem(client.patch(f"{url}/layout", json=[move(a, 0, 0, w=0)]), 400, "invalid_request")
    assert client.get(url).content == before


def test_a_refused_batch_says_why_for_each_move(board):
    client, url, (a, b, c) = board
    body = problem(
        client.patch(f"{url}/layout", json=[move(a, 0, 8), move(2_000_000_000, 0, 20), move(a, 0, 30)]),
        422,
        "invalid_layout",
    )
    assert body["detail"] == "The layout batch cannot be applied."
    assert body["errors"] == [
        {"path": "/1/card_id", "message": "card 2000000000 is not on this dashboard"},
        {"path": "/2/card_id", "message": f"card {a} is already moved by /0"},
    ]


def test_only_the_cards_that_move_are_changed(board):
    client, url, (a, b, c) = board
    before = {card["id"]: card for card in client.get(url).json()["cards"]}
    assert client.patch(f"{url}/layout", json=[move(a, 0, 4), move(b, 12, 0)]).status_code == 200
    after = {card["id"]: card for card in client.get(url).json()["cards"]}
    assert after[a]["layout"] == {"x": 0, "y": 4, "w": 12, "h": 4}
    assert after[a]["updated_at"] > before[a]["updated_at"]
    assert (after[b], after[c]) == (before[b], before[c])


def test_stale_if_match_is_412(board):
    client, url, (a, b, c) = board
    body = problem(
        client.patch(f"{url}/layout", json=[move(a, 0, 9)], headers={"If-Match": '"4"'}), 412, "precondition_failed"
    )
    assert body["current_version"] == 5
    assert client.patch(f"{url}/layout", json=[move(a, 0, 9)], headers={"If-Match": '"5"'}).status_code == 200


# --- Hypothesis: random batches never leave overlaps, and a refused batch changes nothing -----

SMALL = st.fixed_dictionaries(
    {"x": st.integers(0, 23), "y": st.integers(0, 12), "w": st.integers(1, 24), "h": st.integers(1, 6)}
)


def test_random_batches_keep_the_layout_valid(world):
    _, client = world.user(role="editor")

    class Batches(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.url = f"/dashboards/{client.post('/dashboards', json={'name': 'H'}).json()['id']}"
            client.post(f"{self.url}/pages", json={"name": "Two"})
            self.ids = [
                client.post(
                    f"{self.url}/cards", json={"card_type": "text", "config": {"markdown": str(i)}, "page": 1 + i % 2}
                ).json()["id"]
                for i in range(6)
            ]

        @rule(data=st.data(), size=st.integers(1, 4), foreign=st.booleans())
        def send_batch(self, data, size, foreign):
            ids = data.draw(st.lists(st.sampled_from(self.ids), min_size=size, max_size=size))
            if foreign:
                ids[-1] = 2_000_000_000
            batch = [{"card_id": card_id, **data.draw(SMALL)} for card_id in ids]
            before = client.get(self.url)
            response = client.patch(f"{self.url}/layout", json=batch)
            assert response.status_code in (200, 409, 422), response.text
            if response.status_code == 200:
                assert len(set(ids)) == len(ids) and all(m["x"] + m["w"] <= 24 for m in batch) and not foreign
                placed = {c["card_id"]: c for c in response.json()["cards"]}
                assert all(placed[m["card_id"]] == {**m, "page": placed[m["card_id"]]["page"]} for m in batch)
            else:
                assert client.get(self.url).content == before.content

        @invariant()
        def no_overlaps(self):
            cards = client.get(self.url).json()["cards"]
            for page in (1, 2):
                rects = [Rect(c["id"], **c["layout"]) for c in cards if c["page"] == page]
                assert find_overlaps(rects) == []

    run_state_machine_as_test(Batches, settings=settings(max_examples=12, stateful_step_count=8, deadline=None))


# --- Concurrent writers ---------------------------------------------------------------------

BLOCKED_BY_ME = """
WITH RECURSIVE blocked(pid) AS (
    SELECT pid FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))
    UNION
    SELECT a.pid FROM pg_stat_activity a JOIN blocked b ON b.pid = ANY(pg_blocking_pids(a.pid))
) SELECT count(*) FROM blocked"""


def blocked_by_me():
    """Backends waiting, directly or behind another waiter, on a lock this connection holds.

    Row-lock waiters queue behind the first one, so only it names this connection as its blocker.
    PostgreSQL keeps one snapshot of pg_stat_activity per transaction, so each look clears it.
    """
    database.execute_sql("SELECT pg_stat_clear_snapshot()")
    return database.execute_sql(BLOCKED_BY_ME).fetchone()[0]


def race(world, board, if_match, writers=4):
    """Several editors, each with a client of their own, send a whole conflicting batch at once.

    On PostgreSQL the test holds the dashboard's row lock until as many requests as the write lane
    runs at once (REQUEST_THREADS) are waiting on it, so they really overlap inside the server and
    the rest queue behind them; SQLite's single writer queues them anyway.
    Answers the statuses, the final places of the two cards, and each batch as a layout.
    """
    client, url, (a, b, _) = board
    client.patch(url, json={"default_audience": "org"})
    dashboard = Dashboard.get_by_id(int(url.rsplit("/", 1)[1]))
    org = Project.get_by_id(dashboard.project_id).org
    clients = [world.user(org=org, role="editor")[1] for _ in range(writers)]
    batches = [[move(a, 0, 10 * i), move(b, 12, 10 * i)] for i in range(1, writers + 1)]
    headers = {"If-Match": f'"{Dashboard.get_by_id(dashboard.id).version}"'} if if_match else {}
    results = [None] * writers

    def send(index):
        results[index] = clients[index].patch(f"{url}/layout", json=batches[index], headers=headers)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(writers)]
    with database.atomic():
        if not is_sqlite():
            Dashboard.select().where(Dashboard.id == dashboard.id).for_update().get()
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while not is_sqlite() and blocked_by_me() < min(writers, Settings().request_threads):
            assert time.monotonic() < deadline, "the requests never overlapped"
            time.sleep(0.01)
    for thread in threads:
        thread.join(30)
    final = layout_of(client, url)
    geometry = lambda m: {k: m[k] for k in ("x", "y", "w", "h")}
    outcomes = [{a: geometry(batch[0]), b: geometry(batch[1])} for batch in batches]
    return [r.status_code for r in results], {a: final[a][1], b: final[b][1]}, outcomes


def test_concurrent_batches_with_if_match_one_wins(world, board):
    statuses, placed, outcomes = race(world, board, if_match=True)
    assert sorted(statuses) == [200, 412, 412, 412]
    assert placed == outcomes[statuses.index(200)]


def test_concurrent_batches_without_if_match_never_mix(world, board):
    statuses, placed, outcomes = race(world, board, if_match=False)
    assert statuses == [200] * 4
    assert placed in outcomes
