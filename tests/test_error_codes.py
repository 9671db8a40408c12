"""The error codes of the contract are true: every code an operation lists at a status, it answers.

Each error response of each operation narrows `error` to an enum of codes (openapi.yaml,
components/responses). Two directions keep those lists true:

- Nothing undeclared: every answer of the suite is checked against the spec (tests/conftest.py,
  `check_against_spec`), so a code an operation answers but does not list fails the test that
  met it; `test_an_undeclared_code_fails_the_check` shows that check catching one.
- Nothing unreachable: `test_every_declared_code_is_answered` runs, for every (operation, status,
  code) the spec lists, a request that gets exactly that answer. The statuses every operation
  shares are reached by one rule each (an unknown query parameter is 400, a bad token 401, a
  viewer's write 403, a path id that names nothing 404, a stale If-Match 412, a body too large
  413, a text/plain body 415); the rest by the scenarios of `SCENARIOS`. A code listed without a
  way to reach it, or a scenario for a code no longer listed, fails here.

And each response's example is a real answer: `test_every_example_is_a_real_answer` compares it
with what the operation answered (numbers aside).
"""

import contextlib
import copy
import re

import httpx
import pytest
from jsonschema import ValidationError

import telemetry
from models import db, schema
from models import errors as domain_errors
from models.content import Card, Collection, Dashboard, Page, Share
from models.dataset_tables import create_dataset
from models.identity import ApiToken, Group, GroupMember
from tests.conftest import BACKEND, BASE, SPEC, check_against_spec, problem

COMPONENTS = SPEC["components"]
PROBLEM = "application/problem+json"
MISSING_ID = 999_999
TOO_LARGE = b" " * (64 * 1024 + 1)  # past the test app's MAX_BODY_BYTES (tests/conftest.py)
MISSING_SLUG = "no-such-public-link-000000000000"


def _resolve(node):
    while isinstance(node, dict) and "$ref" in node:
        section, name = node["$ref"].split("/")[-2:]
        node = COMPONENTS[section][name]
    return node


OPERATIONS = {
    op["operationId"]: (method, path, {**item, **op})
    for path, item in SPEC["paths"].items()
    for method, op in item.items()
    if isinstance(op, dict) and "operationId" in op
}


def error_responses(op):
    """{status: response} of an operation's error answers, `default` included."""
    return {
        status: _resolve(response)
        for status, response in op["responses"].items()
        if status == "default" or status >= "400"
    }


def declared_codes(response):
    """The `error` enum of a problem response (None when it has none)."""
    schema = _resolve(response["content"][PROBLEM]["schema"])
    for part in schema.get("allOf", [schema]):
        enum = _resolve(part).get("properties", {}).get("error", {}).get("enum")
        if enum:
            return enum
    return None


# Answered by the HTTP server before the application sees the request, so only over a real
# socket: tests/test_processes.py answers each and compares it with the spec's example.
SERVER_ANSWERED = {(414, "uri_too_long")}
DECLARED = sorted(
    (op_id, int(status), code)
    for op_id, (_, _, op) in OPERATIONS.items()
    for status, response in error_responses(op).items()
    if status != "default"
    for code in declared_codes(response)
    if (int(status), code) not in SERVER_ANSWERED
)
EXAMPLES = sorted(
    (op_id, int(status))
    for op_id, (_, _, op) in OPERATIONS.items()
    for status in error_responses(op)
    if status != "default" and int(status) not in {s for s, _ in SERVER_ANSWERED}
)


def all_codes():
    """Every code models/errors.py defines: the domain errors, and the framework's as they map."""
    found, pending = set(), [domain_errors.DomainError]
    while pending:
        kind = pending.pop()
        found.add(kind.code)
        pending += kind.__subclasses__()
    return found


# --- the spec: every error answer lists its codes ----------------------------------------------


@pytest.mark.parametrize("op_id", sorted(OPERATIONS))
def test_every_error_answer_lists_its_codes(op_id):
    """Every error status (and `default`) is a problem document whose `error` is an enum of codes
    models/errors.py defines, with an example of one of them at that status."""
    for status, response in error_responses(OPERATIONS[op_id][2]).items():
        assert list(response["content"]) == [PROBLEM], (op_id, status)
        codes = declared_codes(response)
        assert codes, f"{op_id} {status}: `error` is a free string"
        assert set(codes) <= all_codes(), (op_id, status, set(codes) - all_codes())
        example = response["content"][PROBLEM]["example"]
        assert example["error"] in codes, (op_id, status)
        assert status == "default" or example["status"] == int(status), (op_id, status)


