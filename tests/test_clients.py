"""Clients generated from openapi.yaml, used the way a frontend team would use them.

A Python client from openapi-python-client drives a live server over HTTP; TypeScript types from
openapi-typescript type-check a committed usage file with `tsc`, and are the same generated from
the spec the live server serves. Neither output is committed.
Both are independent of the test database, so they run in the SQLite pass only.
"""

import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import BACKEND, SPEC

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
    identity = json.loads(
        _run(
            *cli,
            "create-user",
            "--org",
            "acme",
            "--project",
            "default",
            "--email",
            "ana@acme.io",
            "--role",
            "editor",
            env=env,
            cwd=ROOT,
        )
    )
    port = _free_port()
    server = subprocess.Popen(
        [*cli, "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
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
def python_client(tmp_path_factory):
    """A directory holding the package openapi-python-client generates: `dashboards_api_client`."""
    out = tmp_path_factory.mktemp("python-client")
    _run(
        sys.executable,
        "-m",
        "openapi_python_client",
        "generate",
        "--path",
        ROOT / "openapi.yaml",
        "--config",
        ROOT / "clients/python/config.yaml",
        "--meta",
        "none",
        "--output-path",
        out / "dashboards_api_client",
    )
    return out


def test_generated_python_client_drives_a_live_server(python_client, live_server):
    """clients/python/scenario.py, in its own process as a user would run it (importing the
    generated package here would also change the state the contract tests run in)."""
    env = {**os.environ, "PYTHONPATH": str(python_client)}
    result = json.loads(_run(sys.executable, ROOT / "clients/python/scenario.py", *live_server, env=env))
    assert result["email"] == "ana@acme.io" and result["dataset_rows"] == 3
    collection, dashboard = result["collection"], result["dashboard"]
    assert collection["status"] == 201 and collection["location"].endswith(
        f"/dashboards/collections/{collection['id']}"
    )
    assert dashboard["collection_id"] == collection["id"] and dashboard["pages"] == 1
    assert dashboard["defaults"] == {"region": ["EMEA", "APAC"], "min_amount": 0}
    kpi, text = result["cards"]["kpi"], result["cards"]["text"]

    def tiles(cards):
        assert all(card["error"] is None for card in cards), cards
        return {card["card_id"]: card["data"] for card in cards}

    by_default = tiles(result["render"])  # EMEA 120.5 + APAC 80.0 of the rows, by the defaults
    assert by_default[text] == {"markdown": "## Revenue"}
    assert by_default[kpi]["value"] == pytest.approx(200.5)
    # Parsed into the classes of each card's type, as the spec's card_type unions say.
    assert result["classes"] == {"text": "TextCard", "kpi": "KpiCard", "kpi_config": "KpiConfig"}
    assert result["render_classes"] == {
        str(text): ["TextRenderedCard", "TextData"],
        str(kpi): ["KpiRenderedCard", "KpiData"],
    }
    # POST render, values typed as the spec has them: a list for the `multiple` parameter...
    several = result["render_with_body"]["several"]
    assert several["parameters"] == {"region": ["APAC", "AMER"], "min_amount": 0}
    assert tiles(several["cards"])[kpi]["value"] == pytest.approx(120.0)
    # ...one value for the single-valued one (and one value for a `multiple` one is a list of one).
    single = result["render_with_body"]["single"]
    assert single["parameters"] == {"region": ["EMEA"], "min_amount": 100}
    assert tiles(single["cards"])[kpi]["value"] == pytest.approx(120.5)
    assert result["render_with_body"]["unchanged_status"] == 304


def test_generated_python_functions_are_named_after_the_operation_ids(python_client):
    """`api.dashboards.list_dashboards`, not a handler's dotted path: one module per operation."""
    operation_ids = [
        op["operationId"]
        for item in SPEC["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    ]
    expected = {re.sub(r"[A-Z]", lambda m: "_" + m[0].lower(), operation_id) for operation_id in operation_ids}
    generated = {
        path.stem
        for path in (python_client / "dashboards_api_client" / "api").glob("*/*.py")
        if path.stem != "__init__"
    }
    assert generated == expected and len(expected) == len(operation_ids)


def test_generated_typescript_types_check_the_usage_file(tmp_path):
    """openapi-typescript's types for the spec, and `tsc --noEmit` over clients/typescript: the
    usage file, and cards.ts, where a config of the wrong card type must fail to compile."""
    generate, tsc = _node_tool("openapi-typescript"), _node_tool("tsc")
    for name in ("usage.ts", "cards.ts", "tsconfig.json"):
        shutil.copy(ROOT / "clients/typescript" / name, tmp_path / name)
    # Defaults make a request field required in the types; a client may leave it out.
    _run(generate, ROOT / "openapi.yaml", "--default-non-nullable", "false", "-o", tmp_path / "generated/api.d.ts")
    _run(tsc, "-p", tmp_path)


def test_openapi_fetch_renders_with_typed_values_against_a_live_server(live_server, tmp_path):
    """clients/typescript/render.mts: openapi-fetch over openapi-typescript's `paths`, compiled
    with `tsc` and run by node against the live server. Render values are typed as the spec has
    them (one value, or a list for a `multiple` parameter) and sent without casts or a
    serializer of our own: in the POST render's body, and one value in the GET's query string."""
    generate, tsc = _node_tool("openapi-typescript"), _node_tool("tsc")
    if not (ROOT / "node_modules" / "openapi-fetch").is_dir():
        _node_tool("openapi-fetch")  # skips, or fails under CI, as for a missing tool
    for name in ("render.mts", "tsconfig.render.json"):
        shutil.copy(ROOT / "clients/typescript" / name, tmp_path / name)
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules")  # openapi-fetch as package-lock.json pins it
    _run(generate, ROOT / "openapi.yaml", "--default-non-nullable", "false", "-o", tmp_path / "generated/api.d.ts")
    _run(tsc, "-p", tmp_path / "tsconfig.render.json")
    result = json.loads(_run(shutil.which("node") or "node", tmp_path / "build/render.mjs", *live_server))

    def kpi(render):
        (card,) = (card for card in render["cards"] if card["card_id"] == result["kpi"])
        assert card["error"] is None, card
        return card["data"]["value"]

    # Rows EMEA 120.5, APAC 80.0, AMER 40.0; defaults region [EMEA, APAC] and min_amount 0.
    assert result["several"]["parameters"] == {"region": ["APAC", "AMER"], "min_amount": 0}
    assert kpi(result["several"]) == pytest.approx(120.0)
    assert result["single"]["parameters"] == {"region": ["EMEA"], "min_amount": 100}
    assert kpi(result["single"]) == pytest.approx(120.5)
    assert result["query_single"]["parameters"] == {"region": ["EMEA", "APAC"], "min_amount": 100}
    assert kpi(result["query_single"]) == pytest.approx(120.5)
    assert result["unchanged_status"] == 304
    assert result["public"]["parameters"] == {"region": ["AMER", "APAC"], "min_amount": 50}
    assert kpi(result["public"]) == pytest.approx(80.0)


def _schema_refs(node):
    """The names of the component schemas a document's `$ref`s point at."""
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        return (
            {ref.rsplit("/", 1)[1]}
            if ref.startswith("#/components/schemas/")
            else set().union(*map(_schema_refs, node.values()))
        )
    return set().union(*map(_schema_refs, node)) if isinstance(node, list) else set()


def test_typescript_types_from_the_served_spec_name_its_schemas(live_server, tmp_path):
    """openapi-typescript run on the URL a frontend team points it at (`/api/openapi.json`) gives
    the types it gives for openapi.yaml: every schema the spec refers to by name is referred to
    by that name (`components["schemas"]["Dashboard"]`), not inlined where it is used."""
    generate = _node_tool("openapi-typescript")
    base, _token = live_server
    _run(generate, f"{base}/openapi.json", "--default-non-nullable", "false", "-o", tmp_path / "served.d.ts")
    _run(generate, ROOT / "openapi.yaml", "--default-non-nullable", "false", "-o", tmp_path / "file.d.ts")
    served = (tmp_path / "served.d.ts").read_text()
    named = set(re.findall(r'components\["schemas"\]\["(\w+)"\]', served))
    assert named == _schema_refs(SPEC) and len(named) > 50
    assert served == (tmp_path / "file.d.ts").read_text()
