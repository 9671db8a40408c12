"""Domain rules under hostile input: bounded render caches, long cells, bad files, stacked cards,
configs the render would trip on, and tokens that expire."""

import json
import os
import subprocess
import sys

import pytest

from handlers.render import rendered
from models import dataset_tables, render
from models.content import Dashboard
from models.datasets import Dataset
from tests.conftest import problem

COLUMNS = [{"name": "name", "type": "string"}, {"name": "amount", "type": "number"}]


@pytest.fixture
def editor(world):
    return world.user(role="editor")[1]


def create_dataset(client, rows=(), columns=COLUMNS, name="Things"):
    response = client.post("/datasets", json={"name": name, "columns": columns, "rows": list(rows)})
    assert response.status_code == 201, response.text
    return response.json()


def public_table_dashboard(client, dataset_id, **config):
    """A public dashboard with a `who` parameter and one table card that filters by it."""
    dashboard = client.post(
        "/dashboards",
        json={"name": "Open", "default_audience": "public", "parameters": [{"name": "who", "type": "string"}]},
    ).json()
    card = client.post(
        f"/dashboards/{dashboard['id']}/cards",
        json={
            "card_type": "table",
            "config": {
                "dataset_id": dataset_id,
                "limit": 10000,
                "filters": [{"column": "name", "op": "ne", "value": {"param": "who"}}],
                **config,
            },
        },
    )
    assert card.status_code == 201, card.text
    return dashboard


# --- render caches: bounded in bytes ---------------------------------------------------------


def test_the_render_cache_never_holds_more_than_its_bound(editor):
    dataset = create_dataset(editor, [[f"n{i}", i * 1.5] for i in range(200)])
    dashboard = Dashboard.get_by_id(public_table_dashboard(editor, dataset["id"])["id"])
    renderer = render.Renderer(workers=2, cache_bytes=120_000)
    answers = set()
    for i in range(60):  # each new parameter value is a new answer and a new query result
        payload, _ = rendered(renderer, dashboard, 1, {"who": [f"x{i}"]})
        answers.add(payload)
        assert 0 < renderer.cache.bytes <= 120_000
    assert len(answers) == 60
    kept = len(renderer.cache)
    assert 0 < kept < 3 * 60  # old entries were evicted, the newest are kept
    # The accounting covers at least the payloads themselves: nothing is held off the books.
    payload, _ = rendered(renderer, dashboard, 1, {"who": ["x59"]})
    assert renderer.cache.bytes >= len(payload) * 2  # the answer and its query result


def test_an_answer_over_an_eighth_of_the_bound_is_not_kept(editor):
    dataset = create_dataset(editor, [[f"n{i}", i * 1.5] for i in range(2000)])
    dashboard = Dashboard.get_by_id(public_table_dashboard(editor, dataset["id"])["id"])
    renderer = render.Renderer(workers=2, cache_bytes=200_000)
    payload, etag = rendered(renderer, dashboard, 1, {"who": ["nobody"]})
    assert len(payload) > 200_000 // 8
    assert len(renderer.cache) == 1  # only the small count of the table's rows
    assert "page:" + etag not in renderer.cache
    assert json.loads(rendered(renderer, dashboard, 1, {"who": ["nobody"]})[0])["cards"][0]["data"]["total"] == 2000


def test_anonymous_renders_with_new_parameters_stay_within_the_configured_bound(editor, world):
    dataset = create_dataset(editor, [[f"n{i}", float(i)] for i in range(300)])
    slug = public_table_dashboard(editor, dataset["id"])["public_slug"]
    anonymous = world.anonymous()
    cache = render.renderer().cache
    for i in range(20):
        response = anonymous.get(f"/public/dashboards/{slug}/render", params={"param[who]": f"v{i}"})
        assert response.status_code == 200 and len(response.json()["cards"][0]["data"]["rows"]) == 300
        assert cache.bytes <= cache.max_bytes