def _answer(method, path, status, code):
    body = {"type": "about:blank", "title": "Not found", "status": status, "detail": "-", "error": code}
    return httpx.Response(
        status,
        json=body,
        headers={"Content-Type": PROBLEM},
        request=httpx.Request(method, f"http://testserver{BASE}{path}"),
    )


def test_an_undeclared_code_fails_the_check():
    """The check every answer of the suite passes refuses a code its operation does not list at
    that status: GET one dashboard may answer 404 `dashboard_not_found`, never `card_not_found`,
    and no status outside its list but `default`'s codes."""
    check_against_spec(_answer("GET", "/dashboards/1", 404, "dashboard_not_found"))
    with pytest.raises(ValidationError, match="card_not_found"):
        check_against_spec(_answer("GET", "/dashboards/1", 404, "card_not_found"))
    with pytest.raises(ValidationError, match="collection_cycle"):
        check_against_spec(_answer("GET", "/dashboards/1", 409, "collection_cycle"))
    check_against_spec(_answer("GET", "/dashboards/1", 503, "service_unavailable"))


# --- a scene in which every operation can succeed, and so fail as asked ----------------------

TEXT_CARD = {"card_type": "text", "config": {"markdown": "Notes"}}
KPI_OF_NOTHING = {"card_type": "kpi", "config": {"dataset_id": MISSING_ID, "metric": {"agg": "count"}}}


class Scene:
    """An admin and a viewer of one org, and one of each object, reachable by the admin and
    visible to the viewer: collections Top > Child, a dataset, a dashboard of two pages with two
    cards side by side and a grant, a public dashboard of one page, a group with a member."""

    def __init__(self, world):
        org = world.org()
        project = world.project(org)
        self.admin_user, self.admin = world.user(org, role="admin")
        self.viewer_user, self.viewer = world.user(org, role="viewer")
        self.member, _ = world.user(org, role="viewer")
        self.anonymous = world.anonymous()
        self.top = Collection.create(project=project, name="Top")
        self.child = Collection.create(project=project, name="Child", parent=self.top)
        self.dataset = create_dataset(
            project,
            "Orders",
            [
                {"name": "day", "type": "date"},
                {"name": "region", "type": "string"},
                {"name": "amount", "type": "number"},
            ],
        )
        self.dashboard = Dashboard.create_with_first_page(
            project=project,
            owner=self.admin_user,
            name="Sales",
            default_audience="org",
            parameters=[{"name": "region", "type": "string", "multiple": True, "required": False}],
        )
        first = Page.get(dashboard=self.dashboard, position=1)
        Page.create(dashboard=self.dashboard, position=2, name="Two")
        self.card = Card.create(
            dashboard=self.dashboard, page=first, card_type="text", config={"markdown": "a"}, x=0, y=0, w=6, h=2
        )
        self.other_card = Card.create(
            dashboard=self.dashboard, page=first, card_type="text", config={"markdown": "b"}, x=6, y=0, w=6, h=2
        )
        self.share = Share.create(
            dashboard=self.dashboard, subject_type="user", subject_id=self.member.id, access_level="viewer"
        )
        self.public = Dashboard.create_with_first_page(
            project=project, owner=self.admin_user, name="Public", default_audience="public"
        )
        self.group = Group.create(org=org, name="Analysts")
        GroupMember.create(group=self.group, user=self.member)
        self.token = ApiToken.select().where(ApiToken.user == self.admin_user).get()
        self.path_values = {
            "dashboard_id": self.dashboard.id,
            "card_id": self.card.id,
            "page_number": 1,
            "share_id": self.share.id,
            "collection_id": self.top.id,
            "dataset_id": self.dataset.id,
            "group_id": self.group.id,
            "user_id": self.member.id,
            "token_id": self.token.id,
            "slug": self.public.public_slug,
        }

    def call(self, op_id, client=None, *, path=None, json=None, content=None, headers=None, params=None):
        """Call an operation as `client` (the admin by default; anonymous for those without a
        token), at the scene's objects unless `path` says otherwise, with `json` or else the
        spec's example body."""
        method, template, op = OPERATIONS[op_id]
        if client is None:
            client = self.anonymous if op.get("security", SPEC["security"]) == [] else self.admin
        values = {**self.path_values, **(path or {})}
        url = re.sub(r"\{(\w+)\}", lambda m: str(values[m[1]]), template)
        if json is None and content is None and "requestBody" in op:
            json = body_example(op)
        return client.request(method.upper(), url, json=json, content=content, headers=headers, params=params)


