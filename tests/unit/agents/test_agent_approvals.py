"""The notebook Agent asks before an MCP tool that needs approval runs: a callback, a prompt, or
the turn waits for session.approve()/deny() (a real Stack, MCP server and scripted model)."""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from typing import Any

import pytest

from llama_workbench import Stack
from llama_workbench.agents import Agent
from llama_workbench.agents import approvals as agent_approvals
from llama_workbench.apis.responses.models import McpApprovalRequestItem
from llama_workbench.core.errors import BadRequestError
from tests.support.mcp_server import McpHttpServer
from tests.support.scripted_llm import ScriptedModelServer, call, say

MODEL = "scripted/scripted-model"


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as s:
        yield s


@pytest.fixture(scope="module")
def mcp_url() -> Iterator[str]:
    with McpHttpServer() as url:
        yield url


@pytest.fixture(scope="module")
def stack(server: ScriptedModelServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    config = {
        "data_dir": str(tmp_path_factory.mktemp("agent-approvals")),
        "apis": ["inference", "responses"],
        "providers": {
            "inference": [server.provider_config()],
            "responses": [{"provider_id": "builtin", "provider_type": "inline::builtin"}],
        },
    }
    with Stack.from_config(config) as s:
        yield s


def weather_tool(url: str) -> dict[str, Any]:
    return {"type": "mcp", "server_label": "local", "server_url": url, "require_approval": "always"}


def test_a_callback_approves_before_the_tool_runs(
    stack: Stack, server: ScriptedModelServer, mcp_url: str
) -> None:
    asked: list[McpApprovalRequestItem] = []

    def approve(request: McpApprovalRequestItem) -> bool:
        asked.append(request)
        assert server.remaining == 1  # asked before the tool ran and the model went on
        return request.name == "get_weather"

    agent = Agent(stack, model=MODEL, tools=[weather_tool(mcp_url)], approve=approve)
    server.script(call("get_weather", city="Oslo"), say("Snowy in Oslo."))
    turn = agent.create_session().turn("Weather in Oslo?", stream=False)
    assert [(r.name, r.arguments) for r in asked] == [("get_weather", '{"city": "Oslo"}')]
    assert turn.status == "completed" and turn.output_text == "Snowy in Oslo."
    ran = [s for s in turn.steps if s.step_type == "tool_execution"]
    assert ran[0].details["tool_responses"][0]["content"] == "Snow, -3 C in Oslo"
    assert len(turn.response_ids) == 2  # stopped at the request, went on with the answer


def test_an_async_callback_that_declines(
    stack: Stack, server: ScriptedModelServer, mcp_url: str
) -> None:
    async def deny(request: McpApprovalRequestItem) -> bool:
        return False

    agent = Agent(stack, model=MODEL, tools=[weather_tool(mcp_url)], approve=deny)
    server.script(call("add", a=1, b=2), say("Not allowed to add."))
    session = agent.create_session()
    turn = session.turn("1+2?", stream=False)
    assert turn.output_text == "Not allowed to add."
    assert not [s for s in turn.steps if s.step_type == "tool_execution"]
    told = server.requests[-1]["messages"][-1]
    assert told["role"] == "tool" and "declined" in told["content"]
    kinds = [i.type for i in session.history()]
    assert "mcp_approval_response" in kinds and "mcp_call" not in kinds


def test_without_callback_or_prompt_the_turn_waits(
    stack: Stack, server: ScriptedModelServer, mcp_url: str
) -> None:
    agent = Agent(stack, model=MODEL, tools=[weather_tool(mcp_url)])
    server.script(call("get_weather", city="Paris"))
    session = agent.create_session()
    turn = session.turn("Weather in Paris?", stream=False)  # stdin is no terminal under pytest
    assert turn.status == "awaiting_approval"
    (pending,) = turn.pending_approvals
    assert (pending["name"], pending["server_label"]) == ("get_weather", "local")
    line = agent_approvals.waiting_line(turn.pending_approvals)
    assert f"session.approve('{pending['id']}')" in line and "\n" not in line
    server.script(say("Sunny in Paris."))
    resumed = session.approve()
    assert resumed.status == "completed" and resumed.output_text == "Sunny in Paris."
    tool_message = server.requests[-1]["messages"][-1]
    assert tool_message["content"] == "Sunny, 21 C in Paris"
    with pytest.raises(BadRequestError, match="no tool call waits for approval"):
        session.deny()


def test_the_prompt_when_a_user_can_answer(
    stack: Stack, server: ScriptedModelServer, mcp_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts: list[str] = []

    def answer(prompt: str = "") -> str:
        prompts.append(prompt)
        return "n"

    monkeypatch.setattr(agent_approvals, "can_prompt", lambda: True)
    monkeypatch.setattr(builtins, "input", answer)
    agent = Agent(stack, model=MODEL, tools=[weather_tool(mcp_url)])
    server.script(call("add", a=2, b=2), say("Fine, no tool."))
    turn = agent.create_session().turn("2+2", stream=False)
    assert prompts == ['Run add({"a": 2, "b": 2}) on MCP server \'local\'? [y/N] ']
    assert turn.status == "completed" and turn.output_text == "Fine, no tool."