def test_a_non_finite_sum_is_a_card_error_and_the_page_still_renders(editor):
    dataset = create_dataset(editor, [["a", 1e308], ["b", 1e308]])
    dashboard = editor.post("/dashboards", json={"name": "Huge"}).json()
    kpi = editor.post(
        f"/dashboards/{dashboard['id']}/cards",
        json={
            "card_type": "kpi",
            "config": {"dataset_id": dataset["id"], "metric": {"agg": "sum", "column": "amount"}},
        },
    ).json()
    note = editor.post(
        f"/dashboards/{dashboard['id']}/cards", json={"card_type": "text", "config": {"markdown": "still here"}}
    ).json()
    response = editor.get(f"/dashboards/{dashboard['id']}/render")
    assert response.status_code == 200, response.text
    cards = {card["card_id"]: card for card in response.json()["cards"]}
    assert cards[kpi["id"]]["data"] is None
    # SQLite adds up to infinity; PostgreSQL refuses the overflow itself.
    assert cards[kpi["id"]]["error"]["code"] in ("non_finite_number", "query_failed")
    assert cards[note["id"]] == {**cards[note["id"]], "data": {"markdown": "still here"}, "error": None}


# --- long cells ------------------------------------------------------------------------------


@pytest.fixture
def cell_limit():
    dataset_tables.configure(max_cell_chars=1000)
    yield 1000
    dataset_tables.configure(max_cell_chars=131_072)


def test_a_csv_cell_over_the_limit_names_its_row_and_column(editor, cell_limit):
    dataset = create_dataset(editor)
    body = f"amount,name\n1,ok\n2,{'x' * (cell_limit + 1)}\n".encode()
    response = editor.post(f"/datasets/{dataset['id']}/rows", content=body, headers={"Content-Type": "text/csv"})
    errors = problem(response, 422, "invalid_rows")["errors"]
    assert [error["path"] for error in errors] == ["/rows/1/name"]
    assert "1,000" in errors[0]["message"]
    assert editor.get(f"/datasets/{dataset['id']}").json()["row_count"] == 0


@pytest.mark.parametrize("row", [["x" * 1001, 1], {"name": "x" * 1001}, ["ok", "1" * 1001]])
def test_a_string_in_json_rows_has_the_same_limit(editor, cell_limit, row):
    dataset = create_dataset(editor)
    response = editor.post(f"/datasets/{dataset['id']}/rows", json={"rows": [["fine", 1], row]})
    # The pointer into the body: an array row's cell by position, an object row's by name.
    cell = "name" if isinstance(row, dict) else 1 if row[0] == "ok" else 0
    assert [e["path"] for e in problem(response, 422, "invalid_rows")["errors"]] == [f"/rows/1/{cell}"]
    assert editor.get(f"/datasets/{dataset['id']}").json()["row_count"] == 0
    response = editor.post(f"/datasets/{dataset['id']}/rows", json={"rows": [["x" * cell_limit, 1]]})
    assert response.status_code == 200, response.text


def test_a_malformed_csv_body_is_invalid_rows_at_its_row(editor):
    dataset = create_dataset(editor)
    response = editor.post(
        f"/datasets/{dataset['id']}/rows", content=b'name,amount\nok,1\n"open,2\n', headers={"Content-Type": "text/csv"}
    )
    errors = problem(response, 422, "invalid_rows")["errors"]
    assert errors[0]["path"] == "/rows/1" and "line" in errors[0]["message"]
    assert editor.get(f"/datasets/{dataset['id']}").json()["row_count"] == 0


# --- the command line: a bad file is one line on stderr --------------------------------------


@pytest.fixture
def cli(database_url, clean_store, world):
    world.org("acme")

    def run(*args):
        env = {**os.environ, "DATABASE_URL": database_url}
        return subprocess.run(
            [sys.executable, "-m", "cli", *args], capture_output=True, text=True, env=env, timeout=120
        )

    return run


def _bad_files(tmp_path):
    long_cell = tmp_path / "long.csv"
    long_cell.write_text("name,amount\nok,1\n" + "y" * 140_000 + ",2\n")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("name,amount\nJosé,1\n".encode("latin-1"))
    malformed = tmp_path / "malformed.csv"
    malformed.write_text('name,amount\nok,1\n"never closed,2\n')
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\xff\xd8")
    return {
        "long cell": (long_cell, "/rows/1/name"),
        "latin-1": (latin, "UTF-8"),
        "malformed": (malformed, "/rows/1"),
        "empty": (empty, "empty"),
        "directory": (tmp_path, "directory"),
        "missing": (tmp_path / "nowhere.csv", "No such file"),
        "binary": (binary, "UTF-8"),
    }