def body_example(op):
    content = _resolve(op["requestBody"])["content"]["application/json"]
    return copy.deepcopy(content.get("example", _resolve(content.get("schema", {})).get("example")))


@pytest.fixture
def scene(world):
    return Scene(world)


# --- how each declared code is reached --------------------------------------------------------

# The 404 code for a path parameter that names nothing.
NOT_FOUND_BY_PARAMETER = {
    "dashboard_id": "dashboard_not_found",
    "card_id": "card_not_found",
    "page_number": "page_not_found",
    "share_id": "share_not_found",
    "collection_id": "collection_not_found",
    "dataset_id": "dataset_not_found",
    "group_id": "group_not_found",
    "user_id": "user_not_found",
    "token_id": "token_not_found",
    "slug": "public_dashboard_not_found",
}
MISSING = {"page_number": 99, "slug": MISSING_SLUG}


@contextlib.contextmanager
def metrics_token():
    before, telemetry._metrics_token = telemetry._metrics_token, "metrics-secret-token"
    try:
        yield
    finally:
        telemetry._metrics_token = before


def generic(op_id, status, code):
    """The request that reaches (status, code) by the rule every operation follows, or None."""
    rule = {
        (400, "invalid_request"): lambda s: s.call(op_id, params={"bogus": "1"}),
        (403, "permission_denied"): lambda s: s.call(op_id, s.viewer),
        (412, "precondition_failed"): lambda s: s.call(op_id, headers={"If-Match": '"999999"'}),
        (413, "payload_too_large"): lambda s: s.call(
            op_id, content=TOO_LARGE, headers={"Content-Type": "application/json"}
        ),
        (415, "unsupported_media_type"): lambda s: s.call(op_id, content=b"x", headers={"Content-Type": "text/plain"}),
    }.get((status, code))
    if rule is not None:
        return rule
    template = OPERATIONS[op_id][1]
    parameter = next(
        (name for name in re.findall(r"\{(\w+)\}", template) if NOT_FOUND_BY_PARAMETER.get(name) == code), None
    )
    if status == 404 and parameter:
        return lambda s: s.call(op_id, path={parameter: MISSING.get(parameter, MISSING_ID)})
    return None


def unauthenticated(op_id):
    """401: a token that is not one (for the metrics, once METRICS_TOKEN is set)."""

    def reach(scene):
        bad_token = {"Authorization": "Bearer nope"}
        with metrics_token() if op_id == "getMetrics" else contextlib.nullcontext():
            return scene.call(op_id, scene.anonymous, headers=bad_token)

    return reach


@contextlib.contextmanager
def broken_store(store):
    """The store unreachable for the app, as when the database is down; restored afterwards."""
    url = (
        "sqlite:////nonexistent-directory/store.db" if BACKEND == "sqlite" else "postgresql://postgres@127.0.0.1:1/test"
    )
    db.database.initialize(db.open_database(url))
    try:
        yield
    finally:
        db.database.initialize(store)


def _ready_when_store_is_gone(scene):
    with broken_store(db.database.obj):
        return scene.call("getReady")


def _ready_when_schema_is_old(scene):
    versions = list(schema.SchemaVersion.select())
    schema.SchemaVersion.delete().where(schema.SchemaVersion.version == schema.LATEST).execute()
    try:
        return scene.call("getReady")
    finally:
        schema.SchemaVersion.delete().execute()
        for row in versions:
            schema.SchemaVersion.create(version=row.version, applied_at=row.applied_at)


def _layout_onto(card, other):
    """`card`'s size at `other`'s place."""
    return {"x": other.x, "y": other.y, "w": card.w, "h": card.h}


def _template_body(scene, **fields):
    return {"template_id": "time-series", "dataset_id": scene.dataset.id, "name": "From template", **fields}


def _dashboard_body(**fields):
    return {"name": "Sales", **fields}


DUPLICATE_PARAMETERS = [{"name": "region", "type": "string"}, {"name": "region", "type": "string"}]
OFF_THE_GRID = {"x": 20, "y": 0, "w": 10, "h": 2}

