"""The Datasets and DatasetIO routes over HTTP: Llama Stack 0.7.3's paths and shapes, and errors."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from llama_workbench import Stack
from llama_workbench.apis.datasetio import routes as datasetio_routes
from llama_workbench.apis.datasets import routes as datasets_routes
from llama_workbench.server.app import create_app

ROUTES_TXT = Path(__file__).parents[2] / "data" / "reference" / "llama-stack-0.7.3-routes.txt"

# Property names and required ones of the reference's /openapi.json schemas ("+" marks ours).
SHAPES: dict[str, tuple[set[str], set[str]]] = {
    "Dataset": (
        {"identifier", "provider_resource_id", "provider_id", "type", "purpose", "source"}
        | {"metadata", "owner"},  # + owner (server auth), as on models and shields
        {"identifier", "provider_id", "purpose", "source"},
    ),
    "RegisterDatasetRequest": (
        {"purpose", "source", "metadata", "dataset_id", "provider_id"},  # + provider_id
        {"purpose", "source"},
    ),
    "URIDataSource": ({"type", "uri"}, {"uri"}),
    "RowsDataSource": ({"type", "rows"}, {"rows"}),
    "PaginatedResponse": ({"data", "has_more", "url"}, {"data", "has_more"}),
    "AppendRowsRequest": ({"rows"}, {"rows"}),
    "ListDatasetsResponse": ({"data"}, {"data"}),
}
QA = [{"question": f"q{i}", "answer": f"a{i}"} for i in range(5)]


def _shaped(body: dict[str, Any], schema: str) -> dict[str, Any]:
    properties, required = SHAPES[schema]
    assert required <= set(body) <= properties, (schema, sorted(body))
    return body


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    config = {
        "data_dir": str(tmp_path / "data"),
        "apis": ["datasetio"],
        "providers": {
            "datasetio": [
                {"provider_id": "localfs", "provider_type": "inline::localfs", "config": {}},
                {"provider_id": "hf", "provider_type": "remote::huggingface", "config": {}},
            ]
        },
    }
    with Stack.from_config(config) as s:
        yield s


@pytest.fixture
def app(stack: Stack) -> FastAPI:
    return create_app(stack)


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def test_paths_methods_summaries_and_deprecations_match_the_reference(stack: Stack) -> None:
    wanted = set()
    for line in ROUTES_TXT.read_text().splitlines():
        if line.startswith("#") or "/v1beta/dataset" not in line:
            continue
        method_path, _, rest = line.partition(" | ")
        method, path = method_path.split()
        _api, status, summary = rest.split(" | ")[:3]
        wanted.add((method, path, summary, status == "DEPRECATED"))
    routers = [
        datasets_routes.create_router(stack.aio.datasets),
        datasetio_routes.create_router(stack.aio.datasetio),
    ]
    served = {
        (method, route.path, route.summary, bool(route.deprecated))
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    }
    assert len(wanted) == 6 and served == wanted


def test_schemas_match_the_reference(app: FastAPI) -> None:
    schemas = app.openapi()["components"]["schemas"]
    for name, (properties, required) in SHAPES.items():
        assert set(schemas[name]["properties"]) == properties, name
        assert set(schemas[name].get("required", [])) == required, name
    purposes = schemas["DatasetPurpose"]["enum"]
    assert purposes == ["eval/question-answer", "eval/messages-answer", "post-training/messages"]
    source = schemas["RegisterDatasetRequest"]["properties"]["source"]
    assert source["discriminator"]["propertyName"] == "type"
    paths = app.openapi()["paths"]
    query = paths["/v1beta/datasetio/iterrows/{dataset_id}"]["get"]["parameters"]
    assert [p["name"] for p in query] == ["dataset_id", "start_index", "limit"]


async def test_register_list_get_and_unregister(http: httpx.AsyncClient, tmp_path: Path) -> None:
    path = tmp_path / "qa.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in QA))
    body = {
        "purpose": "eval/question-answer",
        "source": {"type": "uri", "uri": path.as_uri()},
        "dataset_id": "team/qa",  # ids may hold slashes: the routes take {dataset_id:path}
        "metadata": {"split": "dev"},
    }
    created = await http.post("/v1beta/datasets", json=body)
    assert created.status_code == 200, created.text
    dataset = _shaped(created.json(), "Dataset")
    assert dataset["type"] == "dataset" and dataset["provider_id"] == "localfs"
    assert _shaped(dataset["source"], "URIDataSource") == {"type": "uri", "uri": path.as_uri()}
    rows = await http.post(
        "/v1beta/datasets",
        json={"purpose": "eval/question-answer", "source": {"type": "rows", "rows": QA[:2]}},
    )
    generated = rows.json()["identifier"]
    assert generated.startswith("dataset-")
    assert _shaped(rows.json()["source"], "RowsDataSource")["rows"] == QA[:2]
    listed = _shaped((await http.get("/v1beta/datasets")).json(), "ListDatasetsResponse")
    assert [d["identifier"] for d in listed["data"]] == sorted([generated, "team/qa"])
    got = await http.get("/v1beta/datasets/team/qa")
    assert got.status_code == 200 and got.json() == dataset
    deleted = await http.delete("/v1beta/datasets/team/qa")
    assert deleted.status_code == 200
    gone = await http.get("/v1beta/datasets/team/qa")
    assert gone.status_code == 404
    assert gone.json()["error"]["message"] == (
        f"Dataset 'team/qa' not found. Available: {generated}."
    )


async def test_iterrows_and_append_rows(http: httpx.AsyncClient) -> None:
    await http.post(
        "/v1beta/datasets",
        json={"purpose": "eval/question-answer", "source": {"rows": QA}, "dataset_id": "qa"},
    )
    page = await http.get("/v1beta/datasetio/iterrows/qa", params={"start_index": 1, "limit": 2})
    assert _shaped(page.json(), "PaginatedResponse") == {
        "data": QA[1:3],
        "has_more": True,
        "url": None,
    }
    extra = [{"question": "q5", "answer": "a5"}]
    appended = await http.post("/v1beta/datasetio/append-rows/qa", json={"rows": extra})
    assert appended.status_code == 204 and appended.content == b""
    rest = (await http.get("/v1beta/datasetio/iterrows/qa", params={"start_index": 4})).json()
    assert rest == {"data": [QA[4], *extra], "has_more": False, "url": None}
    every = (await http.get("/v1beta/datasetio/iterrows/qa", params={"limit": -1})).json()
    assert len(every["data"]) == 6 and not every["has_more"]


def _error_cases(tmp_path: Path) -> list[tuple[str, str, dict[str, Any], int, str]]:
    """(method, url, request kwargs, status, a part of the message) after registering 'qa'."""
    return [
        (
            "GET",
            "/v1beta/datasetio/iterrows/nope",
            {},
            404,
            "Dataset 'nope' not found. Available: qa.",
        ),
        (
            "POST",
            "/v1beta/datasetio/append-rows/nope",
            {"json": {"rows": QA}},
            404,
            "Available: qa",
        ),
        ("DELETE", "/v1beta/datasets/nope", {}, 404, "Available: qa"),
        (
            "GET",
            "/v1beta/datasetio/iterrows/qa",
            {"params": {"start_index": -1}},
            400,
            "start_index must be >= 0, got -1.",
        ),
        (
            "POST",
            "/v1beta/datasets",
            {"json": {"purpose": "eval/question-answer", "source": {"rows": [{"q": 1}]}}},
            400,
            "does not fit purpose 'eval/question-answer': no question column",
        ),
        (
            "POST",
            "/v1beta/datasets",
            {
                "json": {
                    "purpose": "eval/question-answer",
                    "source": {"uri": str(tmp_path / "x.csv")},
                }
            },
            400,
            "x.csv does not exist.",
        ),
        (
            "POST",
            "/v1beta/datasetio/append-rows/qa",
            {"json": {"rows": [{"prompt": "p"}]}},
            400,
            "Rows appended to dataset 'qa' do not fit purpose",
        ),
        (
            "POST",
            "/v1beta/datasets",
            {
                "json": {
                    "purpose": "eval/question-answer",
                    "source": {"rows": QA},
                    "dataset_id": "qa",
                    "metadata": {"v": 2},
                }
            },
            409,
            "Dataset 'qa' is already registered with another purpose or metadata",
        ),
        (
            "POST",
            "/v1beta/datasets",
            {"json": {"purpose": "chat", "source": {"rows": QA}}},
            400,
            "purpose",
        ),
        ("POST", "/v1beta/datasetio/append-rows/qa", {"json": {"rows": "x"}}, 400, "rows"),
        (
            "POST",
            "/v1beta/datasets",
            {"json": {"purpose": "eval/question-answer", "source": {"uri": "hf://nobody/nothing"}}},
            503,
            "is not a local path and this provider is offline",
        ),
    ]


async def test_errors(http: httpx.AsyncClient, tmp_path: Path) -> None:
    await http.post(
        "/v1beta/datasets",
        json={"purpose": "eval/question-answer", "source": {"rows": QA}, "dataset_id": "qa"},
    )
    for method, url, kwargs, status, text in _error_cases(tmp_path):
        response = await http.request(method, url, **kwargs)
        assert response.status_code == status, (url, response.text)
        assert text in response.json()["error"]["message"], (url, response.text)
    listed = (await http.get("/v1beta/datasets")).json()["data"]
    assert [d["identifier"] for d in listed] == ["qa"]
