"""Property-based check of the served OpenAPI document: no 5xx, responses match their schemas."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from llama_workbench import Stack
from llama_workbench.server.runner import BackgroundServer, start_server
from tests.support.full_stack import full_stack_config
from tests.support.stub_server import StubOpenAIServer, free_port

EXAMPLES_PER_ROUTE = 25


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    with StubOpenAIServer(models=["m", "e"]) as stub:
        # Every API (files, vector stores, the RAG tool, responses, datasets, scoring, eval,
        # batches, file processors, connectors, admin) over the stub's 3-dimensional embeddings.
        config = full_stack_config(stub.base_url, tmp_path_factory.mktemp("schemathesis"))
        with Stack.from_config(config) as stack, start_server(stack, port=free_port()) as server:
            yield server


# Requests that are valid JSON but name a dimension the model doesn't make, an overlap larger
# than half the chunk, a file type no parser reads... are refused with 400/422 by design: the
# schema can't say so. Those routes keep every other check (no 5xx, responses match the schema).
_SEMANTIC = (
    "/v1/vector_stores",
    "/v1/vector-io",
    "/v1/tool-runtime",
    "/v1/files",
    "/v1/safety",
    "/v1/moderations",
    "/v1/shields",
    "/v1/responses",
    "/v1/conversations",
    "/v1/prompts",  # placeholders must be declared variables; versions count from 1
    "/v1beta/datasets",
    "/v1beta/datasetio",
    "/v1/scoring",
    "/v1alpha/eval",
    "/v1/batches",  # only the endpoints 0.7.3 serves; a batch's file is checked when it runs
    "/v1alpha/inference/rerank",  # text rerankers refuse image parts
    "/v1alpha/file-processors",  # the file must parse; chunking_strategy is JSON in a string
)


def _excluded(path: str, body: Any = None) -> list[Any]:
    # A chat's `file` parts must parse as documents (random bytes don't): refused by design.
    files = path == "/v1/chat/completions" and '"type": "file"' in json.dumps(body, default=str)
    return [positive_data_acceptance] if path.startswith(_SEMANTIC) or files else []


def test_every_route_against_its_schema(running: BackgroundServer) -> None:
    api = schemathesis.openapi.from_url(f"{running.url}/openapi.json")
    failures: list[str] = []
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_ROUTE,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(excluded_checks=_excluded(case.operation.path, case.body))

        try:
            check()
        except Exception as exc:
            failures.append(f"{operation.label}: {exc}")
    assert failures == [], "\n\n".join(failures)
