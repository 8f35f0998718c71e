"""Responses behaviour Llama Stack 0.7.3's integration suite checks, through the openai SDK
against our server on 127.0.0.1 with the scripted model server."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from llama_workbench import Stack
from llama_workbench.server.runner import BackgroundServer, start_server
from tests.integration.server.test_responses_openai import MODEL, stack_config
from tests.support.mcp_server import McpHttpServer
from tests.support.scripted_llm import ScriptedModelServer, say
from tests.support.stub_server import free_port


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        yield server


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, model: ScriptedModelServer
) -> Iterator[BackgroundServer]:
    with McpHttpServer() as mcp_url:
        config = stack_config(tmp_path_factory.mktemp("parity"), model, mcp_url)
        with Stack.from_config(config) as stack, start_server(stack, port=free_port()) as running:
            yield running


@pytest.fixture
def client(server: BackgroundServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="none", max_retries=0)


def test_item_and_part_events_carry_the_response_id(
    client: openai.OpenAI, model: ScriptedModelServer
) -> None:
    model.script(say("one two"))
    events = list(client.responses.create(model=MODEL, input="count", stream=True))
    response_id = events[0].response.id  # type: ignore[union-attr]
    named = [
        e for e in events if e.type.startswith(("response.output_item.", "response.content_part."))
    ]
    assert len(named) == 4
    assert all(getattr(e, "response_id", None) == response_id for e in named)


def test_deltas_are_obfuscated_unless_turned_off(
    client: openai.OpenAI, model: ScriptedModelServer
) -> None:
    model.script(say("one two"), say("one two"))
    padded = list(client.responses.create(model=MODEL, input="a", stream=True))
    deltas = [e for e in padded if e.type == "response.output_text.delta"]
    assert deltas and all(getattr(e, "obfuscation", "") for e in deltas)
    plain = list(
        client.responses.create(
            model=MODEL, input="a", stream=True, stream_options={"include_obfuscation": False}
        )
    )
    deltas = [e for e in plain if e.type == "response.output_text.delta"]
    assert deltas and not any(hasattr(e, "obfuscation") for e in deltas)
    assert "".join(e.delta for e in deltas) == "one two"


def test_a_reply_cut_at_max_output_tokens_is_incomplete(
    client: openai.OpenAI, model: ScriptedModelServer
) -> None:
    long = " ".join(f"word{n}" for n in range(40))
    model.script(say(long), say(long))
    response = client.responses.create(model=MODEL, input="talk", max_output_tokens=16)
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "length"
    events = list(
        client.responses.create(model=MODEL, input="talk", max_output_tokens=16, stream=True)
    )
    assert events[-1].type == "response.incomplete"
    assert events[-1].response.incomplete_details.reason == "length"


def test_an_authorization_header_on_an_mcp_tool_is_refused(client: openai.OpenAI) -> None:
    tool = {
        "type": "mcp",
        "server_label": "local",
        "server_url": "http://127.0.0.1:9/mcp",
        "headers": {"authorization": "Bearer secret"},
    }
    with pytest.raises(openai.BadRequestError, match="'authorization' parameter, not 'headers'"):
        client.responses.create(model=MODEL, input="hi", tools=[tool])  # type: ignore[list-item]


def test_an_unknown_model_is_worded_as_llama_stack_words_it(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.create(model="no-such-model", input="hi")
    assert (
        "Model 'no-such-model' not found. Use 'client.models.list()' to list available Models. "
        "Available: " in str(caught.value)
    )
    assert MODEL in str(caught.value)


def test_search_scores_are_never_negative(client: openai.OpenAI) -> None:
    store = client.vector_stores.create(name="scores")
    text = b"The Keldmouth lighthouse was first lit in 1842 and burns whale oil."
    uploaded = client.files.create(file=("lighthouse.txt", text), purpose="assistants")
    client.vector_stores.files.create(vector_store_id=store.id, file_id=uploaded.id)
    for query in ("lighthouse whale oil", "quarterly tax filing for bakeries"):
        page = client.vector_stores.search(vector_store_id=store.id, query=query)
        assert page.data and all(0.0 < hit.score <= 1.0 for hit in page.data)
