"""Our server against Llama Stack 0.7.3's contract as captured from a live server
(tests/data/reference): every one of its routes is served, and a minimal valid request to each
(its own /openapi.json's request schemas) passes request validation."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest

from llama_workbench import Stack
from llama_workbench.server.runner import BackgroundServer, start_server
from tests.support.full_stack import full_stack_config
from tests.support.stub_server import StubOpenAIServer, free_port

REFERENCE = Path(__file__).resolve().parents[2] / "data" / "reference"
ROUTES = REFERENCE / "llama-stack-0.7.3-routes.txt"
OPENAPI = REFERENCE / "llama-stack-0.7.3-openapi.json"
METHODS = ("get", "post", "put", "delete", "patch")


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    with StubOpenAIServer(models=["m", "e"]) as stub:
        config = full_stack_config(stub.base_url, tmp_path_factory.mktemp("reference"))
        with Stack.from_config(config) as stack, start_server(stack, port=free_port()) as server:
            yield server


def _route(method: str, path: str) -> tuple[str, str]:
    """(METHOD, path) with path parameters unnamed: /v1/models/{model_id:path} -> /v1/models/{}."""
    return method.upper(), re.sub(r"\{[^}]*\}", "{}", path)


def reference_routes() -> set[tuple[str, str]]:
    routes = set()
    for line in ROUTES.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            method, path = line.split("|")[0].split()
            routes.add(_route(method, path))
    return routes


@cache
def reference_openapi() -> dict[str, Any]:
    return dict(json.loads(OPENAPI.read_text()))


def test_the_reference_files_agree() -> None:
    paths = reference_openapi()["paths"]
    documented = {_route(m, p) for p, ops in paths.items() for m in ops if m in METHODS}
    assert documented == reference_routes() and len(documented) == 99


def test_no_route_of_0_7_3_is_missing(running: BackgroundServer) -> None:
    ours = httpx.get(f"{running.url}/openapi.json").json()["paths"]
    served = {_route(m, p) for p, ops in ours.items() for m in ops if m in METHODS}
    missing = sorted(reference_routes() - served)
    assert missing == [], f"{len(missing)} routes of Llama Stack 0.7.3 are not served: {missing}"
    # The inspect route lists them too: the active ones by default, the rest as deprecated.
    listed = set()
    for api_filter in (None, "deprecated"):
        params = {"api_filter": api_filter} if api_filter else {}
        data = httpx.get(f"{running.url}/v1/inspect/routes", params=params).json()["data"]
        listed |= {_route(r["method"], r["route"]) for r in data}
    assert sorted(reference_routes() - listed) == []


# -- minimal valid requests from 0.7.3's request schemas


def minimal(schema: dict[str, Any]) -> Any:
    """The smallest value `schema` accepts: required properties only, shortest strings, the
    first choice of a union, the least number."""
    schema = _resolved(schema)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [o for o in schema[key] if _resolved(o).get("type") != "null"]
            return minimal(options[0]) if options else None
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(_resolved(part))
        return minimal(merged)
    kind = schema.get("type", "object" if "properties" in schema else None)
    return _MINIMAL.get(kind, lambda s: None)(schema)


def _resolved(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = reference_openapi()["components"]["schemas"][schema["$ref"].split("/")[-1]]
    return schema


def _object(schema: dict[str, Any]) -> dict[str, Any]:
    properties = schema.get("properties", {})
    # Required ones, and the tags of tagged unions (`type: "text"`), which pick the variant.
    names = [
        n
        for n, s in properties.items()
        if n in schema.get("required", ()) or "const" in _resolved(s) or _single_enum(s)
    ]
    return {name: minimal(properties[name]) for name in names}


def _single_enum(schema: dict[str, Any]) -> bool:
    return len(_resolved(schema).get("enum", ())) == 1


def _number(schema: dict[str, Any]) -> float:
    low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
    return float(low) + (1 if "exclusiveMinimum" in schema else 0)


_MINIMAL: dict[str | None, Any] = {
    "object": _object,
    "array": lambda s: [minimal(s.get("items", {}))] * int(s.get("minItems", 0)),
    "string": lambda s: "x" * max(1, int(s.get("minLength", 1))),
    "integer": lambda s: int(_number(s)) or 1,
    "number": lambda s: _number(s) or 1.0,
    "boolean": lambda s: False,
    "null": lambda s: None,
}


def _request(method: str, path: str, op: dict[str, Any]) -> dict[str, Any]:
    """httpx.request keyword arguments of a minimal valid request to one operation."""
    url = re.sub(r"\{([^}:]*)(:path)?\}", "x", path)
    params = {
        p["name"]: minimal(p["schema"])
        for p in op.get("parameters", [])
        if p["in"] == "query" and p.get("required")
    }
    request: dict[str, Any] = {"method": method.upper(), "url": url, "params": params}
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        request["json"] = minimal(content["application/json"]["schema"])
    elif "multipart/form-data" in content:
        form = _resolved(content["multipart/form-data"]["schema"])
        data, files = {}, {}
        for name in form.get("required", []):
            field = _resolved(form["properties"][name])
            if "contentMediaType" in json.dumps(field) or field.get("format") == "binary":
                files[name] = ("minimal.txt", b"minimal", "text/plain")
            else:
                data[name] = minimal(field)
        request.update(data=data, files=files or None)
    return request


def _validation_refusal(response: httpx.Response) -> bool:
    """A 422, or our request-validation 400 (its `detail.errors`), not a semantic refusal."""
    if response.status_code == 422:
        return True
    try:
        body = response.json()
    except ValueError:
        return False
    detail = body.get("detail") if isinstance(body, dict) else None
    return response.status_code == 400 and isinstance(detail, dict) and "errors" in detail


# Valid in 0.7.3's schemas, refused by ours on purpose: an empty list where the operation needs
# at least one thing (0.7.3 accepts the request and does nothing with it).
KNOWN_REFUSALS = {
    ("POST", "/v1/vector_stores/{vector_store_id}/file_batches"): "file_ids: []",
    ("POST", "/v1/conversations/{conversation_id}/items"): "items: []",
    ("POST", "/v1/safety/run-shield"): "messages: []",
}


def test_minimal_valid_requests_pass_validation(running: BackgroundServer) -> None:
    refused: dict[tuple[str, str], str] = {}
    with httpx.Client(base_url=running.url, timeout=60) as client:
        for path, ops in reference_openapi()["paths"].items():
            for method, op in ops.items():
                if method not in METHODS:
                    continue
                request = _request(method, path, op)
                response = client.request(**request)
                if _validation_refusal(response):
                    sent = {k: v for k, v in request.items() if k in ("json", "data", "params")}
                    refused[(method.upper(), path)] = f"{sent}: {response.text[:300]}"
    unexpected = {k: v for k, v in refused.items() if k not in KNOWN_REFUSALS}
    assert unexpected == {}, f"{len(unexpected)} valid requests refused: {unexpected}"
    # When one of those is accepted, it leaves the list.
    assert set(refused) == set(KNOWN_REFUSALS)


def test_the_minimal_payloads_are_what_the_schemas_require() -> None:
    schemas = reference_openapi()["components"]["schemas"]
    rerank = minimal(schemas["RerankRequest"])
    assert rerank == {"model": "x", "query": "x", "items": ["x"]}
    assert minimal({"type": "integer", "minimum": 1}) == 1
    assert minimal({"anyOf": [{"type": "null"}, {"type": "string", "minLength": 3}]}) == "xxx"