@pytest.mark.parametrize("case", ["long cell", "latin-1", "malformed", "empty", "directory", "missing", "binary"])
@pytest.mark.parametrize("columns", [None, "name:string,amount:number"])
def test_import_csv_reports_a_bad_file_in_one_line(cli, tmp_path, case, columns, world):
    path, expected = _bad_files(tmp_path)[case]
    args = ["import-csv", "--org", "acme", "--project", "default", "--name", "Bad", str(path)]
    done = cli(*args, *(["--columns", columns] if columns else []))
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("dashboards-api: "), done.stderr
    assert expected in lines[0] and "Traceback" not in done.stderr
    assert Dataset.select().count() == 0


# --- stacked cards: conflicts capped, counted ------------------------------------------------


def _board_with_cards(client, count):
    """A dashboard with `count` text cards one row high, stacked down page 1 (written directly)."""
    from models.content import Card, Page

    dashboard = client.post("/dashboards", json={"name": "Stack"}).json()
    page = Page.get((Page.dashboard == dashboard["id"]) & (Page.position == 1))
    Card.insert_many(
        [
            {
                "dashboard": dashboard["id"],
                "page": page.id,
                "card_type": "text",
                "config": {"markdown": str(i)},
                "x": 0,
                "y": i,
                "w": 24,
                "h": 1,
            }
            for i in range(count)
        ]
    ).execute()
    Dashboard.get_by_id(dashboard["id"]).bump_version()
    ids = [card.id for card in Card.select(Card.id).where(Card.dashboard == dashboard["id"]).order_by(Card.y)]
    return f"/dashboards/{dashboard['id']}", ids


def test_500_stacked_moves_list_50_pairs_and_count_them_all(editor):
    url, ids = _board_with_cards(editor, 500)
    before = editor.get(url).content
    moves = [{"card_id": card_id, "x": 0, "y": 0, "w": 24, "h": 1} for card_id in ids]
    response = editor.patch(f"{url}/layout", json=moves)
    body = problem(response, 409, "card_position_conflict")
    assert body["conflict_count"] == 500 * 499 // 2
    assert body["detail"].endswith(f", and {500 * 499 // 2 - 50} more pair(s).")
    assert len(body["conflicts"]) == 50
    assert len({(c["card_id"], c["other_card_id"]) for c in body["conflicts"]}) == 50
    assert all(c["card_id"] in ids and c["other_card_id"] in ids for c in body["conflicts"])
    assert len(response.content) < 10_000
    assert editor.get(url).content == before


def test_a_card_added_onto_many_lists_them_capped(editor):
    url, ids = _board_with_cards(editor, 80)
    response = editor.post(
        f"{url}/cards",
        json={"card_type": "text", "config": {"markdown": "big"}, "layout": {"x": 0, "y": 0, "w": 24, "h": 100}},
    )
    body = problem(response, 409, "card_position_conflict")
    assert body["conflict_count"] == 80
    assert body["conflicts"] == [{"card_id": None, "other_card_id": card_id} for card_id in ids[:50]]
    assert len(editor.get(url).json()["cards"]) == 80


def test_a_single_conflict_is_counted_too(editor):
    url, ids = _board_with_cards(editor, 2)
    body = problem(
        editor.patch(f"{url}/layout", json=[{"card_id": ids[1], "x": 0, "y": 0, "w": 24, "h": 1}]),
        409,
        "card_position_conflict",
    )
    assert body["conflicts"] == [{"card_id": ids[0], "other_card_id": ids[1]}] and body["conflict_count"] == 1


# --- save-time checks the render would otherwise discover ------------------------------------


@pytest.fixture
def board(editor):
    dataset = create_dataset(
        editor,
        [["a", 1.0, "2026-01-02"]],
        columns=[
            {"name": "name", "type": "string"},
            {"name": "amount", "type": "number"},
            {"name": "day", "type": "date"},
        ],
    )
    dashboard = editor.post("/dashboards", json={"name": "Checks"}).json()
    return editor, dataset["id"], f"/dashboards/{dashboard['id']}"


def _cards_after(client, url):
    return len(client.get(url).json()["cards"])