# (operation, status, code): how to get that answer, where no rule above reaches it.
SCENARIOS = {
    ("getReady", 503, "service_unavailable"): _ready_when_store_is_gone,
    ("getReady", 503, "schema_outdated"): _ready_when_schema_is_old,
    ("renderDashboard", 400, "invalid_parameter"): lambda s: s.call("renderDashboard", params={"param[colour]": "red"}),
    ("renderPublicDashboard", 400, "invalid_parameter"): lambda s: s.call(
        "renderPublicDashboard", params={"param[colour]": "red"}
    ),
    ("renderDashboard", 404, "page_not_found"): lambda s: s.call("renderDashboard", params={"page": 9}),
    ("renderPublicDashboard", 404, "page_not_found"): lambda s: s.call("renderPublicDashboard", params={"page": 9}),
    ("renderDashboardWithBody", 400, "invalid_parameter"): lambda s: s.call(
        "renderDashboardWithBody", json={"parameters": {"colour": "red"}}
    ),
    ("renderPublicDashboardWithBody", 400, "invalid_parameter"): lambda s: s.call(
        "renderPublicDashboardWithBody", json={"parameters": {"colour": "red"}}
    ),
    ("renderDashboardWithBody", 404, "page_not_found"): lambda s: s.call("renderDashboardWithBody", json={"page": 9}),
    ("renderPublicDashboardWithBody", 404, "page_not_found"): lambda s: s.call(
        "renderPublicDashboardWithBody", json={"page": 9}
    ),
    ("createFromTemplate", 404, "template_not_found"): lambda s: s.call(
        "createFromTemplate", json=_template_body(s, template_id="weekly-digest")
    ),
    ("createFromTemplate", 422, "dataset_not_found"): lambda s: s.call(
        "createFromTemplate", json=_template_body(s, dataset_id=MISSING_ID)
    ),
    ("createFromTemplate", 422, "collection_not_found"): lambda s: s.call(
        "createFromTemplate", json=_template_body(s, collection_id=MISSING_ID)
    ),
    ("createFromTemplate", 422, "template_incompatible"): lambda s: s.call(
        "createFromTemplate", json=_template_body(s, bindings={"measure": "revenue"})
    ),
    ("createCollection", 422, "collection_not_found"): lambda s: s.call(
        "createCollection", json={"name": "Sub", "parent_id": MISSING_ID}
    ),
    ("updateCollection", 422, "collection_not_found"): lambda s: s.call(
        "updateCollection", json={"parent_id": MISSING_ID}
    ),
    ("updateCollection", 409, "collection_cycle"): lambda s: s.call("updateCollection", json={"parent_id": s.child.id}),
    ("deleteCollection", 409, "collection_not_empty"): lambda s: s.call("deleteCollection"),
    ("createDashboard", 422, "collection_not_found"): lambda s: s.call(
        "createDashboard", json=_dashboard_body(collection_id=MISSING_ID)
    ),
    ("createDashboard", 422, "invalid_parameters"): lambda s: s.call(
        "createDashboard", json=_dashboard_body(parameters=DUPLICATE_PARAMETERS)
    ),
    ("updateDashboard", 422, "collection_not_found"): lambda s: s.call(
        "updateDashboard", json={"collection_id": MISSING_ID}
    ),
    ("updateDashboard", 422, "invalid_parameters"): lambda s: s.call(
        "updateDashboard", json={"parameters": DUPLICATE_PARAMETERS}
    ),
    ("duplicateDashboard", 422, "collection_not_found"): lambda s: s.call(
        "duplicateDashboard", json={"collection_id": MISSING_ID}
    ),
    ("createDataset", 422, "invalid_columns"): lambda s: s.call(
        "createDataset",
        json={"name": "Twice", "columns": [{"name": "day", "type": "date"}, {"name": "day", "type": "string"}]},
    ),
    ("createDataset", 422, "invalid_rows"): lambda s: s.call(
        "createDataset", json={"name": "Bad", "columns": [{"name": "day", "type": "date"}], "rows": [["soon"]]}
    ),
    ("appendRows", 422, "invalid_rows"): lambda s: s.call("appendRows", json={"rows": [{"amount": "lots"}]}),
    ("upsertShare", 422, "user_not_found"): lambda s: s.call(
        "upsertShare", json={"subject_type": "user", "subject_id": MISSING_ID, "access_level": "viewer"}
    ),
    ("upsertShare", 422, "group_not_found"): lambda s: s.call(
        "upsertShare", json={"subject_type": "group", "subject_id": MISSING_ID, "access_level": "viewer"}
    ),
    ("createGroup", 409, "group_name_taken"): lambda s: s.call("createGroup", json={"name": "Analysts"}),
    ("updateGroup", 409, "group_name_taken"): lambda s: s.call(
        "updateGroup", path={"group_id": Group.create(org=s.group.org, name="Others").id}, json={"name": "Analysts"}
    ),
    ("createCard", 409, "card_position_conflict"): lambda s: s.call(
        "createCard", json={**TEXT_CARD, "layout": _layout_onto(s.card, s.card)}
    ),
    ("createCard", 422, "invalid_card_config"): lambda s: s.call("createCard", json=KPI_OF_NOTHING),
    ("createCard", 422, "page_not_found"): lambda s: s.call("createCard", json={**TEXT_CARD, "page": 99}),
    ("createCard", 422, "invalid_layout"): lambda s: s.call("createCard", json={**TEXT_CARD, "layout": OFF_THE_GRID}),
    ("updateCard", 409, "card_position_conflict"): lambda s: s.call(
        "updateCard", json={"layout": _layout_onto(s.card, s.other_card)}
    ),
    ("updateCard", 422, "invalid_card_config"): lambda s: s.call("updateCard", json=KPI_OF_NOTHING),
    ("updateCard", 422, "page_not_found"): lambda s: s.call("updateCard", json={"page": 99}),
    ("updateCard", 422, "invalid_layout"): lambda s: s.call("updateCard", json={"layout": OFF_THE_GRID}),
    ("updateLayout", 409, "card_position_conflict"): lambda s: s.call(
        "updateLayout", json=[{"card_id": s.card.id, **_layout_onto(s.card, s.other_card)}]
    ),
    ("updateLayout", 422, "invalid_layout"): lambda s: s.call(
        "updateLayout", json=[{"card_id": 99, "x": 0, "y": 0, "w": 1, "h": 1}]
    ),
    ("createPage", 422, "invalid_position"): lambda s: s.call("createPage", json={"name": "Late", "position": 9}),
    ("updatePage", 422, "invalid_position"): lambda s: s.call("updatePage", json={"position": 9}),
    ("deletePage", 409, "last_page"): lambda s: s.call("deletePage", path={"dashboard_id": s.public.id}),
}


