"""The Telemetry API: trace and span queries, span trees, metrics, the DataFrame and REST routes."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from llama_workbench import BadRequestError, ConfigError, NotFoundError, Stack, UnprocessableError
from llama_workbench.core.config import load_config
from llama_workbench.server.app import create_app
from tests.support.stub_server import StubOpenAIServer
from tests.unit.tracking.conftest import EMBED_MODEL, embed_config

ECHO = "embed/stub-model"
HI = [{"role": "user", "content": "hi there"}]


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, embed_server: StubOpenAIServer
) -> Iterator[Stack]:
    """Three chats, two embeddings and one failure, recorded before the tests look."""
    config = embed_config(tmp_path_factory.mktemp("api"), embed_server, enabled=True)
    with Stack.from_config(config) as built:
        for _ in range(3):
            built.inference.chat_completion(model=ECHO, messages=HI)
        built.inference.embeddings(model=EMBED_MODEL, input=["a", "b"])
        built.inference.embeddings(model=EMBED_MODEL, input=["c"])
        with pytest.raises(NotFoundError):
            built.inference.chat_completion(model="missing", messages=HI)
        built.models.list()
        yield built


def _eq(key: str, value: Any, op: str = "eq") -> dict[str, Any]:
    return {"key": key, "op": op, "value": value}


def test_query_traces_filters_orders_and_pages(stack: Stack) -> None:
    everything = stack.telemetry.query_traces().data
    assert [t.name for t in everything][:2] == ["models.list", "inference.chat_completion"]
    assert all(a.start_time >= b.start_time for a, b in itertools.pairwise(everything))
    chats = stack.telemetry.query_traces(attribute_filters=[_eq("model_id", ECHO)]).data
    assert len(chats) == 3 and {t.status for t in chats} == {"ok"}
    failed = stack.telemetry.query_traces(attribute_filters=[_eq("status", "error")]).data
    assert [t.name for t in failed] == ["inference.chat_completion"]
    not_ok = stack.telemetry.query_traces(attribute_filters=[_eq("status", "ok", "ne")]).data
    assert [t.trace_id for t in not_ok] == [t.trace_id for t in failed]
    two_inputs = stack.telemetry.query_traces(
        attribute_filters=[_eq("method", "embeddings"), _eq("prompt_tokens", 1, "gt")]
    ).data
    assert len(two_inputs) == 1  # the stub counts one token per input
    oldest = stack.telemetry.query_traces(order_by=["start_time"], limit=2).data
    assert [t.trace_id for t in oldest] == [t.trace_id for t in everything[::-1][:2]]
    page = stack.telemetry.query_traces(limit=2, offset=2).data
    assert [t.trace_id for t in page] == [t.trace_id for t in everything[2:4]]
    assert stack.telemetry.query_traces(start_time=time.time() + 60).data == []
    assert len(stack.telemetry.query_traces(end_time=time.time()).data) == len(everything)


def test_bad_queries_are_clear_errors(stack: Stack) -> None:
    with pytest.raises(UnprocessableError, match=r"order_by\[0\] = 'cost'.*start_time\|end_time"):
        stack.telemetry.query_traces(order_by=["cost"])
    with pytest.raises(UnprocessableError, match=r"attribute_filters\[0\]\.key"):
        stack.telemetry.query_traces(attribute_filters=[_eq('a"b', 1)])
    with pytest.raises(UnprocessableError, match=r"attribute_filters\[0\]\.value"):
        stack.telemetry.query_traces(attribute_filters=[_eq("n", {"a": 1})])
    assert stack.telemetry.query_traces(attribute_filters=[_eq("n", 2**70)]).data == []
    assert stack.telemetry.query_traces(start_time=-1e300, end_time=1e300).data  # clamped
    with pytest.raises(NotFoundError, match="Trace 'f00' not found"):
        stack.telemetry.get_trace("f00")
    with pytest.raises(NotFoundError, match="Span"):
        stack.telemetry.get_span_tree("0000000000000000")


def test_get_trace_span_and_tree(stack: Stack) -> None:
    (trace,) = stack.telemetry.query_traces(limit=1, attribute_filters=[_eq("model_id", ECHO)]).data
    assert stack.telemetry.get_trace(trace.trace_id) == trace
    span = stack.telemetry.get_span(trace.trace_id, trace.root_span_id)
    assert span.name == "inference.chat_completion" and span.attributes
    assert span.attributes["provider_id"] == "embed" and span.attributes["completion_tokens"] == 3
    with pytest.raises(NotFoundError):
        stack.telemetry.get_span("0" * 32, trace.root_span_id)
    tree = stack.telemetry.get_span_tree(
        trace.root_span_id, attributes_to_return=["model_id", "status"], max_depth=0
    ).data
    assert list(tree) == [trace.root_span_id]
    assert tree[trace.root_span_id].attributes == {"model_id": ECHO, "status": "ok"}
    assert tree[trace.root_span_id].status == "ok"


def test_query_spans_returns_the_trees_of_matching_traces(stack: Stack) -> None:
    spans = stack.telemetry.query_spans(
        attribute_filters=[_eq("method", "embeddings")], attributes_to_return=["model_id"]
    ).data
    assert [s.name for s in spans] == ["inference.embeddings"] * 2
    assert {s.attributes["model_id"] for s in spans if s.attributes} == {EMBED_MODEL}


def test_query_metrics_tokens_requests_errors_and_latency(stack: Stack) -> None:
    def series(metric: str, **kw: Any) -> dict[tuple[str, ...], list[float]]:
        data = stack.telemetry.query_metrics(metric_name=metric, **kw).data
        return {
            tuple(f"{label.name}={label.value}" for label in s.labels): [p.value for p in s.values]
            for s in data
        }

    chat = ("api=inference", "method=chat_completion", f"model_id={ECHO}", "provider_id=embed")
    embed = ("api=inference", "method=embeddings", f"model_id={EMBED_MODEL}", "provider_id=embed")
    assert series("prompt_tokens")[chat] == [9.0]  # 3 x 3
    assert series("completion_tokens")[chat] == [9.0]  # "echo: hi there" is 3 words, 3 times
    assert series("total_tokens")[embed] == [3.0]
    requests = series("requests")
    assert requests[chat] == [3.0] and requests[embed] == [2.0]
    # With one inference provider, every inference call is labelled with it.
    missing = ("api=inference", "method=chat_completion", "model_id=missing", "provider_id=embed")
    assert requests[missing] == [1.0]
    assert requests[("api=models", "method=list", "provider_id=embed")] == [1.0]
    errors = series("errors", label_matchers=[{"name": "model_id", "value": "missing"}])
    assert list(errors.values()) == [[1.0]]
    p50, p95 = series("latency_p50_ms")[chat][0], series("latency_p95_ms")[chat][0]
    assert 0 < p50 <= p95
    only_embed = series(
        "requests", label_matchers=[{"name": "method", "value": "emb.*", "operator": "=~"}]
    )
    assert list(only_embed) == [embed]
    not_models = series(
        "requests", label_matchers=[{"name": "api", "value": "models", "operator": "!="}]
    )
    assert all("api=inference" in key for key in not_models)
    buckets = stack.telemetry.query_metrics(metric_name="requests", granularity="1s").data
    assert sum(p.value for s in buckets for p in s.values) == 7
    assert all(p.timestamp <= time.time() and p.unit == "count" for s in buckets for p in s.values)
    instant = stack.telemetry.query_metrics(
        metric_name="requests", query_type="instant", start_time=time.time() - 3600
    ).data
    assert {len(s.values) for s in instant} == {1}
    assert series("requests", start_time=time.time() + 60) == {}
    with pytest.raises(UnprocessableError, match="granularity"):
        stack.telemetry.query_metrics(metric_name="requests", granularity="often")
    with pytest.raises(UnprocessableError, match="label_matchers"):
        stack.telemetry.query_metrics(
            metric_name="requests", label_matchers=[{"name": "x", "value": "y"}]
        )


def test_metrics_frame_for_a_dashboard(stack: Stack) -> None:
    frame = stack.telemetry.metrics_frame()
    assert list(frame.columns) == [
        "api",
        "method",
        "model_id",
        "provider_id",
        "requests",
        "errors",
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "latency_p50_ms",
        "latency_p95_ms",
    ]
    first = frame.iloc[0]
    assert (first["method"], first["model_id"], first["requests"]) == ("chat_completion", ECHO, 3)
    assert first["prompt_tokens"] == 9 and first["errors"] == 0
    by_model = stack.telemetry.metrics_frame(group_by=["model_id"])
    assert by_model.set_index("model_id").loc["missing", "errors"] == 1
    assert stack.telemetry.metrics_frame(start_time=time.time() + 60).empty
    with pytest.raises(BadRequestError, match="group_by"):
        stack.telemetry.metrics_frame(group_by=["color"])


# ----------------------------------------------------------------------------- REST


@pytest.fixture
async def http(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(create_app(stack))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_the_v1alpha_routes(http: httpx.AsyncClient) -> None:
    base = "/v1alpha/telemetry"
    traces = (await http.post(f"{base}/traces", json={"limit": 2})).json()["data"]
    assert len(traces) == 2 and traces[0]["name"] == "models.list"
    first = traces[1]
    trace = (await http.get(f"{base}/traces/{first['trace_id']}")).json()
    assert trace == first
    span = (
        await http.get(f"{base}/traces/{first['trace_id']}/spans/{first['root_span_id']}")
    ).json()
    assert span["span_id"] == first["root_span_id"] and span["attributes"]["api"] == "inference"
    tree = (await http.post(f"{base}/spans/{first['root_span_id']}/tree", json={})).json()["data"]
    assert list(tree) == [first["root_span_id"]]
    assert tree[first["root_span_id"]]["status"] == first["status"] == "error"  # the unknown model
    body = {"attribute_filters": [_eq("model_id", ECHO)], "attributes_to_return": ["model_id"]}
    spans = (await http.post(f"{base}/spans", json=body)).json()["data"]
    assert len(spans) == 3
    metrics = (await http.post(f"{base}/metrics/prompt_tokens", json={"granularity": "1h"})).json()
    assert metrics["data"][0]["metric"] == "prompt_tokens"
    missing = await http.get(f"{base}/traces/{'0' * 32}")
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found"
    unknown = await http.post(f"{base}/metrics/happiness", json={})
    assert unknown.status_code == 400


async def test_an_incoming_traceparent_continues_the_callers_trace(
    http: httpx.AsyncClient, stack: Stack
) -> None:
    caller_trace, caller_span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    headers = {"traceparent": f"00-{caller_trace}-{caller_span}-01"}
    reply = await http.post(
        "/v1/chat/completions", json={"model": ECHO, "messages": HI}, headers=headers
    )
    assert reply.status_code == 200
    found = (await stack.aio.telemetry.query_traces(limit=1)).data[0]
    assert found.trace_id == caller_trace
    span = await stack.aio.telemetry.get_span(caller_trace, found.root_span_id)
    assert span.parent_span_id == caller_span


def test_traces_need_the_sqlite_sink(tmp_path: Path, embed_server: StubOpenAIServer) -> None:
    config = embed_config(tmp_path, embed_server, enabled=True, sinks=["console"])
    with (
        Stack.from_config(config) as console_only,
        pytest.raises(BadRequestError, match=r"add 'sqlite' to telemetry\.sinks"),
    ):
        console_only.telemetry.query_traces()


def test_the_telemetry_section(tmp_path: Path) -> None:
    config = load_config({"telemetry": {"enabled": True, "sinks": ["otel_trace", "sqlite"]}})
    assert config.telemetry.sinks == ["otlp", "sqlite"]
    assert load_config({"telemetry": None}).telemetry.enabled is False
    assert config.telemetry.sqlite_path(tmp_path) == tmp_path / "trace_store.db"
    with pytest.raises(ConfigError, match=r"telemetry.sinks\[0\]"):
        load_config({"telemetry": {"enabled": True, "sinks": ["jaeger"]}})
    with pytest.raises(ConfigError, match=r"telemetry\.sample_rate is not a known setting"):
        load_config({"telemetry": {"sample_rate": 0.5}})
    with pytest.raises(ConfigError, match=r"'telemetry' needs `telemetry: \{enabled: true\}`"):
        Stack.from_config({"data_dir": str(tmp_path), "apis": ["telemetry"]})
    with Stack.from_config(
        {"data_dir": str(tmp_path), "apis": ["telemetry"], "telemetry": {"enabled": True}}
    ) as bare:
        built_in = ["admin", "connectors", "inspect", "prompts", "providers", "telemetry"]
        assert [a.value for a in bare.apis] == built_in
        assert bare.telemetry.query_traces().data == []
