"""The Connexion and Starlette members framework.py relies on, private ones included: each test
proves the member exists and behaves as relied on, so that an upgrade breaks here first."""

import asyncio
import inspect

import pytest
from connexion.middleware.request_validation import RequestValidationOperation
from connexion.operations.abstract import AbstractOperation
from connexion.uri_parsing import OpenAPIURIParser
from connexion.validators import ParameterValidator
from connexion.validators.json import JSONRequestBodyValidator
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware

import framework
import handlers.datasets
import handlers.health
import handlers.me
from models.errors import InvalidRequest

SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "additionalProperties": False}


def body_validator(**options):
    return framework.BodyValidator(**{"schema": SCHEMA, "encoding": "utf-8", "strict_validation": True, **options})


def test_body_validator_init_keeps_schema_required_and_nullable():
    validator = body_validator(required=True, nullable=False)
    assert (validator._schema, validator._required, validator._nullable) == (SCHEMA, True, False)


def test_request_validation_awaits_wrap_receive_and_passes_its_scope_on():
    source = inspect.getsource(RequestValidationOperation.__call__)
    assert "receive, scope = await validator.wrap_receive(receive, scope=scope)" in source
    assert "await self.next_app(scope, receive, send)" in source
    assert set(inspect.signature(JSONRequestBodyValidator.wrap_receive).parameters) == {"self", "receive", "scope"}


def test_wrap_receive_hands_the_parsed_body_over_and_empties_the_channel():
    messages = [
        {"type": "http.request", "body": b'{"n":', "more_body": True},
        {"type": "http.request", "body": b" 1}", "more_body": False},
    ]

    async def receive():
        return messages.pop(0)

    async def run():
        channel, scope = await body_validator().wrap_receive(receive, scope={"type": "http", "headers": []})
        return await channel(), scope

    message, scope = asyncio.run(run())
    assert scope[framework.BODY_SCOPE_KEY] == {"n": 1}
    assert message == {"type": "http.request", "body": b"", "more_body": False}


def test_validate_reports_every_schema_error():
    with pytest.raises(InvalidRequest) as raised:
        body_validator()._validate({"n": "x", "m": 1})
    assert [e["path"] for e in raised.value.errors] == ["/m", "/n"]


def test_request_exposes_the_starlette_scope():
    from connexion.lifecycle import ConnexionRequest

    scope = {"type": "http", "headers": [], framework.BODY_SCOPE_KEY: 7}
    assert ConnexionRequest(scope).scope[framework.BODY_SCOPE_KEY] == 7


def test_parameter_validator_members():
    spec = [{"name": "limit", "in": "query", "schema": {"type": "integer"}}]
    validator = framework.QueryValidator(spec, uri_parser=OpenAPIURIParser(spec, {}), strict_validation=True)
    assert validator.parameters["query"] == spec
    assert validator.strict_validation is True and validator.security_query_params == set()
    for location in framework.QueryValidator.LOCATIONS:
        assert callable(getattr(validator, f"validate_{location}_parameter"))
    assert "self.validate_request(request)" in inspect.getsource(ParameterValidator.validate)


def test_uri_parser_preprocesses_deep_objects_through_the_overridable_hook():
    spec = [
        {
            "name": "param",
            "in": "query",
            "style": "deepObject",
            "explode": True,
            "schema": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
        }
    ]
    parser = framework.QueryParser(spec, {})
    assert parser._is_deep_object_style_param("param") and not parser._is_deep_object_style_param("page")
    assert "self._preprocess_deep_objects(query_data)" in inspect.getsource(OpenAPIURIParser.resolve_query)
    resolved = parser._preprocess_deep_objects({"param[region]": ["EMEA"], "param.region": ["APAC"], "page": ["1"]})
    assert resolved == {"param": [{"region": ["EMEA", "APAC"]}], "page": ["1"]}


def test_store_resolver_reads_the_operation_spec():
    from connexion.operations import OpenAPIOperation
    from connexion.utils import get_function_from_name

    spec = {
        "operationId": "appendRows",
        "responses": {},
        "parameters": [{"name": "If-Match", "in": "header", "schema": {"type": "string"}}],
    }
    operation = OpenAPIOperation(
        "post",
        "/datasets/{dataset_id}/rows",
        spec,
        resolver=framework.StoreResolver(get_function_from_name, framework.Lanes(2)),
    )
    assert operation._operation is spec
    assert operation.function.handles is handlers.datasets.append_rows
    assert operation.function.handles.long_running
    # Connexion inspects the innermost function on every request: the wrapper's signature is kept.
    assert not hasattr(operation.function, "__wrapped__")
    assert inspect.signature(operation.function) == inspect.signature(handlers.datasets.append_rows)
    # The resolution's operationId replaces the operation's: the one the router hands on to the
    # request's scope (the log line, the metrics label).
    assert "self._operation_id = self._resolution.operation_id" in inspect.getsource(AbstractOperation.__init__)
    assert operation.operation_id == "appendRows"


@pytest.mark.parametrize("operation_id,found", [("getNothing", "no handler module"), ("etag", "handlers.common")])
def test_handler_resolver_refuses_a_name_no_handler_defines(operation_id, found, monkeypatch):
    from connexion.exceptions import ResolverError
    from connexion.operations import OpenAPIOperation
    from connexion.utils import get_function_from_name

    if found != "no handler module":  # the same name defined by a second module: ambiguous
        monkeypatch.setattr(handlers.me, "etag", lambda: None, raising=False)
        monkeypatch.setattr(handlers.me.etag, "__module__", "handlers.me")
        found = "handlers.common, handlers.me"
    with pytest.raises(ResolverError, match=f"{operation_id}\\): .* is defined in {found}$"):
        OpenAPIOperation(
            "get",
            "/x",
            {"operationId": operation_id, "responses": {}},
            resolver=framework.HandlerResolver(get_function_from_name),
        )