@pytest.mark.parametrize(
    "card_type,config,bad_paths",
    [
        (
            "chart",
            {
                "chart_type": "bar",
                "x": {"column": "name"},
                "metrics": [{"agg": "sum", "column": "amount"}],
                "sort": [{"by": "name", "direction": "asc"}, {"by": "amount", "direction": "desc"}],
            },
            ["/config/sort/1/by"],
        ),
        (
            "chart",
            {
                "chart_type": "line",
                "x": {"column": "day", "bucket": "month"},
                "series_by": "name",
                "metrics": [{"agg": "count"}, {"agg": "avg", "column": "amount", "label": "mean"}],
                "sort": [
                    {"by": "mean", "direction": "desc"},
                    {"by": "count", "direction": "asc"},
                    {"by": "day", "direction": "asc"},
                    {"by": "name", "direction": "asc"},
                    {"by": "avg_amount", "direction": "asc"},
                ],
            },
            ["/config/sort/4/by"],
        ),
        (
            "table",
            {
                "group_by": [{"column": "name"}],
                "metrics": [{"agg": "max", "column": "day"}],
                "sort": [{"by": "max_day", "direction": "desc"}, {"by": "amount", "direction": "asc"}],
            },
            ["/config/sort/1/by"],
        ),
        (
            "table",
            {"columns": ["name"], "sort": [{"by": "amount", "direction": "asc"}, {"by": "nope", "direction": "asc"}]},
            ["/config/sort/1/by"],
        ),
    ],
)
def test_sort_by_must_name_an_output_of_the_card(board, card_type, config, bad_paths):
    client, dataset_id, url = board
    response = client.post(
        f"{url}/cards", json={"card_type": card_type, "config": {"dataset_id": dataset_id, **config}}
    )
    errors = problem(response, 422, "invalid_card_config")["errors"]
    assert [error["path"] for error in errors] == bad_paths
    assert _cards_after(client, url) == 0
    fixed = {
        **config,
        "sort": [item for i, item in enumerate(config["sort"]) if f"/config/sort/{i}/by" not in bad_paths],
    }
    response = client.post(f"{url}/cards", json={"card_type": card_type, "config": {"dataset_id": dataset_id, **fixed}})
    assert response.status_code == 201, response.text
    rendered = client.get(f"{url}/render").json()["cards"]
    assert rendered[0]["error"] is None


def test_a_sort_change_by_patch_is_checked_too(board):
    client, dataset_id, url = board
    config = {"dataset_id": dataset_id, "columns": ["name"]}
    card = client.post(f"{url}/cards", json={"card_type": "table", "config": config}).json()
    grouped = {
        "dataset_id": dataset_id,
        "group_by": [{"column": "name"}],
        "sort": [{"by": "amount", "direction": "asc"}],
    }
    response = client.patch(f"{url}/cards/{card['id']}", json={"config": grouped})
    assert [e["path"] for e in problem(response, 422, "invalid_card_config")["errors"]] == ["/config/sort/0/by"]
    assert client.get(f"{url}/cards/{card['id']}").json()["config"] == config


@pytest.mark.parametrize(
    "url_value",
    [
        "http://:80/logo.png",
        "http://user@/logo.png",
        "https://example.com:99999/a.png",
        "http:///a.png",
        "https://example.com/a b.png",
        "https://example.com/a\tb",
        'https://example.com/"onerror="x',
        "https://example.com/'x'",
        "https://example.com/<script>",
        "https://example.com/a>b",
        "https://example.com/`x`",
        "https://example.com/\u0085",
        "javascript:alert(1)",
        "//example.com/a.png",
        "ftp://example.com/a.png",
        "data:image/png;base64,AAAA",
        "https://exa mple.com/",
    ],
)
def test_image_urls_are_absolute_http_with_a_host_and_no_markup(board, url_value):
    client, _, url = board
    response = client.post(f"{url}/cards", json={"card_type": "image", "config": {"url": url_value}})
    errors = problem(response, 422, "invalid_card_config")["errors"]
    assert [error["path"] for error in errors] == ["/config/url"]
    assert _cards_after(client, url) == 0


@pytest.mark.parametrize(
    "url_value",
    [
        "https://example.com/logo.png",
        "http://example.com",
        "https://[::1]:8080/i.png?size=2&x=%20#top",
        "https://cdn.example.com/a(1).png",
    ],
)
def test_good_image_urls_are_kept(board, url_value):
    client, _, url = board
    response = client.post(f"{url}/cards", json={"card_type": "image", "config": {"url": url_value}})
    assert response.status_code == 201, response.text
    assert client.get(f"{url}/render").json()["cards"][0]["data"]["url"] == url_value


# --- tokens can expire -----------------------------------------------------------------------


