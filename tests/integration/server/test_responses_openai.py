"""The Responses and Conversations APIs through the openai SDK, against our server on 127.0.0.1.

The model is a scripted OpenAI-compatible server emitting tool calls deterministically; the
vector store (faiss + MiniLM), the shields (regex) and the MCP servers (stdio and streamable
HTTP, started here) are real.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from llama_workbench import Stack
from llama_workbench.server.runner import BackgroundServer, start_server
from tests.support.mcp_server import McpHttpServer, stdio_endpoint
from tests.support.rag import rag_config
from tests.support.scripted_llm import Call, ScriptedModelServer, Turn, call, calls, say
from tests.support.stub_server import free_port
from tests.support.waiting import wait_until

MODEL = "scripted/scripted-model"
ADD = {
    "type": "function",
    "name": "add",
    "description": "Add two integers.",
    "parameters": {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    },
}
DOCS = {
    "lighthouse.txt": "The Keldmouth lighthouse was first lit in 1842 and burns whale oil.",
    "bees.txt": "Bramblecomb hives are inspected every ninth day in summer.",
}


def stack_config(data_dir: Path, model: ScriptedModelServer, mcp_url: str) -> dict[str, Any]:
    config = rag_config(data_dir)
    config["apis"] += ["responses", "safety"]
    config["providers"]["inference"].append(model.provider_config())
    config["providers"]["tool_runtime"].append(
        {
            "provider_id": "mcp",
            "provider_type": "remote::model-context-protocol",
            "config": {"servers": [{"toolgroup_id": "mcp::local", **stdio_endpoint()}]},
        }
    )
    config["providers"]["responses"] = [
        {"provider_id": "builtin", "provider_type": "inline::builtin"}
    ]
    config["providers"]["safety"] = [
        {
            "provider_id": "regex",
            "provider_type": "inline::regex",
            "config": {"blocked_words": ["nerve agent"], "message": "Blocked: {rules}."},
        }
    ]
    config["registered_resources"] = {
        "shields": [{"shield_id": "blocklist", "provider_id": "regex"}]
    }
    return config


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        yield server


@pytest.fixture(scope="module")
def mcp_url() -> Iterator[str]:
    with McpHttpServer() as url:
        yield url


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("responses")


@pytest.fixture(scope="module")
def stack(data_dir: Path, model: ScriptedModelServer, mcp_url: str) -> Iterator[Stack]:
    with Stack.from_config(stack_config(data_dir, model, mcp_url)) as built:
        yield built


@pytest.fixture(scope="module")
def server(stack: Stack) -> Iterator[BackgroundServer]:
    with start_server(stack, port=free_port()) as running:
        yield running


@pytest.fixture
def client(server: BackgroundServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="none", max_retries=0)


@pytest.fixture(scope="module")
def store_id(stack: Stack) -> str:
    store = stack.vector_io.create_vector_store(name="docs")
    for name, text in DOCS.items():
        uploaded = stack.files.upload_file(file=text.encode(), filename=name)
        stack.vector_io.attach_file(vector_store_id=store.id, file_id=uploaded.id)
    return str(store.id)


def test_plain_response(client: openai.OpenAI, model: ScriptedModelServer) -> None:
    model.script(say("Hello there."))
    response = client.responses.create(model=MODEL, input="hi", instructions="Be brief.")
    assert response.status == "completed" and response.output_text == "Hello there."
    assert response.usage is not None and response.usage.output_tokens == 2
    sent = model.requests[-1]["messages"]
    assert sent == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
    ]


def test_stream_event_order(client: openai.OpenAI, model: ScriptedModelServer) -> None:
    model.script(say("one two three"))
    events = list(client.responses.create(model=MODEL, input="count", stream=True))
    kinds = [e.type for e in events]
    assert kinds == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == (
        "one two three"
    )
    final = events[-1].response  # type: ignore[union-attr]
    assert final.output_text == "one two three"
    assert client.responses.retrieve(final.id).output_text == "one two three"


def test_function_calling_loop_with_the_client(
    client: openai.OpenAI, model: ScriptedModelServer
) -> None:
    model.script(call("add", a=2, b=3), call("add", a=5, b=10), say("The sum is 15."))
    response = client.responses.create(model=MODEL, input="2+3+10?", tools=[ADD])
    for expected in ({"a": 2, "b": 3}, {"a": 5, "b": 10}):
        (fc,) = response.output
        assert fc.type == "function_call" and json.loads(fc.arguments) == expected
        output = str(sum(json.loads(fc.arguments).values()))
        response = client.responses.create(
            model=MODEL,
            previous_response_id=response.id,
            input=[{"type": "function_call_output", "call_id": fc.call_id, "output": output}],
            tools=[ADD],
        )
    assert response.output_text == "The sum is 15."
    roles = [m["role"] for m in model.requests[-1]["messages"]]
    assert roles == ["user", "assistant", "tool", "assistant", "tool"]
    assert model.requests[-1]["messages"][-1]["content"] == "15"


def test_streamed_function_call_arguments(
    client: openai.OpenAI, model: ScriptedModelServer
) -> None:
    model.script(call("add", a=20, b=22))
    events = list(client.responses.create(model=MODEL, input="add", tools=[ADD], stream=True))
    kinds = [e.type for e in events]
    assert kinds[2] == "response.output_item.added"
    deltas = [e.delta for e in events if e.type == "response.function_call_arguments.delta"]
    assert len(deltas) >= 2 and json.loads("".join(deltas)) == {"a": 20, "b": 22}
    assert kinds[-3:] == [
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]


def test_file_search_over_a_real_vector_store(
    client: openai.OpenAI, model: ScriptedModelServer, store_id: str
) -> None:
    model.script(
        call("file_search", query="when was the lighthouse first lit"), say("In 1842 [1].")
    )
    response = client.responses.create(
        model=MODEL,
        input="When was the lighthouse first lit?",
        tools=[{"type": "file_search", "vector_store_ids": [store_id], "max_num_results": 1}],
    )
    search, answer = response.output
    assert search.type == "file_search_call" and search.status == "completed"
    assert search.queries == ["when was the lighthouse first lit"]
    assert [r.filename for r in search.results or []] == ["lighthouse.txt"]
    tool_message = model.requests[-1]["messages"][-1]
    assert tool_message["role"] == "tool" and "1842" in tool_message["content"]
    (citation,) = answer.content[0].annotations  # type: ignore[union-attr]
    assert citation.filename == "lighthouse.txt" and citation.index == len("In 1842 ")


def test_mcp_over_http_in_a_multi_step_loop(
    client: openai.OpenAI, model: ScriptedModelServer, mcp_url: str
) -> None:
    model.script(
        call("get_weather", city="Paris"),
        calls(Call("add", {"a": 1, "b": 2}), Call("get_weather", {"city": "Atlantis"})),
        say("Done."),
    )
    tool = {"type": "mcp", "server_label": "local", "server_url": mcp_url}
    response = client.responses.create(model=MODEL, input="weather?", tools=[tool])
    kinds = [item.type for item in response.output]
    assert kinds == ["mcp_list_tools", "mcp_call", "mcp_call", "mcp_call", "message"]
    listed = {t.name for t in response.output[0].tools}  # type: ignore[union-attr]
    assert {"get_weather", "add", "lookup_order"} <= listed
    weather, added, unknown = response.output[1:4]
    assert "Paris" in (weather.output or "") and weather.error is None  # type: ignore[union-attr]
    assert added.output == "3"  # type: ignore[union-attr]
    assert unknown.error and "Atlantis" in unknown.error  # type: ignore[union-attr]
    assert response.output_text == "Done."


def test_mcp_over_stdio_and_allowed_tools(
    client: openai.OpenAI, model: ScriptedModelServer
) -> None:
    model.script(call("add", a=40, b=2), say("42"))
    tool = {"type": "mcp", "server_label": "local", "allowed_tools": ["add"]}
    events = list(client.responses.create(model=MODEL, input="40+2", tools=[tool], stream=True))
    kinds = [e.type for e in events]
    for expected in (
        "response.mcp_list_tools.in_progress",
        "response.mcp_list_tools.completed",
        "response.mcp_call.arguments.delta",
        "response.mcp_call.arguments.done",
        "response.mcp_call.in_progress",
        "response.mcp_call.completed",
    ):
        assert expected in kinds
    assert kinds.index("response.mcp_call.completed") < kinds.index("response.output_text.delta")
    final = events[-1].response  # type: ignore[union-attr]
    assert [t.name for t in final.output[0].tools] == ["add"]
    assert final.output[1].output == "42"
    offered = [t["function"]["name"] for t in model.requests[-1]["tools"]]
    assert offered == ["add"]


def test_shield_stops_a_turn(client: openai.OpenAI, model: ScriptedModelServer) -> None:
    before = len(model.requests)
    response = client.responses.create(
        model=MODEL, input="how do I make a nerve agent", extra_body={"guardrails": ["blocklist"]}
    )
    (message,) = response.output
    assert message.type == "message" and message.content[0].type == "refusal"
    assert "nerve agent" in message.content[0].refusal  # type: ignore[union-attr]
    assert len(model.requests) == before  # the model was never asked


def test_output_shield_replaces_the_answer(
    client: openai.OpenAI, model: ScriptedModelServer
) -> None:
    model.script(say("Here is how to make a nerve agent"))
    events = list(
        client.responses.create(
            model=MODEL, input="chemistry?", extra_body={"guardrails": ["blocklist"]}, stream=True
        )
    )
    kinds = [e.type for e in events]
    assert "response.output_text.delta" not in kinds and "response.refusal.done" in kinds
    assert events[-1].response.output[0].content[0].type == "refusal"  # type: ignore[union-attr]


def test_conversations_carry_turns(client: openai.OpenAI, model: ScriptedModelServer) -> None:
    conversation = client.conversations.create(metadata={"topic": "greetings"})
    model.script(say("Hi Ada."), say("Your name is Ada."))
    client.responses.create(model=MODEL, input="I am Ada.", conversation=conversation.id)
    second = client.responses.create(model=MODEL, input="Who am I?", conversation=conversation.id)
    assert second.output_text == "Your name is Ada."
    assert [m["content"] for m in model.requests[-1]["messages"]] == [
        "I am Ada.",
        "Hi Ada.",
        "Who am I?",
    ]
    items = client.conversations.items.list(conversation.id, order="asc")
    assert [i.role for i in items.data] == ["user", "assistant", "user", "assistant"]  # type: ignore[union-attr]
    assert client.conversations.retrieve(conversation.id).metadata == {"topic": "greetings"}
    client.conversations.items.create(
        conversation.id, items=[{"type": "message", "role": "user", "content": "added by hand"}]
    )
    model.script(say("ok"))
    client.responses.create(model=MODEL, input="and now?", conversation=conversation.id)
    assert model.requests[-1]["messages"][-2]["content"] == "added by hand"
    assert client.conversations.delete(conversation.id).deleted
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model=MODEL, input="x", conversation=conversation.id)


def test_list_input_items_and_delete(client: openai.OpenAI, model: ScriptedModelServer) -> None:
    model.script(say("noted"))
    response = client.responses.create(
        model=MODEL,
        input=[
            {"type": "message", "role": "user", "content": "first"},
            {"type": "message", "role": "user", "content": "second"},
        ],
        metadata={"run": "t1"},
    )
    items = client.responses.input_items.list(response.id, order="asc")
    assert [i.content for i in items.data] == ["first", "second"]  # type: ignore[union-attr]
    listed = client.responses.with_raw_response.retrieve(response.id).http_response.json()
    assert listed["metadata"] == {"run": "t1"}
    assert client.responses.delete(response.id) is None
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)


def test_errors_are_clear(client: openai.OpenAI, model: ScriptedModelServer) -> None:
    with pytest.raises(openai.NotFoundError, match="nope"):
        client.responses.create(model="nope", input="x")
    with pytest.raises(openai.BadRequestError, match="not both"):
        client.responses.create(
            model=MODEL, input="x", previous_response_id="resp_1", conversation="conv_1"
        )
    with pytest.raises(openai.BadRequestError, match="'web_search' needs a web search provider"):
        client.responses.create(model=MODEL, input="x", tools=[{"type": "web_search"}])
    with pytest.raises(openai.NotFoundError, match="vs_missing"):
        client.responses.create(
            model=MODEL,
            input="x",
            tools=[{"type": "file_search", "vector_store_ids": ["vs_missing"]}],
        )
    with pytest.raises(openai.NotFoundError):
        client.responses.create(
            model=MODEL, input="x", extra_body={"guardrails": ["no-such-shield"]}
        )


def test_max_infer_iters_leaves_it_incomplete(stack: Stack, model: ScriptedModelServer) -> None:
    model.script(*[call("get_weather", city="Paris")] * 3)
    response = stack.responses.create_response(
        model=MODEL,
        input="loop",
        tools=[{"type": "mcp", "server_label": "local"}],
        max_infer_iters=2,
    )
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_infer_iters"
    assert [i.type for i in response.output].count("mcp_call") == 2
    model.script()


def test_responses_survive_a_restart(
    server: BackgroundServer, data_dir: Path, model: ScriptedModelServer, mcp_url: str
) -> None:
    model.script(say("The code word is heron."))
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="none", max_retries=0)
    first = client.responses.create(model=MODEL, input="Remember the code word.")
    conversation = client.conversations.create()
    client.responses.create(model=MODEL, input="in a conversation", conversation=conversation.id)
    with Stack.from_config(stack_config(data_dir, model, mcp_url)) as again:
        assert again.responses.retrieve_response(first.id).output_text == "The code word is heron."
        model.script(say("heron"))
        follow = again.responses.create_response(
            model=MODEL, input="What was it?", previous_response_id=first.id
        )
        assert follow.output_text == "heron"
        assert [m["content"] for m in model.requests[-1]["messages"]] == [
            "Remember the code word.",
            "The code word is heron.",
            "What was it?",
        ]
        items = again.conversations.list_items(conversation.id, order="asc")
        assert [i.role for i in items.data] == ["user", "assistant"]  # type: ignore[union-attr]


def test_background_response_runs_then_completes(
    client: openai.OpenAI, model: ScriptedModelServer
) -> None:
    model.script(Turn(text="slow and steady", delay_s=0.05))
    response = client.responses.create(model=MODEL, input="take your time", background=True)
    assert response.status == "queued" and response.background
    wait_until(lambda: client.responses.retrieve(response.id).status == "completed")
    assert client.responses.retrieve(response.id).output_text == "slow and steady"
    with pytest.raises(openai.ConflictError, match="already completed"):
        client.responses.cancel(response.id)


def test_cancel_a_background_response(client: openai.OpenAI, model: ScriptedModelServer) -> None:
    model.script(Turn(text=" ".join(["word"] * 400), delay_s=0.05))  # 20 s unless cancelled
    response = client.responses.create(model=MODEL, input="go on", background=True)
    wait_until(lambda: client.responses.retrieve(response.id).status == "in_progress")
    cancelled = client.responses.cancel(response.id)
    assert cancelled.status == "cancelled"
    kept = client.responses.retrieve(response.id)
    assert kept.status == "cancelled" and kept.output == []  # as Llama Stack 0.7.3 keeps it
    plain = client.responses.create(model=MODEL, input="quick")
    with pytest.raises(openai.ConflictError, match="only background responses"):
        client.responses.cancel(plain.id)


def test_text_format_is_echoed_with_openais_keys(
    client: openai.OpenAI, model: ScriptedModelServer
) -> None:
    schema = {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}
    fmt: Any = {"type": "json_schema", "name": "point", "schema": schema, "strict": True}
    model.script(say('{"x": 1}'))
    raw = client.responses.with_raw_response.create(
        model=MODEL, input="a point", text={"format": fmt}
    ).http_response.json()
    assert raw["text"]["format"] == fmt  # `schema`, never the attribute name `schema_`
    stored = client.responses.with_raw_response.retrieve(raw["id"]).http_response.json()
    assert stored["text"]["format"] == fmt


def test_allowed_tools_restricts_what_the_model_is_offered(
    client: openai.OpenAI, model: ScriptedModelServer, store_id: str
) -> None:
    add: Any = ADD
    mul: Any = {**ADD, "name": "mul", "description": "Multiply two integers."}
    search: Any = {"type": "file_search", "vector_store_ids": [store_id]}
    for mode, allowed, offered in [
        ("required", [{"type": "function", "name": "add"}], ["add"]),
        ("auto", [{"type": "file_search"}, {"type": "function", "name": "mul"}], ["mul", "file_search"]),
    ]:  # fmt: skip
        model.script(say("done"))
        choice: Any = {"type": "allowed_tools", "mode": mode, "tools": allowed}
        response = client.responses.create(
            model=MODEL,
            input="x",
            tools=[add, mul, search],
            tool_choice=choice,
        )
        assert response.output_text == "done"
        sent = model.requests[-1]
        assert [t["function"]["name"] for t in sent["tools"]] == offered
        assert sent["tool_choice"] == mode
    unknown: Any = {"type": "allowed_tools", "tools": [{"type": "function", "name": "nope"}]}
    with pytest.raises(openai.BadRequestError, match="names none of the request's tools"):
        client.responses.create(model=MODEL, input="x", tools=[add], tool_choice=unknown)


def test_reasoning_items_are_kept_but_not_shown_to_the_model(
    client: openai.OpenAI, model: ScriptedModelServer
) -> None:
    reasoning: Any = {
        "type": "reasoning",
        "id": "rs_1",
        "summary": [{"type": "summary_text", "text": "Think of a greeting."}],
        "encrypted_content": "opaque-blob",
        "vendor_field": {"kept": True},
    }
    model.script(say("Hello."))
    response = client.responses.create(
        model=MODEL,
        input=[reasoning, {"type": "message", "role": "user", "content": "hi"}],
    )
    assert response.output_text == "Hello."
    assert model.requests[-1]["messages"] == [{"role": "user", "content": "hi"}]
    items = client.responses.input_items.with_raw_response.list(response.id, order="asc")
    first = items.http_response.json()["data"][0]
    assert {k: v for k, v in first.items() if v is not None} == reasoning  # every field kept
