"""The Telemetry routes of a real server (telemetry on): property-based, no 5xx, schemas kept."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from llama_workbench import Stack
from llama_workbench.server.runner import BackgroundServer, start_server
from tests.support.stub_server import StubOpenAIServer, free_port, stub_stack_config


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    with StubOpenAIServer(models=["m"]) as stub:
        config = stub_stack_config(
            stub.base_url, tmp_path_factory.mktemp("telemetry"), telemetry={"enabled": True}
        )
        with Stack.from_config(config) as stack, start_server(stack, port=free_port()) as server:
            stack.inference.chat_completion(model="m", messages=[{"role": "user", "content": "x"}])
            yield server


def test_the_telemetry_routes_against_their_schema(running: BackgroundServer) -> None:
    api = schemathesis.openapi.from_url(f"{running.url}/openapi.json")
    every = [result.ok() for result in api.get_all_operations()]  # type: ignore[union-attr]
    operations = [op for op in every if op.path.startswith("/v1alpha/telemetry")]
    assert len(operations) == 6
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=30,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate()

        try:
            check()
        except Exception as exc:
            failures.append(f"{operation.label}: {exc}")
    assert failures == [], "\n\n".join(failures)


def test_a_traced_server_request_is_found_by_its_callers_trace_id(
    running: BackgroundServer,
) -> None:
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    headers: dict[str, Any] = {"traceparent": f"00-{trace_id}-b7ad6b7169203331-01"}
    body = {"model": "m", "messages": [{"role": "user", "content": "traced"}], "stream": True}
    with httpx.Client(base_url=running.url) as client:
        with client.stream("POST", "/v1/chat/completions", json=body, headers=headers) as reply:
            assert reply.status_code == 200
            lines = [line for line in reply.iter_lines() if line.startswith("data: ")]
        assert lines[-1] == "data: [DONE]"
        found = client.get(f"/v1alpha/telemetry/traces/{trace_id}").json()
    assert found["trace_id"] == trace_id and found["name"] == "inference.chat_completion"
    assert found["status"] == "ok"