def reach(op_id, status, code):
    """How to get (status, code) from the operation; None when nothing says."""
    if (op_id, status, code) in SCENARIOS:
        return SCENARIOS[(op_id, status, code)]
    if (status, code) == (401, "unauthenticated"):
        return unauthenticated(op_id)
    return generic(op_id, status, code)


@pytest.mark.parametrize("op_id,status,code", DECLARED, ids=[f"{o}-{s}-{c}" for o, s, c in DECLARED])
def test_every_declared_code_is_answered(scene, op_id, status, code):
    how = reach(op_id, status, code)
    assert how is not None, f"{op_id} lists {status} {code}, and nothing here reaches it: add it to SCENARIOS"
    problem(how(scene), status, code)


def test_every_scenario_is_of_a_declared_code():
    assert set(SCENARIOS) <= set(DECLARED), set(SCENARIOS) - set(DECLARED)


def _normalized(value):
    """Numbers aside: ids, versions and limits differ from one store to the next."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return 0
    if isinstance(value, str):
        return re.sub(r"\d+", "0", value)
    if isinstance(value, list):
        return [_normalized(item) for item in value]
    return {key: _normalized(item) for key, item in value.items()}


@pytest.mark.parametrize("op_id,status", EXAMPLES, ids=[f"{o}-{s}" for o, s in EXAMPLES])
def test_every_example_is_a_real_answer(scene, op_id, status):
    """The example of each error answer is what the operation answers, numbers aside."""
    example = error_responses(OPERATIONS[op_id][2])[str(status)]["content"][PROBLEM]["example"]
    answer = reach(op_id, status, example["error"])(scene)
    assert answer.status_code == status, answer.text
    assert _normalized(answer.json()) == _normalized(example)


# --- `default`: what any operation may answer --------------------------------------------------


def test_default_codes_are_answered(scene, monkeypatch):
    """Every operation's `default` lists 500 `internal_error`, 503 `service_unavailable` and 413
    `payload_too_large` (a body on an operation that takes none); its example is the 500."""
    codes = {tuple(declared_codes(_resolve(op["responses"]["default"]))) for _, _, op in OPERATIONS.values()}
    assert codes == {("internal_error", "service_unavailable", "payload_too_large")}
    too_large = scene.call("getMe", content=TOO_LARGE, headers={"Content-Type": "application/json"})
    problem(too_large, 413, "payload_too_large")
    with broken_store(db.database.obj):
        gone = scene.call("getMe")
    problem(gone, 503, "service_unavailable")
    assert gone.headers["Retry-After"]

    def explode(*args, **kwargs):
        raise RuntimeError("internals")

    monkeypatch.setattr("models.content.Dashboard.create_with_first_page", explode)
    failed = scene.call("createDashboard", json={"name": "Boom"})
    problem(failed, 500, "internal_error")
    example = _resolve(OPERATIONS["createDashboard"][2]["responses"]["default"])["content"][PROBLEM]["example"]
    assert _normalized(failed.json()) == _normalized(example)
