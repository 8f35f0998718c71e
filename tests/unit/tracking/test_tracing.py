"""Tracing of a real stack: nested spans of a Responses turn and a RAG query, usage, context."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

from llama_workbench import NotFoundError, Stack
from llama_workbench.apis.telemetry.models import SpanWithStatus
from tests.support.scripted_llm import ScriptedModelServer, Turn, call, say
from tests.support.stub_server import StubOpenAIServer
from tests.unit.tracking.conftest import EMBED_MODEL, MODEL, agent_config, embed_config

ECHO = "embed/stub-model"


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
    chat_server: ScriptedModelServer,
    embed_server: StubOpenAIServer,
) -> Iterator[Stack]:
    config = agent_config(tmp_path_factory.mktemp("traced"), chat_server, embed_server)
    with Stack.from_config(config) as built:
        yield built


@pytest.fixture(scope="module")
def store(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("docs") / "observatory.txt"
    path.write_text("The Orrin Ridge observatory was founded in 1911 by Mara Quell.")
    vector_store = stack.vector_io.create_vector_store(name="docs", embedding_model=EMBED_MODEL)
    uploaded = stack.files.upload_file(str(path))
    assert stack.vector_io.attach_file(vector_store.id, uploaded.id).status == "completed"
    return str(vector_store.id)


@pytest.fixture(autouse=True)
def _empty_script(chat_server: ScriptedModelServer) -> Iterator[None]:
    yield
    chat_server.script()


def last_tree(stack: Stack, name: str) -> list[SpanWithStatus]:
    """The spans of the newest trace whose root is `name`, in start order."""
    found = stack.telemetry.query_traces(
        attribute_filters=[{"key": "name", "op": "eq", "value": name}], limit=1
    ).data
    assert found, f"no trace named {name}"
    tree = stack.telemetry.get_span_tree(found[0].root_span_id).data
    return sorted(tree.values(), key=lambda s: s.start_time)


def children(spans: list[SpanWithStatus], parent: SpanWithStatus) -> list[str]:
    return [s.name for s in spans if s.parent_span_id == parent.span_id]


def only(spans: list[SpanWithStatus], name: str) -> SpanWithStatus:
    (span,) = [s for s in spans if s.name == name]
    return span


def _file_search_turn(stack: Stack, chat: ScriptedModelServer, store: str, **kw: Any) -> Any:
    chat.script(call("file_search", query="founded"), say("In 1911 then."))
    return stack.responses.create_response(
        model=MODEL,
        input="When was the observatory founded?",
        tools=[{"type": "file_search", "vector_store_ids": [store]}],
        guardrails=["blocklist"],
        **kw,
    )


def test_a_responses_turn_is_one_tree_of_nested_calls(
    stack: Stack, chat_server: ScriptedModelServer, store: str
) -> None:
    response = _file_search_turn(stack, chat_server, store)
    spans = last_tree(stack, "responses.create_response")
    root = spans[0]
    assert root.name == "responses.create_response" and root.parent_span_id is None
    assert {s.trace_id for s in spans} == {root.trace_id}
    turn = [
        n for n in children(spans, root) if n.split(".")[0] in ("inference", "vector_io", "safety")
    ]
    assert turn == [
        "vector_io.retrieve_vector_store",  # the tool's stores are checked first
        "safety.run_shield",  # input guardrail
        "inference.chat_completion",  # -> a file_search call
        "vector_io.search_vector_store",
        "inference.chat_completion",  # -> the answer
        "safety.run_shield",  # output guardrail
    ]
    search = only(spans, "vector_io.search_vector_store")
    assert children(spans, search) == ["inference.embeddings"]  # the query's embedding
    embed = only(spans, "inference.embeddings")
    assert embed.attributes == {
        **embed.attributes,
        "api": "inference",
        "method": "embeddings",
        "model_id": EMBED_MODEL,
        "provider_id": "embed",
        "status": "ok",
    }
    assert search.attributes["provider_id"] == "faiss"
    assert search.attributes["vector_store_id"] == store
    shields = [s for s in spans if s.name == "safety.run_shield"]
    assert {s.attributes["shield_id"] for s in shields} == {"blocklist"}
    assert {s.attributes["provider_id"] for s in shields} == {"regex"}
    assert root.attributes["root"] is True and "root" not in search.attributes
    assert root.attributes["provider_id"] == "builtin" and root.attributes["model_id"] == MODEL
    assert all(s.status == "ok" and s.end_time is not None for s in spans)
    assert all(s.attributes["latency_ms"] >= 0 for s in spans)
    assert root.end_time >= max(s.end_time for s in spans if s.end_time)  # type: ignore[operator]
    # Token usage: each model call's, and the turn's total.
    calls = [s for s in spans if s.name == "inference.chat_completion"]
    assert [(s.attributes["prompt_tokens"], s.attributes["completion_tokens"]) for s in calls] == [
        (10, 5),  # the scripted server counts 5 per tool call
        (10, 3),
    ]
    assert all(s.attributes["provider_id"] == "scripted" for s in calls)
    assert response.usage is not None
    assert (
        (root.attributes["prompt_tokens"], root.attributes["completion_tokens"])
        == (
            response.usage.input_tokens,
            response.usage.output_tokens,
        )
        == (20, 8)
    )


def test_a_streamed_turn_keeps_its_span_open_until_the_stream_ends(
    stack: Stack, chat_server: ScriptedModelServer, store: str
) -> None:
    events = list(_file_search_turn(stack, chat_server, store, stream=True))
    assert events[-1].type == "response.completed"
    spans = last_tree(stack, "responses.create_response")
    root = spans[0]
    assert root.attributes["stream"] is True
    assert root.attributes["time_to_first_chunk_ms"] <= root.attributes["latency_ms"]
    assert root.attributes["total_tokens"] == 28  # from the response.completed event
    names = children(spans, root)
    assert names.count("inference.chat_completion") == 2
    assert "vector_io.search_vector_store" in names
    assert all(s.end_time is not None and s.end_time <= root.end_time for s in spans)  # type: ignore[operator]
    streamed = [s for s in spans if s.name == "inference.chat_completion"]
    assert all(s.attributes["stream"] is True and s.attributes["total_tokens"] for s in streamed)


def test_the_rag_sub_api_and_plain_attributes_still_work(stack: Stack, store: str) -> None:
    result = stack.tool_runtime.rag.query(content="founded", vector_store_ids=[store])
    assert "1911" in str(result.content)
    assert "query" in dir(stack.tool_runtime.rag)
    spans = last_tree(stack, "tool_runtime.rag.query")
    assert [s.name for s in spans] == [
        "tool_runtime.rag.query",
        "vector_io.search_vector_store",
        "inference.embeddings",
    ]
    assert spans[0].attributes["method"] == "rag.query"
    assert spans[0].attributes["api"] == "tool_runtime"
    assert [s.parent_span_id for s in spans] == [None, spans[0].span_id, spans[1].span_id]
    # Attributes outside the Protocols pass through the proxy untouched.
    conversations = stack.impl("responses").conversations
    assert type(conversations).__name__ == "ConversationsStore"


def test_errors_are_recorded_with_their_type_and_status(stack: Stack) -> None:
    with pytest.raises(NotFoundError):
        stack.inference.chat_completion(model="nope", messages=[{"role": "user", "content": "x"}])
    (span,) = last_tree(stack, "inference.chat_completion")
    assert span.status == "error"
    assert span.attributes["error.type"] == "NotFoundError"
    assert span.attributes["error.status_code"] == 404
    assert "Model 'nope' not found" in span.attributes["error.message"]
    trace = stack.telemetry.get_trace(span.trace_id)
    assert trace.status == "error" and trace.root_span_id == span.span_id


def test_a_stream_closed_early_is_cancelled_not_failed(
    stack: Stack, chat_server: ScriptedModelServer
) -> None:
    chat_server.script(Turn(text="one two three four five six", delay_s=0.2))  # a slow model
    stream = stack.inference.chat_completion(
        model=MODEL, messages=[{"role": "user", "content": "count"}], stream=True
    )
    next(iter(stream))
    stream.close()
    (span,) = last_tree(stack, "inference.chat_completion")
    assert span.status == "cancelled" and "error.type" not in span.attributes


def test_usage_of_a_plain_call_and_a_stream_with_include_usage(
    stack: Stack, chat_server: ScriptedModelServer
) -> None:
    chat_server.script(say("a b c"), say("d e"))
    messages = [{"role": "user", "content": "x"}]
    stack.inference.chat_completion(model=MODEL, messages=messages)
    (plain,) = last_tree(stack, "inference.chat_completion")
    chunks = list(
        stack.inference.chat_completion(
            model=MODEL, messages=messages, stream=True, stream_options={"include_usage": True}
        )
    )
    assert chunks[-1].usage is not None
    (streamed,) = last_tree(stack, "inference.chat_completion")
    assert (plain.attributes["prompt_tokens"], plain.attributes["completion_tokens"]) == (10, 3)
    assert (streamed.attributes["prompt_tokens"], streamed.attributes["total_tokens"]) == (10, 12)
    assert plain.span_id != streamed.span_id


def test_traceparent_reaches_the_remote_provider(
    stack: Stack, embed_server: StubOpenAIServer
) -> None:
    stack.inference.embeddings(model=EMBED_MODEL, input=["hello"])
    (span,) = last_tree(stack, "inference.embeddings")
    sent = embed_server.requests[-1]["headers"]["traceparent"]
    version, trace_id, parent_id, flags = sent.split("-")
    assert (version, trace_id, parent_id) == ("00", span.trace_id, span.span_id)
    assert int(flags, 16) & 1  # sampled


def test_a_callers_span_parents_the_stack_span_across_the_bridge(stack: Stack) -> None:
    """The notebook's own OpenTelemetry span (another tracer) crosses into the loop thread."""
    tracer = TracerProvider().get_tracer("notebook")
    seen: dict[str, Any] = {}

    def cell(name: str) -> None:
        with tracer.start_as_current_span(name) as outer:
            stack.inference.embeddings(model=EMBED_MODEL, input=[name])
            seen[name] = outer.get_span_context()

    cell("main thread")
    worker = threading.Thread(target=cell, args=("worker thread",))
    worker.start()
    worker.join()
    found = stack.telemetry.query_traces(
        attribute_filters=[{"key": "name", "op": "eq", "value": "inference.embeddings"}], limit=2
    ).data
    for trace in found:
        span = stack.telemetry.get_span(trace.trace_id, trace.root_span_id)
        outer = next(c for c in seen.values() if f"{c.trace_id:032x}" == span.trace_id)
        assert span.parent_span_id == f"{outer.span_id:016x}"
        assert span.attributes and span.attributes["root"] is True
    assert len(found) == 2