def test_storeless_resolver_runs_only_the_health_module_outside_the_store():
    from connexion.operations import OpenAPIOperation
    from connexion.utils import get_function_from_name

    import telemetry

    resolver = telemetry.StorelessResolver(framework.StoreResolver(get_function_from_name, framework.Lanes(2)))
    health = OpenAPIOperation("get", "/health", {"operationId": "getHealth", "responses": {}}, resolver=resolver)
    me = OpenAPIOperation("get", "/me", {"operationId": "getMe", "responses": {}}, resolver=resolver)
    assert health.function is handlers.health.get_health
    assert me.function is not handlers.me.get_me and me.function.handles is handlers.me.get_me
    assert (health.operation_id, me.operation_id) == ("getHealth", "getMe")


def test_cors_preflight_response_is_the_hook_for_refusals():
    cors = framework.ProblemCORSMiddleware(app=None, allow_origins=["https://a.example"], allow_methods=["*"])
    refused = cors.preflight_response(Headers({"origin": "https://b.example", "access-control-request-method": "GET"}))
    assert refused.status_code == 400 and refused.media_type == "application/problem+json"
    assert "preflight_response" in inspect.getsource(CORSMiddleware.__call__)


def test_json_response_refuses_non_finite_numbers():
    with pytest.raises(ValueError):
        framework._json_response({"x": float("inf")})
    assert framework._json_response(({"x": 1}, 201)).status_code == 201


def test_large_body_work_nests_and_restores_collector_and_switch_interval():
    import gc
    import sys

    interval = sys.getswitchinterval()
    assert gc.isenabled()
    with framework._large_body_work:
        with framework._large_body_work:
            assert not gc.isenabled()
            assert sys.getswitchinterval() < interval
        assert not gc.isenabled()
    assert gc.isenabled() and sys.getswitchinterval() == interval


def test_framework_errors_become_domain_errors():
    from starlette.requests import Request

    handler = framework.framework_error_handler(framework.SpecPaths(framework_spec()))
    request = Request({"type": "http", "method": "PUT", "path": "/api/me", "headers": [], "query_string": b""})
    answer = handler(request, HTTPException(405))
    assert answer.status_code == 405 and '"error": "method_not_allowed"' in answer.body
    assert answer.headers["Allow"] == "GET"
    assert '"error": "error"' in handler(request, HTTPException(418)).body


def framework_spec():
    import pathlib

    return pathlib.Path(framework.__file__).with_name("openapi.yaml")


def test_swagger_ui_serves_the_spec_of_spec_for_prefix_from_its_endpoints():
    """AuthoredSpecAPI overrides _spec_for_prefix (what both documents are made of) and the two
    endpoints (to encode each once); the routes call the endpoints through self, and Swagger UI
    loads the JSON document's URL."""
    from connexion.middleware.swagger_ui import SwaggerUIAPI

    assert "endpoint=self._get_openapi_json" in inspect.getsource(SwaggerUIAPI.add_openapi_json)
    assert "endpoint=self._get_openapi_yaml" in inspect.getsource(SwaggerUIAPI.add_openapi_yaml)
    for endpoint in (SwaggerUIAPI._get_openapi_json, SwaggerUIAPI._get_openapi_yaml):
        assert inspect.iscoroutinefunction(endpoint)
        assert "self._spec_for_prefix(request)" in inspect.getsource(endpoint)
    assert "base_path + self.options.openapi_spec_path" in inspect.getsource(SwaggerUIAPI._get_swagger_ui_home)


def test_swagger_ui_base_path_for_prefix_is_the_request_root_path():
    from connexion.middleware.swagger_ui import SwaggerUIAPI
    from starlette.requests import Request

    request = Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/p/api/openapi.json",
            "root_path": "/p/api/",
            "headers": [],
            "query_string": b"",
        }
    )
    assert SwaggerUIAPI._base_path_for_prefix(None, request) == "/p/api"


def test_swagger_ui_middleware_add_api_is_what_authored_spec_ui_repeats():
    from connexion.middleware.swagger_ui import SwaggerUIMiddleware

    source = inspect.getsource(SwaggerUIMiddleware.add_api)
    assert "api = SwaggerUIAPI(" in source and "default=self.default_fn" in source
    assert "self.router.mount(api.base_path, app=api.router)" in source
    assert set(inspect.signature(SwaggerUIMiddleware.add_api).parameters) == {
        "self",
        "specification",
        "base_path",
        "arguments",
        "kwargs",
    }


def test_middlewares_are_connexions_with_authored_spec_ui_for_swagger_ui():
    from connexion.middleware.main import ConnexionMiddleware
    from connexion.middleware.swagger_ui import SwaggerUIMiddleware

    default = ConnexionMiddleware.default_middlewares
    assert default.count(SwaggerUIMiddleware) == 1
    at = default.index(SwaggerUIMiddleware)
    assert framework.MIDDLEWARES == [*default[:at], framework.AuthoredSpecUI, *default[at + 1 :]]


def test_specification_with_base_path_keeps_refs_in_raw_and_sets_servers():
    import json

    import yaml
    from connexion.spec import Specification

    authored = yaml.safe_load(framework_spec().read_text())
    specification = Specification.load(framework_spec())
    raw = specification.with_base_path("/p/api").raw
    assert raw == {**authored, "servers": [{"url": "/p/api"}]} and '"$ref"' in json.dumps(raw)
    assert '"$ref"' not in json.dumps(specification.spec)  # what Connexion routes with is resolved
    assert specification.raw == authored  # left as it was
