"""The command line prints exactly what scripts rely on, and its tokens work against the API."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ApiClient, problem


@pytest.fixture
def cli(database_url, clean_store):
    def run(*args, expect=0):
        env = {**os.environ, "DATABASE_URL": database_url}
        done = subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == expect, done.stderr
        return done

    return run


def identity(done):
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def test_init_is_repeatable(cli):
    assert json.loads(cli("init").stdout) == {"schema_version": 2, "applied": []}


def test_create_user_token_and_grant(cli, http):
    created = identity(
        cli("create-user", "--org", "acme", "--project", "web", "--email", "ana@acme.io", "--role", "viewer")
    )
    assert set(created) == {"user_id", "org", "project", "token"}
    assert (created["org"], created["project"]) == ("acme", "web")
    me = ApiClient(http, created["token"]).get("/me").json()
    assert (me["user"]["id"], me["project"]["name"], me["role"], me["permissions"]) == (
        created["user_id"],
        "web",
        "viewer",
        [],
    )

    again = identity(cli("create-token", "--email", "ana@acme.io", "--project", "default"))
    assert again["token"] != created["token"] and again["project"] == "default"

    cli("grant", "--email", "ana@acme.io", "--org", "acme", "--project", "web", "--permission", "dashboard.edit")
    assert ApiClient(http, created["token"]).get("/me").json()["permissions"] == ["dashboard.edit"]
    assert ApiClient(http, created["token"]).post("/dashboards", json={"name": "x"}).status_code == 201

    assert (
        "exists"
        in cli(
            "create-user", "--org", "acme", "--project", "web", "--email", "ana@acme.io", "--role", "admin", expect=2
        ).stderr
    )
    problem(ApiClient(http, created["token"] + "x").get("/me"), 401, "unauthenticated")


def test_demo_is_repeatable_and_its_token_works(cli, http):
    first, second = identity(cli("demo")), identity(cli("demo"))
    assert first["user_id"] == second["user_id"] and first["token"] != second["token"]
    client = ApiClient(http, second["token"])
    dashboards = client.get("/dashboards").json()["items"]
    assert len(dashboards) >= 3
    rendered = set()
    for dashboard in dashboards:
        for page in client.get(f"/dashboards/{dashboard['id']}").json()["pages"]:
            body = client.get(f"/dashboards/{dashboard['id']}/render", params={"page": page["page_number"]}).json()
            assert [c for c in body["cards"] if c["error"]] == []
            rendered |= {c["card_type"] for c in body["cards"]}
    assert rendered == {"text", "image", "kpi", "chart", "table", "detail", "filter"}


def test_import_csv_infers_types_streams_and_reports(cli, http, tmp_path):
    created = identity(
        cli("create-user", "--org", "acme", "--project", "default", "--email", "io@acme.io", "--role", "viewer")
    )
    path = tmp_path / "orders.csv"
    lines = ["day,region,amount,units"] + [f"2026-01-{i % 28 + 1:02d},R{i % 3},{i * 1.5},{i}" for i in range(25_000)]
    path.write_text("\n".join(lines) + "\n")
    done = cli("import-csv", "--org", "acme", "--project", "default", "--name", "Orders", str(path))
    line = json.loads(done.stdout)
    assert line["row_count"] == 25_000 and line["version"] == 2
    assert [(c["name"], c["type"]) for c in line["columns"]] == [
        ("day", "date"),
        ("region", "string"),
        ("amount", "number"),
        ("units", "integer"),
    ]
    assert "imported 20,000 rows" in done.stderr and "imported 25,000 rows" in done.stderr
    preview = ApiClient(http, created["token"]).get(f"/datasets/{line['dataset_id']}/rows", params={"limit": 1}).json()
    assert preview["items"] == [{"day": "2026-01-01", "region": "R0", "amount": 0.0, "units": 0}]

    typed = cli(
        "import-csv",
        "--org",
        "acme",
        "--project",
        "default",
        "--name",
        "Typed",
        "--columns",
        "day:string,region:string,amount:number,units:number",
        str(path),
    )
    assert [c["type"] for c in json.loads(typed.stdout)["columns"]] == ["string", "string", "number", "number"]
    path.write_text("day,region,amount,units\n2026-01-01,R0,lots,1\n")
    refused = cli(
        "import-csv",
        "--org",
        "acme",
        "--project",
        "default",
        "--name",
        "Bad",
        "--columns",
        "day:date,region:string,amount:number,units:integer",
        str(path),
        expect=1,
    ).stderr
    assert "invalid_rows" in refused and "/rows/0/amount" in refused and "Traceback" not in refused
    assert ApiClient(http, created["token"]).get("/datasets").json()["total"] == 2
