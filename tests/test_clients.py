"""Clients generated from openapi.yaml, used the way a frontend team would use them.

A Python client from openapi-python-client drives a live server over HTTP; TypeScript types from
openapi-typescript type-check a committed usage file with `tsc`. Neither output is committed.
Both are independent of the test database, so they run in the SQLite pass only.
"""

import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import BACKEND

ROOT = pathlib.Path(__file__).resolve().parent.parent
NODE_BIN = ROOT / "node_modules" / ".bin"

pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="backend-independent; runs in the SQLite pass")


def _run(*command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, **kwargs)
    assert result.returncode == 0, f"{' '.join(map(str, command))}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _node_tool(name):
    tool = NODE_BIN / name
    if not tool.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{tool} is missing: `npm ci` (make test runs it) installs it from package-lock.json")
        pytest.skip(f"{tool} is missing; run `npm ci`")
    return tool


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """`dashboards-api serve` on a free port over a fresh SQLite file, and an editor's token."""
    home = tmp_path_factory.mktemp("live")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{home / 'live.db'}", "VALIDATE_RESPONSES": "1"}
    cli = [sys.executable, "-m", "cli"]  # the `dashboards-api` command, from this checkout
    _run(*cli, "init", env=env, cwd=ROOT)
    identity = json.loads(_run(*cli, "create-user", "--org", "acme", "--project", "default",
                               "--email", "ana@acme.io", "--role", "editor", env=env, cwd=ROOT))
    port = _free_port()
    server = subprocess.Popen([*cli, "serve", "--port", str(port), "--log-level", "warning"],
                              env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, f"the server exited: {server.stderr.read()}"
            assert time.monotonic() < deadline, "the server did not answer within 60 s"
            try:
                if httpx.get(f"{base}/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield base, identity["token"]
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(scope="module")
def python_client(tmp_path_factory, monkeypatch_module):
    """The package openapi-python-client generates, importable for this module's tests."""
    out = tmp_path_factory.mktemp("python-client")
    _run(sys.executable, "-m", "openapi_python_client", "generate", "--path", ROOT / "openapi.yaml",
         "--config", ROOT / "clients/python/config.yaml", "--meta", "none",
         "--output-path", out / "dashboards_api_client")
    monkeypatch_module.syspath_prepend(str(out))
    import dashboards_api_client

    return dashboards_api_client


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_generated_python_client_drives_a_live_server(python_client, live_server):
    from dashboards_api_client import AuthenticatedClient
    from dashboards_api_client.api.cards import handlers_cards_create_card as create_card
    from dashboards_api_client.api.collections import handlers_collections_create_collection as create_collection
    from dashboards_api_client.api.dashboards import handlers_dashboards_create_dashboard as create_dashboard
    from dashboards_api_client.api.datasets import handlers_datasets_create_dataset as create_dataset
    from dashboards_api_client.api.identity import handlers_me_get_me as get_me
    from dashboards_api_client.api.render import handlers_render_render_dashboard as render_dashboard
    from dashboards_api_client.models import (
        CardConfig, CardCreate, CardType, CollectionCreate, Column, ColumnType, DashboardCreate, DatasetCreate, Layout)

    base, token = live_server
    with AuthenticatedClient(base_url=base, token=token, raise_on_unexpected_status=True) as client:
        assert get_me.sync(client=client).user.email == "ana@acme.io"

        created = create_collection.sync_detailed(client=client, body=CollectionCreate(name="Sales"))
        assert created.status_code == 201 and created.headers["Location"].endswith(f"/{created.parsed.id}")
        collection = created.parsed

        dataset = create_dataset.sync(client=client, body=DatasetCreate(
            name="Orders",
            columns=[Column(name="region", type_=ColumnType.STRING), Column(name="amount", type_=ColumnType.NUMBER)],
            rows=[["EMEA", 120.5], ["APAC", 80.0]]))
        assert dataset.row_count == 2

        dashboard = create_dashboard.sync(client=client, body=DashboardCreate(name="Revenue", collection_id=collection.id))
        assert dashboard.collection_id == collection.id and len(dashboard.pages) == 1

        text = create_card.sync(dashboard_id=dashboard.id, client=client, body=CardCreate(
            card_type=CardType.TEXT, config=CardConfig.from_dict({"markdown": "## Revenue"}),
            layout=Layout(x=0, y=0, w=12, h=2)))
        kpi = create_card.sync(dashboard_id=dashboard.id, client=client, body=CardCreate(
            card_type=CardType.KPI, config=CardConfig.from_dict(
                {"dataset_id": dataset.id, "metric": {"agg": "sum", "column": "amount"}, "label": "Revenue"})))

        # openapi-python-client does not serialize deepObject parameters, so no `param` here.
        rendered = render_dashboard.sync(dashboard_id=dashboard.id, client=client)
    tiles = {card.card_id: card for card in rendered.cards}
    assert tiles[text.id].data["markdown"] == "## Revenue"
    assert tiles[kpi.id].data["value"] == pytest.approx(200.5)
    assert all(card.error is None for card in rendered.cards)


def test_generated_typescript_types_check_the_usage_file(tmp_path):
    """openapi-typescript's types for the spec, and `tsc --noEmit` over clients/typescript."""
    generate, tsc = _node_tool("openapi-typescript"), _node_tool("tsc")
    for name in ("usage.ts", "tsconfig.json"):
        shutil.copy(ROOT / "clients/typescript" / name, tmp_path / name)
    # Defaults make a request field required in the types; a client may leave it out.
    _run(generate, ROOT / "openapi.yaml", "--default-non-nullable", "false", "-o", tmp_path / "generated/api.d.ts")
    _run(tsc, "-p", tmp_path)
