"""inline::builtin responses in library mode: tool choice, bounds, storage, formats and failures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llama_workbench import BadRequestError, NotFoundError, ProviderUnavailableError, Stack
from tests.support.scripted_llm import Call, ScriptedModelServer, call, calls, say

MODEL = "scripted/scripted-model"


def _fn(name: str) -> dict[str, Any]:
    return {
        "type": "function",
        "name": name,
        "parameters": {"type": "object", "properties": {"x": {"type": "integer"}}},
    }


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        yield server


def _config(data_dir: Path, model: ScriptedModelServer) -> dict[str, Any]:
    return {
        "data_dir": str(data_dir),
        "apis": ["inference", "responses"],
        "providers": {
            "inference": [model.provider_config()],
            "responses": [{"provider_id": "builtin", "provider_type": "inline::builtin"}],
        },
    }


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, model: ScriptedModelServer) -> Iterator[Stack]:
    with Stack.from_config(_config(tmp_path_factory.mktemp("resp"), model)) as built:
        yield built


@pytest.fixture(autouse=True)
def _empty_script(model: ScriptedModelServer) -> Iterator[None]:
    yield
    model.script()


def test_parallel_function_calls_come_back_together(
    stack: Stack, model: ScriptedModelServer
) -> None:
    model.script(calls(Call("f", {"x": 1}), Call("g", {"x": 2})))
    response = stack.responses.create_response(
        model=MODEL, input="both", tools=[_fn("f"), _fn("g")]
    )
    assert [(i.type, i.name) for i in response.output] == [  # type: ignore[union-attr]
        ("function_call", "f"),
        ("function_call", "g"),
    ]
    outputs = [
        {"type": "function_call_output", "call_id": i.call_id, "output": f"r{n}"}  # type: ignore[union-attr]
        for n, i in enumerate(response.output)
    ]
    model.script(say("both done"))
    follow = stack.responses.create_response(
        model=MODEL, input=outputs, previous_response_id=response.id
    )
    assert follow.output_text == "both done"
    sent = model.requests[-1]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "tool"]
    assert len(sent[1]["tool_calls"]) == 2


def test_tool_choice_reaches_the_model_then_relaxes(
    stack: Stack, model: ScriptedModelServer
) -> None:
    model.script(call("f", x=1))
    stack.responses.create_response(
        model=MODEL, input="x", tools=[_fn("f")], tool_choice={"type": "function", "name": "f"}
    )
    assert model.requests[-1]["tool_choice"] == {"type": "function", "function": {"name": "f"}}
    model.script(say("plain"))
    stack.responses.create_response(model=MODEL, input="x", tools=[_fn("f")], tool_choice="none")
    assert model.requests[-1]["tool_choice"] == "none"


def test_text_format_becomes_response_format(stack: Stack, model: ScriptedModelServer) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    model.script(say('{"n": 3}'))
    response = stack.responses.create_response(
        model=MODEL,
        input="n?",
        text={"format": {"type": "json_schema", "name": "count", "schema": schema}},
        temperature=0.2,
        max_output_tokens=64,
    )
    sent = model.requests[-1]
    assert sent["response_format"]["json_schema"]["schema"] == schema
    assert sent["temperature"] == 0.2 and sent["max_completion_tokens"] == 64
    assert response.text.format.type == "json_schema"
    assert json.loads(response.output_text) == {"n": 3}


def test_store_false_is_not_kept(stack: Stack, model: ScriptedModelServer) -> None:
    response = stack.responses.create_response(model=MODEL, input="secret", store=False)
    assert response.output_text == "echo: secret"
    with pytest.raises(NotFoundError):
        stack.responses.retrieve_response(response.id)
    with pytest.raises(NotFoundError):
        stack.responses.create_response(model=MODEL, input="x", previous_response_id=response.id)


def test_list_filters_and_pages(stack: Stack, model: ScriptedModelServer) -> None:
    made = [stack.responses.create_response(model=MODEL, input=f"n{i}").id for i in range(3)]
    page = stack.responses.list_responses(limit=2, order="desc")
    assert [r.id for r in page.data] == made[::-1][:2] and page.has_more
    rest = stack.responses.list_responses(limit=2, order="desc", after=page.last_id)
    assert rest.data[0].id == made[0]
    assert rest.data[0].input[0].content == "n0"  # type: ignore[union-attr]
    assert stack.responses.list_responses(model="other").data == []


def test_input_items_pages_both_ways(stack: Stack, model: ScriptedModelServer) -> None:
    items = [{"type": "message", "role": "user", "content": f"m{i}"} for i in range(5)]
    response = stack.responses.create_response(model=MODEL, input=items)
    first = stack.responses.list_input_items(response.id, order="asc", limit=2)
    assert [i.content for i in first.data] == ["m0", "m1"] and first.has_more  # type: ignore[union-attr]
    second = stack.responses.list_input_items(response.id, order="asc", after=first.last_id)
    assert [i.content for i in second.data] == ["m2", "m3", "m4"]  # type: ignore[union-attr]
    before = stack.responses.list_input_items(response.id, order="asc", before=second.data[0].id)
    assert [i.content for i in before.data] == ["m0", "m1"]  # type: ignore[union-attr]
    with pytest.raises(NotFoundError, match="after"):
        stack.responses.list_input_items(response.id, after="msg_nope")


def test_a_model_failure_fails_the_stream(stack: Stack, model: ScriptedModelServer) -> None:
    events = list(stack.responses.create_response(model=MODEL, input="x", stream=True))
    assert events[-1].type == "response.completed"
    model.models.append("gone")  # listed, so the request is accepted...
    try:
        stack.models.register(model_id="gone", provider_id="scripted")
        model.models.remove("gone")  # ...but the server no longer serves it
        events = list(stack.responses.create_response(model="gone", input="x", stream=True))
    finally:
        stack.models.unregister("gone")
    assert [e.type for e in events] == [
        "response.created",
        "response.in_progress",
        "response.failed",
    ]
    failed = events[-1].response  # type: ignore[attr-defined]
    assert failed["status"] == "failed" and "gone" in failed["error"]["message"]
    assert stack.responses.retrieve_response(failed["id"]).status == "failed"


def test_bad_requests(stack: Stack) -> None:
    with pytest.raises(BadRequestError, match="two tools are named 'f'"):
        stack.responses.create_response(model=MODEL, input="x", tools=[_fn("f"), _fn("f")])
    with pytest.raises(BadRequestError, match="vector_io"):
        stack.responses.create_response(
            model=MODEL, input="x", tools=[{"type": "file_search", "vector_store_ids": ["vs_1"]}]
        )
    with pytest.raises(BadRequestError, match="tool_runtime"):
        stack.responses.create_response(
            model=MODEL, input="x", tools=[{"type": "mcp", "server_label": "none"}]
        )
    with pytest.raises(BadRequestError, match="safety"):
        stack.responses.create_response(model=MODEL, input="x", guardrails=["pii"])
    with pytest.raises(BadRequestError, match="input_file"):
        stack.responses.create_response(
            model=MODEL,
            input=[{"role": "user", "content": [{"type": "input_file", "file_id": "file_1"}]}],
        )
    with pytest.raises(BadRequestError, match="store"):
        stack.responses.create_response(model=MODEL, input="x", background=True, store=False)
    with pytest.raises(BadRequestError, match="at least one item"):
        stack.responses.create_response(model=MODEL, input=[])


def test_unknown_tools_and_bad_arguments_go_back_to_the_model(
    stack: Stack, model: ScriptedModelServer, tmp_path: Path
) -> None:
    from tests.support.mcp_server import McpHttpServer

    with McpHttpServer() as url:
        model.script(
            Turn_with_raw := calls(Call("add", raw_arguments="{not json")),
            call("nonexistent", x=1),
            say("gave up"),
        )
        assert Turn_with_raw.calls[0].raw_arguments == "{not json"
        tool = {"type": "mcp", "server_label": "calc", "server_url": url, "allowed_tools": ["add"]}
        response = stack.responses.create_response(model=MODEL, input="x", tools=[tool])
    bad = response.output[1]
    assert bad.type == "mcp_call" and "not JSON" in (bad.error or "")  # type: ignore[union-attr]
    assert response.output_text == "gave up"
    messages = model.requests[-1]["messages"]
    assert messages[-1] == {
        "role": "tool",
        "tool_call_id": messages[-2]["tool_calls"][0]["id"],
        "content": "Error: there is no tool named 'nonexistent'.",
    }


def test_max_tool_calls_stops_offering_tools(stack: Stack, model: ScriptedModelServer) -> None:
    from tests.support.mcp_server import McpHttpServer

    with McpHttpServer() as url:
        model.script(call("add", a=1, b=1), say("two"))
        tool = {"type": "mcp", "server_label": "calc", "server_url": url}
        response = stack.responses.create_response(
            model=MODEL, input="1+1", tools=[tool], max_tool_calls=1
        )
    assert response.output_text == "two"
    assert "tools" in model.requests[-2] and "tools" not in model.requests[-1]


def test_unreachable_mcp_server_is_an_error(stack: Stack) -> None:
    from tests.support.stub_server import free_port

    tool = {"type": "mcp", "server_label": "x", "server_url": f"http://127.0.0.1:{free_port()}/mcp"}
    with pytest.raises(ProviderUnavailableError, match=r"can't connect to the MCP server"):
        stack.responses.create_response(model=MODEL, input="x", tools=[tool])
