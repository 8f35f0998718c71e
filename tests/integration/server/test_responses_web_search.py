"""The Responses API's web_search tool with the openai SDK against our server: the scripted model
server calls web_search, the stack searches with remote::brave-search (a stub speaking Brave's
documented API), and the response has OpenAI's web_search_call item and stream events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from llama_workbench import Stack
from llama_workbench.server.runner import start_server
from tests.support.scripted_llm import ScriptedModelServer, call, say
from tests.support.search_server import KEY, StubSearchServer
from tests.support.stub_server import free_port

MODEL = "scripted/scripted-model"
QUESTION = "How many experts does Llama 4 Maverick have?"


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        yield server


@pytest.fixture(scope="module")
def search() -> Iterator[StubSearchServer]:
    with StubSearchServer() as server:
        yield server


def stack_config(data_dir: Path, model: ScriptedModelServer, search_url: str) -> dict[str, Any]:
    brave = {
        "provider_id": "brave-search",
        "provider_type": "remote::brave-search",
        "config": {"api_key": KEY, "base_url": search_url, "max_results": 2},
    }
    return {
        "data_dir": str(data_dir),
        "apis": ["inference", "responses", "conversations", "tool_runtime"],
        "providers": {
            "inference": [model.provider_config()],
            "tool_runtime": [brave],
            "responses": [{"provider_id": "builtin", "provider_type": "inline::builtin"}],
        },
    }


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, model: ScriptedModelServer, search: StubSearchServer
) -> Iterator[openai.OpenAI]:
    config = stack_config(tmp_path_factory.mktemp("web_search"), model, search.base_url)
    with Stack.from_config(config) as stack, start_server(stack, port=free_port()) as server:
        yield openai.OpenAI(base_url=f"{server.url}/v1", api_key="none", max_retries=0)


def tool_message(model: ScriptedModelServer) -> dict[str, Any]:
    """The tool result the model was given in its last request."""
    return next(m for m in reversed(model.requests[-1]["messages"]) if m["role"] == "tool")


def test_web_search_runs_with_the_search_provider(
    client: openai.OpenAI, model: ScriptedModelServer, search: StubSearchServer
) -> None:
    model.script(call("web_search", query="llama 4 maverick experts"), say("It has 128 experts."))
    response = client.responses.create(
        model=MODEL, input=QUESTION, tools=[{"type": "web_search", "search_context_size": "low"}]
    )
    assert [i.type for i in response.output] == ["web_search_call", "message"]
    item: Any = response.output[0]
    assert item.type == "web_search_call" and item.status == "completed"
    assert item.id.startswith("ws_")
    assert item.action.type == "search" and item.action.query == "llama 4 maverick experts"
    assert response.output_text == "It has 128 experts."
    # The model was offered web_search as a function tool, as Llama Stack 0.7.3 offers it.
    offered = model.requests[-2]["tools"]
    assert [t["function"]["name"] for t in offered] == ["web_search"]
    assert offered[0]["function"]["parameters"]["required"] == ["query"]
    # Brave was asked as its API documents, and the model read Brave's results.
    sent = search.requests[-1]
    assert (sent["path"], sent["query"]) == (
        "/res/v1/web/search",
        {"q": "llama 4 maverick experts"},
    )
    assert sent["headers"]["x-subscription-token"] == KEY
    assert "'url': 'https://example.org/1'" in tool_message(model)["content"]


def test_streamed_events_are_openais(client: openai.OpenAI, model: ScriptedModelServer) -> None:
    model.script(call("web_search", query="python latest version"), say("Python 3.14."))
    with client.responses.create(
        model=MODEL,
        input="What is the latest version of Python?",
        tools=[{"type": "web_search_2025_08_26"}],
        stream=True,
    ) as stream:
        events: list[Any] = list(stream)
    types = [e.type for e in events]
    search_types = [t for t in types if "web_search_call" in t]
    assert search_types == [
        "response.web_search_call.in_progress",
        "response.web_search_call.searching",
        "response.web_search_call.completed",
    ]
    added = next(e for e in events if e.type == "response.output_item.added")
    assert added.item.type == "web_search_call" and added.item.status == "in_progress"
    done = next(e for e in events if e.type == "response.output_item.done")
    assert done.item.type == "web_search_call" and done.item.status == "completed"
    ids = {e.item_id for e in events if "web_search_call" in e.type}
    assert ids == {added.item.id} == {done.item.id}
    assert types.index("response.web_search_call.completed") < types.index(
        "response.output_text.delta"
    )
    assert [e.sequence_number for e in events] == list(range(len(events)))
    final = events[-1]
    assert final.type == "response.completed"
    assert [i.type for i in final.response.output] == ["web_search_call", "message"]
    assert final.response.output_text == "Python 3.14."


def test_tool_choice_and_sources(client: openai.OpenAI, model: ScriptedModelServer) -> None:
    model.script(call("web_search", query="llama"), say("Done."))
    response = client.responses.create(
        model=MODEL,
        input="Search for llama.",
        tools=[{"type": "web_search_preview"}],
        tool_choice={"type": "web_search_preview"},
        include=["web_search_call.action.sources"],
    )
    assert model.requests[-2]["tool_choice"] == {
        "type": "function",
        "function": {"name": "web_search"},
    }
    item: Any = response.output[0]
    sources = item.action.sources
    assert [s.url for s in sources] == ["https://example.org/1", "https://example.org/2"]


def test_a_failed_search_is_told_to_the_model(
    client: openai.OpenAI, model: ScriptedModelServer, search: StubSearchServer
) -> None:
    search.fail_next(
        429, {"error": {"detail": "Request rate limit exceeded"}}, {"Retry-After": "3"}
    )
    model.script(call("web_search", query="llama"), say("The search failed."))
    response = client.responses.create(model=MODEL, input="x", tools=[{"type": "web_search"}])
    assert response.status == "completed"
    item: Any = response.output[0]
    assert item.type == "web_search_call" and item.status == "failed"
    told = tool_message(model)["content"]
    assert told.startswith("Error: Provider 'brave-search' rate limit (retry after 3 s)")


def test_web_search_call_items_are_history(
    client: openai.OpenAI, model: ScriptedModelServer
) -> None:
    model.script(say("Noted."))
    history: Any = [
        {"type": "message", "role": "user", "content": "Find llama facts."},
        {
            "type": "web_search_call",
            "id": "ws_earlier",
            "status": "completed",
            "action": {"type": "search", "query": "llama facts"},
        },
        {"type": "message", "role": "assistant", "content": "Llamas hum."},
        {"type": "message", "role": "user", "content": "Thanks."},
    ]
    response = client.responses.create(model=MODEL, input=history)
    assert response.output_text == "Noted."
    messages = model.requests[-1]["messages"]
    assert messages[1]["tool_calls"][0]["function"] == {
        "name": "web_search",
        "arguments": json.dumps({"query": "llama facts"}),
    }
    assert messages[2] == {
        "role": "tool",
        "tool_call_id": "ws_earlier",
        "content": 'Searched the web for "llama facts".',
    }
    items = client.responses.input_items.list(response.id, order="asc").data
    assert [i.type for i in items][1] == "web_search_call"


def test_chained_responses_keep_what_the_search_found(
    client: openai.OpenAI, model: ScriptedModelServer
) -> None:
    model.script(call("web_search", query="llama 4"), say("Found it."), say("Yes."))
    first = client.responses.create(model=MODEL, input="Search.", tools=[{"type": "web_search"}])
    client.responses.create(model=MODEL, input="Sure?", previous_response_id=first.id)
    assert "https://example.org/1" in tool_message(model)["content"]
    conversation = client.conversations.create()
    model.script(call("web_search", query="llama 4"), say("Found it."))
    client.responses.create(
        model=MODEL, input="Search.", tools=[{"type": "web_search"}], conversation=conversation.id
    )
    items = client.conversations.items.list(conversation.id, order="asc").data
    assert [i.type for i in items] == ["message", "web_search_call", "message"]


def test_without_a_search_provider_it_is_a_400_naming_what_to_configure(
    tmp_path: Path, model: ScriptedModelServer
) -> None:
    config = stack_config(tmp_path, model, "http://127.0.0.1:1")
    del config["providers"]["tool_runtime"]
    config["apis"].remove("tool_runtime")
    with Stack.from_config(config) as stack, start_server(stack, port=free_port()) as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="none", max_retries=0)
        with pytest.raises(openai.BadRequestError, match="remote::brave-search") as info:
            client.responses.create(model=MODEL, input="x", tools=[{"type": "web_search"}])
        assert "BRAVE_SEARCH_API_KEY" in str(info.value)


def test_a_key_in_the_provider_data_header_serves_the_request(
    tmp_path: Path, model: ScriptedModelServer, search: StubSearchServer
) -> None:
    """Llama Stack's clients pass search keys per request in X-LlamaStack-Provider-Data."""
    config = stack_config(tmp_path, model, search.base_url)
    config["providers"]["tool_runtime"][0]["config"]["api_key"] = "${env.NO_SUCH_KEY:=}"
    with Stack.from_config(config) as stack, start_server(stack, port=free_port()) as server:
        header = {"X-LlamaStack-Provider-Data": json.dumps({"brave_search_api_key": KEY})}
        keyed = openai.OpenAI(
            base_url=f"{server.url}/v1", api_key="none", max_retries=0, default_headers=header
        )
        model.script(call("web_search", query="llama"), say("Found."))
        with keyed.responses.create(
            model=MODEL, input="x", tools=[{"type": "web_search"}], stream=True
        ) as stream:
            final: Any = list(stream)[-1]
        assert final.response.output[0].status == "completed"
        assert search.requests[-1]["headers"]["x-subscription-token"] == KEY
        invoke = {"tool_name": "web_search", "kwargs": {"query": "llama"}}
        answer = httpx.post(f"{server.url}/v1/tool-runtime/invoke", json=invoke, headers=header)
        assert answer.status_code == 200 and "example.org" in answer.json()["content"]
        without = httpx.post(f"{server.url}/v1/tool-runtime/invoke", json=invoke)
        assert without.status_code == 401
        assert "X-LlamaStack-Provider-Data" in without.json()["error"]["message"]
        bad = {"X-LlamaStack-Provider-Data": "not json"}
        refused = httpx.post(f"{server.url}/v1/tool-runtime/invoke", json=invoke, headers=bad)
        assert refused.status_code == 400 and "must be a JSON object" in refused.text
