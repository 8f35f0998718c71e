"""The notebook Agent with web search (builtin::websearch): a tool_execution step per search,
run by remote::brave-search against a stub speaking Brave's documented API."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from llama_workbench import Stack
from llama_workbench.agents import Agent
from llama_workbench.core.errors import BadRequestError
from tests.support.scripted_llm import ScriptedModelServer, call, say
from tests.support.search_server import KEY, StubSearchServer

MODEL = "scripted/scripted-model"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, ScriptedModelServer]]:
    with ScriptedModelServer() as model, StubSearchServer() as search:
        brave = {"api_key": KEY, "base_url": search.base_url, "max_results": 2}
        config = {
            "data_dir": str(tmp_path_factory.mktemp("agent_web")),
            "apis": ["inference", "responses", "tool_runtime"],
            "providers": {
                "inference": [model.provider_config()],
                "tool_runtime": [
                    {
                        "provider_id": "brave",
                        "provider_type": "remote::brave-search",
                        "config": brave,
                    }
                ],
                "responses": [{"provider_id": "builtin", "provider_type": "inline::builtin"}],
            },
        }
        with Stack.from_config(config) as s:
            yield s, model


@pytest.mark.parametrize("entry", ["builtin::websearch", {"type": "web_search"}])
def test_a_web_search_is_a_tool_execution_step(
    stack: tuple[Stack, ScriptedModelServer], entry: object
) -> None:
    s, model = stack
    agent = Agent(s, MODEL, tools=[entry])
    assert agent.tools == [{"type": "web_search", "search_context_size": "medium"}]
    model.script(call("web_search", query="llama 4"), say("It has 128 experts."))
    turn = agent.create_session().turn("How many experts?", stream=False)
    assert turn.output_text == "It has 128 experts."
    # As for file_search: the search is the first step, then the answer's inference.
    assert [st.step_type for st in turn.steps] == ["tool_execution", "inference"]
    step = turn.steps[0]
    assert step.details["tool_calls"][0]["tool_name"] == "web_search"
    assert json.loads(step.details["tool_calls"][0]["arguments"]) == {"query": "llama 4"}
    assert step.details["tool_responses"][0]["error"] is None
    told = [m for m in model.requests[-1]["messages"] if m["role"] == "tool"]
    assert "https://example.org/1" in told[0]["content"]


def test_unknown_tool_strings_name_the_known_ones(stack: tuple[Stack, ScriptedModelServer]) -> None:
    with pytest.raises(BadRequestError, match="'builtin::websearch'"):
        Agent(stack[0], MODEL, tools=["builtin::nope"])