async def test_the_async_face_nests_under_the_callers_span(stack: Stack) -> None:
    tracer = TracerProvider().get_tracer("notebook")
    with tracer.start_as_current_span("async cell") as outer:
        await stack.aio.inference.embeddings(model=EMBED_MODEL, input=["async"])
    found = (
        await stack.aio.telemetry.query_traces(
            attribute_filters=[{"key": "name", "op": "eq", "value": "inference.embeddings"}],
            limit=1,
        )
    ).data
    span = await stack.aio.telemetry.get_span(found[0].trace_id, found[0].root_span_id)
    assert span.trace_id == f"{outer.get_span_context().trace_id:032x}"
    assert span.parent_span_id == f"{outer.get_span_context().span_id:016x}"


def test_code_inside_a_call_sees_the_span_and_can_add_to_it(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The current OpenTelemetry span inside a call is the stack's: code there may annotate it."""
    from opentelemetry import trace

    from llama_workbench.tracking.spans import LiveSpan

    seen: list[Any] = []
    router = stack.impl("inference")._impl  # the router behind the proxy
    original = router.embeddings

    async def spy(request: Any) -> Any:
        span = trace.get_current_span()
        seen.append(span)
        span.set_attribute("spy.seen", True)
        span.add_event("spied", {"n": 1})
        # Threads that inline models compute in (asyncio.to_thread) see the same span.
        seen.append(await asyncio.to_thread(trace.get_current_span))
        return await original(request)

    monkeypatch.setattr(router, "embeddings", spy)
    stack.inference.embeddings(model=EMBED_MODEL, input=["spy"])
    (span,) = last_tree(stack, "inference.embeddings")
    assert isinstance(seen[0], LiveSpan) and not seen[0].is_recording()  # it has ended since
    assert seen[1] is seen[0]
    assert seen[0].events[0].name == "spied"
    assert span.attributes["spy.seen"] is True


def test_telemetry_off_adds_no_proxy(tmp_path: Path, embed_server: StubOpenAIServer) -> None:
    with Stack.from_config(embed_config(tmp_path, embed_server)) as plain:
        assert type(plain.impl("inference")).__name__ == "InferenceRouter"
        assert type(plain.impl("models")).__name__ == "ModelsRoutingTable"
        assert "telemetry" not in [a.value for a in plain.apis]
        with pytest.raises(AttributeError, match="not enabled"):
            plain.telemetry  # noqa: B018
        plain.inference.embeddings(model=EMBED_MODEL, input=["untraced"])
        assert "traceparent" not in embed_server.requests[-1]["headers"]
        assert not (tmp_path / "trace_store.db").exists()


def test_sampling_keeps_none_at_ratio_zero(tmp_path: Path, embed_server: StubOpenAIServer) -> None:
    config = embed_config(tmp_path, embed_server, enabled=True, sample_ratio=0.0)
    with Stack.from_config(config) as sampled:
        sampled.inference.embeddings(model=EMBED_MODEL, input=["dropped"])
        assert sampled.telemetry.query_traces().data == []
        # The decision travels with the context: the remote server is told "not sampled".
        assert embed_server.requests[-1]["headers"]["traceparent"].endswith("-00")


def test_echo_chat_through_the_remote_provider_is_traced(stack: Stack) -> None:
    reply = stack.inference.chat_completion(
        model=ECHO, messages=[{"role": "user", "content": "hi"}]
    )
    assert reply.choices[0].message.content == "echo: hi"
    (span,) = last_tree(stack, "inference.chat_completion")
    assert span.attributes["provider_id"] == "embed" and span.attributes["total_tokens"] == 5