def test_a_token_with_a_lifetime_shows_when_it_expires_and_is_refused_after(world):
    from models.identity import ApiToken
    from tests.conftest import ApiClient

    _, client = world.user()
    created = client.post("/tokens", json={"expires_in": 3600})
    assert created.status_code == 201, created.text
    token = created.json()
    listed = {item["id"]: item for item in client.get("/tokens").json()["items"]}
    assert listed[token["id"]]["expires_at"] == token["expires_at"] is not None
    assert [item["expires_at"] for item in listed.values() if item["current"]] == [None]
    limited = ApiClient(client.client, token["token"])
    assert limited.get("/me").status_code == 200
    row = ApiToken.get_by_id(token["id"])
    assert 3590 <= (row.expires_at - row.created_at).total_seconds() <= 3600
    # Its time has come: moved into the past in the store rather than waited for.
    ApiToken.update(expires_at=row.created_at).where(ApiToken.id == row.id).execute()
    response = limited.get("/me")
    problem(response, 401, "unauthenticated")
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert client.get("/me").status_code == 200  # the caller's other token is unaffected


def test_a_token_without_a_body_never_expires(world):
    _, client = world.user()
    assert client.post("/tokens").json()["expires_at"] is None
    assert client.post("/tokens", json={}).json()["expires_at"] is None


@pytest.mark.parametrize(
    "body",
    [{"expires_in": 59}, {"expires_in": 31_536_001}, {"expires_in": "3600"}, {"expires_in": 1.5}, {"lifetime": 60}],
)
def test_a_bad_lifetime_is_400_and_issues_nothing(world, body):
    from models.identity import ApiToken

    _, client = world.user()
    before = ApiToken.select().count()
    problem(client.post("/tokens", json=body), 400, "invalid_request")
    assert ApiToken.select().count() == before


def test_create_token_takes_a_lifetime_on_the_command_line(cli, world, http):
    from models.identity import ApiToken, User
    from tests.conftest import ApiClient

    user = User.create(org=world.org(), email="cli@example.com", role="viewer")
    done = cli("create-token", "--email", "cli@example.com", "--project", "default", "--expires-in", "120")
    assert done.returncode == 0, done.stderr
    token = json.loads(done.stdout)["token"]
    row = ApiToken.get(ApiToken.user == user.id)
    assert (row.expires_at - row.created_at).total_seconds() == 120
    assert ApiClient(http, token).get("/me").status_code == 200
    for bad in ("59", "abc", "31536001"):
        refused = cli("create-token", "--email", "cli@example.com", "--project", "default", "--expires-in", bad)
        assert refused.returncode == 2 and "--expires-in" in refused.stderr and "Traceback" not in refused.stderr
    assert ApiToken.select().where(ApiToken.user == user.id).count() == 1


def test_migration_2_adds_the_expiry_to_a_store_from_before_it(cli, database_url, tmp_path):
    """A store whose api_token lacks expires_at (as migration 1 made it before) gains it from `init`."""

    from models import db
    from tests.conftest import BACKEND, POSTGRES_URL, _postgres_schema_url

    if BACKEND == "sqlite":
        url, cleanup = f"sqlite:///{tmp_path / 'old.db'}", None
    else:
        name, url = _postgres_schema_url()
        cleanup = name

    def run(*args):
        env = {**os.environ, "DATABASE_URL": url}
        return subprocess.run(
            [sys.executable, "-m", "cli", *args], capture_output=True, text=True, env=env, timeout=120
        )

    try:
        assert json.loads(run("init").stdout)["applied"] == [1, 2]
        assert (
            run(
                "create-user", "--org", "old", "--project", "default", "--email", "old@example.com", "--role", "viewer"
            ).returncode
            == 0
        )
        old = db.open_database(url)
        old.execute_sql("ALTER TABLE api_token DROP COLUMN expires_at")
        old.execute_sql("DELETE FROM schema_version WHERE version = 2")
        assert "expires_at" not in {c.name for c in old.get_columns("api_token")}
        old.close()

        upgraded = run("init")
        assert json.loads(upgraded.stdout) == {"schema_version": 2, "applied": [2]}, upgraded.stderr
        assert json.loads(run("init").stdout)["applied"] == []
        store = db.open_database(url)
        assert "expires_at" in {c.name for c in store.get_columns("api_token")}
        assert store.execute_sql("SELECT expires_at FROM api_token").fetchall() == [(None,)]
        store.close()
        again = run("create-token", "--email", "old@example.com", "--project", "default", "--expires-in", "60")
        assert again.returncode == 0, again.stderr
    finally:
        if cleanup:
            admin = db.open_database(POSTGRES_URL)
            admin.execute_sql(f'DROP SCHEMA IF EXISTS "{cleanup}" CASCADE')
            admin.close()
