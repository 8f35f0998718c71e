"""MCP tool approvals in the Responses API, with the openai SDK against our server: a tool that
needs approval runs only after an mcp_approval_response approves it (OpenAI's and Llama Stack
0.7.3's flow), over an MCP server speaking SSE and a scripted model server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from llama_workbench import Stack
from llama_workbench.server.runner import BackgroundServer, start_server
from tests.support.mcp_server import McpHttpServer
from tests.support.scripted_llm import Call, ScriptedModelServer, call, calls, say
from tests.support.stub_server import free_port

MODEL = "scripted/scripted-model"


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        yield server


@pytest.fixture(scope="module")
def mcp_url() -> Iterator[str]:
    with McpHttpServer(transport="sse") as url:  # Llama Stack's suite serves its MCP over SSE
        yield url


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, model: ScriptedModelServer
) -> Iterator[openai.OpenAI]:
    config = {
        "data_dir": str(tmp_path_factory.mktemp("approvals")),
        "apis": ["inference", "responses", "conversations"],
        "providers": {
            "inference": [model.provider_config()],
            "responses": [{"provider_id": "builtin", "provider_type": "inline::builtin"}],
        },
    }
    with Stack.from_config(config) as stack, start_server(stack, port=free_port()) as server:
        yield _client(server)


def _client(server: BackgroundServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="none", max_retries=0)


def mcp(url: str, require_approval: Any = "always") -> Any:
    return {
        "type": "mcp",
        "server_label": "local",
        "server_url": url,
        "require_approval": require_approval,
    }


def answer(request_id: str, approve: bool, reason: str | None = None) -> Any:
    item = {"type": "mcp_approval_response", "approval_request_id": request_id, "approve": approve}
    return item | ({"reason": reason} if reason else {})


def test_always_stops_then_runs_after_approval(
    client: openai.OpenAI, model: ScriptedModelServer, mcp_url: str
) -> None:
    model.script(call("get_weather", city="Paris"), say("It is sunny in Paris."))
    tools = [mcp(mcp_url)]
    first = client.responses.create(model=MODEL, input="Weather in Paris?", tools=tools)
    assert first.status == "completed"
    assert [i.type for i in first.output] == ["mcp_list_tools", "mcp_approval_request"]
    request = first.output[1]
    assert request.type == "mcp_approval_request"
    assert (request.name, request.server_label) == ("get_weather", "local")
    assert json.loads(request.arguments) == {"city": "Paris"}
    assert request.id.startswith("mcpr_")
    assert model.remaining == 1  # the model was not called again: nothing ran

    second = client.responses.create(
        model=MODEL,
        previous_response_id=first.id,
        input=[answer(request.id, approve=True)],
        tools=tools,
    )
    assert [i.type for i in second.output] == ["mcp_list_tools", "mcp_call", "message"]
    ran = second.output[1]
    assert ran.type == "mcp_call" and ran.output == "Sunny, 21 C in Paris"
    assert ran.approval_request_id == request.id and ran.error is None
    assert second.output_text == "It is sunny in Paris."
    sent = model.requests[-1]["messages"]
    assert sent[0] == {"role": "user", "content": "Weather in Paris?"}
    assert sent[1]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert sent[2] == {"role": "tool", "tool_call_id": request.id, "content": ran.output}
    # The exchange is kept: the input items list the approval answer.
    items = client.responses.input_items.list(second.id).data
    assert [i.type for i in items] == ["mcp_approval_response"]


def test_a_declined_call_never_runs_and_the_model_is_told(
    client: openai.OpenAI, model: ScriptedModelServer, mcp_url: str
) -> None:
    model.script(call("add", a=2, b=3), say("I won't add them then."))
    tools = [mcp(mcp_url)]
    first = client.responses.create(model=MODEL, input="2+3?", tools=tools)
    request = first.output[-1]
    assert request.type == "mcp_approval_request"
    second = client.responses.create(
        model=MODEL,
        previous_response_id=first.id,
        input=[answer(request.id, approve=False, reason="not now")],
        tools=tools,
    )
    assert "mcp_call" not in [i.type for i in second.output]
    assert second.output_text == "I won't add them then."
    told = model.requests[-1]["messages"][-1]
    assert told["role"] == "tool" and "declined" in told["content"]
    assert "Reason: not now" in told["content"]


def test_per_tool_rules(client: openai.OpenAI, model: ScriptedModelServer, mcp_url: str) -> None:
    # OpenAI's filter shape: add never needs approval, get_weather always does.
    rule = {"never": {"tool_names": ["add"]}, "always": {"tool_names": ["get_weather"]}}
    model.script(
        calls(Call("add", {"a": 1, "b": 1}), Call("get_weather", {"city": "Oslo"})),
        say("Done."),
    )
    first = client.responses.create(model=MODEL, input="go", tools=[mcp(mcp_url, rule)])
    kinds = [i.type for i in first.output]
    assert kinds == ["mcp_list_tools", "mcp_call", "mcp_approval_request"]
    assert first.output[1].output == "2"  # type: ignore[union-attr]
    waiting: Any = first.output[2]
    assert waiting.name == "get_weather"
    second = client.responses.create(
        model=MODEL,
        previous_response_id=first.id,
        input=[answer(waiting.id, approve=True)],
        tools=[mcp(mcp_url, rule)],
    )
    assert second.output_text == "Done."
    sent = model.requests[-1]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "assistant", "tool"]
    assert [c["function"]["name"] for c in sent[1]["tool_calls"]] == ["add"]  # no dangling call
    assert (sent[2]["content"], sent[4]["content"]) == ("2", "Snow, -3 C in Oslo")
    # Llama Stack's shape: plain lists; a tool in neither list needs approval.
    rule_ls = {"never": ["get_weather"]}
    model.script(call("get_weather", city="Oslo"), call("add", a=1, b=2), say("ok"))
    third = client.responses.create(model=MODEL, input="go", tools=[mcp(mcp_url, rule_ls)])
    assert [i.type for i in third.output] == ["mcp_list_tools", "mcp_call", "mcp_approval_request"]
    model.script(call("add", a=5, b=5), say("10"))  # "never" runs everything unasked
    fourth = client.responses.create(model=MODEL, input="5+5", tools=[mcp(mcp_url, "never")])
    assert [i.type for i in fourth.output] == ["mcp_list_tools", "mcp_call", "message"]


def test_streamed_approval_request_and_items_in_input(
    client: openai.OpenAI, model: ScriptedModelServer, mcp_url: str
) -> None:
    model.script(call("add", a=20, b=22), say("42"))
    tools = [mcp(mcp_url)]
    events: list[Any] = list(
        client.responses.create(model=MODEL, input="20+22", tools=tools, stream=True)
    )
    approval = [e for e in events if getattr(e, "item", None) and e.item.type.startswith("mcp_ap")]
    assert [e.type for e in approval] == ["response.output_item.added", "response.output_item.done"]
    assert events[-1].type == "response.completed"
    request = approval[-1].item
    # Without previous_response_id: the request item itself comes back in input, as history.
    history: list[Any] = [
        {"type": "message", "role": "user", "content": "20+22"},
        request.model_dump(exclude_none=True),
        answer(request.id, approve=True),
    ]
    done = client.responses.create(model=MODEL, input=history, tools=tools)
    assert [i.type for i in done.output] == ["mcp_list_tools", "mcp_call", "message"]
    assert done.output[1].output == "42"  # type: ignore[union-attr]


def test_approvals_in_a_conversation(
    client: openai.OpenAI, model: ScriptedModelServer, mcp_url: str
) -> None:
    conversation = client.conversations.create()
    tools = [mcp(mcp_url)]
    model.script(call("add", a=1, b=2), say("3"))
    first = client.responses.create(
        model=MODEL, input="1+2", tools=tools, conversation=conversation.id
    )
    request: Any = first.output[-1]
    second = client.responses.create(
        model=MODEL,
        input=[answer(request.id, approve=True)],
        tools=tools,
        conversation=conversation.id,
    )
    assert second.output_text == "3"
    kinds = [i.type for i in client.conversations.items.list(conversation.id, order="asc").data]
    assert kinds[:3] == ["message", "mcp_list_tools", "mcp_approval_request"]
    assert "mcp_approval_response" in kinds and "mcp_call" in kinds


def test_bad_answers_are_a_clear_400(client: openai.OpenAI, mcp_url: str) -> None:
    with pytest.raises(openai.BadRequestError, match="no mcp_approval_request"):
        client.responses.create(
            model=MODEL, input=[answer("mcpr_unknown", approve=True)], tools=[mcp(mcp_url)]
        )
    request: Any = {
        "type": "mcp_approval_request",
        "id": "mcpr_1",
        "name": "add",
        "arguments": "{}",
        "server_label": "elsewhere",
    }
    with pytest.raises(openai.BadRequestError, match="'elsewhere', which is not among"):
        client.responses.create(
            model=MODEL, input=[request, answer("mcpr_1", approve=True)], tools=[mcp(mcp_url)]
        )
