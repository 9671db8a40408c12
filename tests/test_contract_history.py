"""The contract's history: openapi.yaml against its last release, through the real check.

scripts/check_contract_history.py compares a spec with the highest release under releases/ using
api-smart-diff (installed by `npm ci`, which `make test` runs). These tests run it as a command on
the repository's own files and on copies of the last release changed on purpose, and read its
exit status and report. Independent of the test database, so they run in the SQLite pass only.
"""

import copy
import json
import os
import pathlib
import re
import subprocess
import sys

import pytest
import yaml

from tests.conftest import BACKEND

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHECK = ROOT / "scripts" / "check_contract_history.py"
RELEASES = ROOT / "releases"
RELEASE_NAME = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")

pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="backend-independent; runs in the SQLite pass")


def _releases():
    """{version tuple: folder} of every release."""
    found = {}
    for folder in RELEASES.iterdir():
        if match := RELEASE_NAME.match(folder.name):
            found[tuple(map(int, match.groups()))] = folder
    return found


LAST_VERSION, LAST_FOLDER = max(_releases().items())
with open(LAST_FOLDER / "openapi.yaml", encoding="utf-8") as _handle:
    LAST_SPEC = yaml.load(_handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
NEXT_MAJOR = f"{LAST_VERSION[0] + 1}.0.0"


@pytest.fixture
def diff_tool():
    if not (ROOT / "node_modules" / "api-smart-diff").is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail("api-smart-diff is missing: `npm ci` (make test runs it) installs it from package-lock.json")
        pytest.skip("api-smart-diff is missing; run `npm ci`")


def run_check(*args):
    return subprocess.run(
        [sys.executable, str(CHECK), *map(str, args)], capture_output=True, text=True, timeout=120, cwd=ROOT
    )


def check_spec(spec, tmp_path, releases=RELEASES):
    path = tmp_path / "openapi.yaml"
    path.write_text(json.dumps(spec), encoding="utf-8")  # JSON is YAML
    return run_check("--spec", path, "--releases", releases)


def changed(*changes, version=None):
    """A copy of the last release with each change applied and, if given, another info.version."""
    spec = copy.deepcopy(LAST_SPEC)
    for change in changes:
        change(spec)
    if version:
        spec["info"]["version"] = version
    return spec


def schemas(spec):
    return spec["components"]["schemas"]


def remove_operation(spec):
    del spec["paths"]["/dashboards"]["post"]


def require_new_request_field(spec):
    create = schemas(spec)["CollectionCreate"]
    create["properties"]["color"] = {"type": "string", "maxLength": 20}
    create["required"].append("color")


def remove_response_property(spec):
    collection = schemas(spec)["Collection"]
    del collection["properties"]["description"]
    collection["required"].remove("description")
    collection["example"].pop("description")


BREAKING = {
    "removed operation": (remove_operation, "POST /dashboards", "[Removed] operation POST /dashboards"),
    "new required request field": (
        require_new_request_field,
        "POST /dashboards/collections",
        "[Added] required status to `color` in Request Body",
    ),
    "removed response property": (
        remove_response_property,
        "GET /dashboards/collections",
        "[Removed] property `description` from `items[]` in Response 200",
    ),
}
# Each breaking case under another version that is not a major bump: none, minor, patch.
NOT_MAJOR = {
    "removed operation": None,
    "new required request field": f"{LAST_VERSION[0]}.{LAST_VERSION[1] + 1}.0",
    "removed response property": f"{LAST_VERSION[0]}.{LAST_VERSION[1]}.{LAST_VERSION[2] + 1}",
}


def listed(report, operation, words):
    """Whether the report lists a change of this operation described with these words."""
    return any(line.startswith(f"  - {operation}: ") and words in line for line in report.splitlines())


def test_current_spec_keeps_the_promises_of_the_last_release(diff_tool):
    result = run_check()
    assert result.returncode == 0, result.stderr
    assert f"release {'.'.join(map(str, LAST_VERSION))}" in result.stdout


@pytest.mark.parametrize("name", BREAKING)
def test_a_breaking_change_without_a_major_bump_fails_naming_it(diff_tool, tmp_path, name):
    change, operation, words = BREAKING[name]
    result = check_spec(changed(change, version=NOT_MAJOR[name]), tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "without a major version bump" in result.stderr
    assert listed(result.stderr, operation, words), result.stderr
    assert f"make info.version {NEXT_MAJOR}" in result.stderr


def test_breaking_changes_pass_with_a_major_bump(diff_tool, tmp_path):
    changes = [change for change, _, _ in BREAKING.values()]
    result = check_spec(changed(*changes, version=NEXT_MAJOR), tmp_path)
    assert result.returncode == 0, result.stderr
    assert "as its major version allows" in result.stdout
    for _, operation, words in BREAKING.values():
        assert listed(result.stdout, operation, words), result.stdout


def add_operation(spec):
    spec["paths"]["/dashboards/{dashboard_id}/favorite"] = {
        "parameters": [{"$ref": "#/components/parameters/DashboardId"}],
        "put": {
            "operationId": "handlers.dashboards.favorite_dashboard",
            "tags": ["Dashboards"],
            "summary": "Mark a dashboard as a favorite of the caller",
            "responses": {"204": {"description": "Marked."}, "default": {"$ref": "#/components/responses/Error"}},
        },
    }


def add_optional_parameter(spec):
    spec["paths"]["/dashboards"]["get"]["parameters"].append(
        {
            "name": "owner_id",
            "in": "query",
            "description": "Only dashboards of this owner.",
            "schema": {"$ref": "#/components/schemas/Id"},
        }
    )


def add_optional_request_field(spec):
    schemas(spec)["CollectionCreate"]["properties"]["color"] = {"type": "string", "maxLength": 20}


def add_response_property(spec):
    schemas(spec)["Collection"]["properties"]["dashboard_count"] = {"type": "integer", "minimum": 0}


def accept_null_in_request(spec):
    schemas(spec)["CollectionCreate"]["properties"]["description"] = {**schemas(spec)["Description"], "nullable": True}


def test_additions_pass_without_a_version_bump(diff_tool, tmp_path):
    spec = changed(
        add_operation, add_optional_parameter, add_optional_request_field, add_response_property, accept_null_in_request
    )
    assert spec["info"]["version"] == LAST_SPEC["info"]["version"]
    result = check_spec(spec, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "none breaking" in result.stdout
    assert int(re.search(r": (\d+) changes, none breaking", result.stdout).group(1)) >= 5


def make_response_value_nullable(spec):
    schemas(spec)["Collection"]["properties"]["description"]["nullable"] = True


def change_response_value_type(spec):
    schemas(spec)["Collection"]["properties"]["parent_id"]["type"] = "string"


def rename_operation_id(spec):
    spec["paths"]["/dashboards"]["get"]["operationId"] = "handlers.dashboards.list_all_dashboards"


def test_changes_the_tool_calls_non_breaking_are_counted_as_breaking(diff_tool, tmp_path):
    """A response value that may be null or has another type, and a renamed operationId."""
    result = check_spec(
        changed(make_response_value_nullable, change_response_value_type, rename_operation_id), tmp_path
    )
    assert result.returncode == 1, result.stdout
    report = result.stderr
    assert listed(
        report, "GET /dashboards/collections/{collection_id}", "counted as breaking: a response value may now be null"
    ), report
    assert listed(report, "GET /dashboards/collections/{collection_id}", "replaced `integer` with `string`"), report
    assert "counted as breaking: a response's `type` changed" in report
    assert listed(report, "GET /dashboards", "generated clients name their functions after the operationId"), report


def test_a_version_below_the_last_release_fails(tmp_path):
    result = check_spec(changed(version="0.9.0"), tmp_path)
    assert result.returncode == 1
    assert "is lower than the last release" in result.stderr


def test_a_version_that_is_not_x_y_z_fails(tmp_path):
    result = check_spec(changed(version="2.0"), tmp_path)
    assert result.returncode == 1
    assert "'2.0' is not a version X.Y.Z" in result.stderr


def test_a_release_folder_must_hold_the_spec_of_its_version(tmp_path):
    releases = tmp_path / "releases"
    (releases / NEXT_MAJOR).mkdir(parents=True)
    (releases / NEXT_MAJOR / "openapi.yaml").write_text(json.dumps(LAST_SPEC), encoding="utf-8")
    result = check_spec(changed(version=NEXT_MAJOR), tmp_path, releases=releases)
    assert result.returncode == 1
    assert f"releases/{NEXT_MAJOR}: its openapi.yaml says info.version" in result.stderr


def test_every_release_has_its_changelog_entry():
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "\n## [Unreleased]\n" in changelog
    for folder in _releases().values():
        name = folder.name
        assert re.search(rf"^## \[{re.escape(name)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, re.M), name
        assert f"\n[{name}]: releases/{name}/openapi.yaml" in changelog, name
        with open(folder / "openapi.yaml", encoding="utf-8") as handle:
            assert yaml.safe_load(handle)["info"]["version"] == name
    with open(ROOT / "openapi.yaml", encoding="utf-8") as handle:
        current = tuple(map(int, yaml.safe_load(handle)["info"]["version"].split(".")))
    assert current >= LAST_VERSION
