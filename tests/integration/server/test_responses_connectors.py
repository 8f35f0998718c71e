"""Responses' MCP tools by connector_id (Llama Stack 0.7.3): the connector of the run config's
`connectors:` names the server; the openai SDK against our server, the scripted model server and
a real MCP server over SSE."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from llama_workbench import Stack
from llama_workbench.server.runner import start_server
from tests.support.mcp_server import TOOL_NAMES, McpHttpServer
from tests.support.scripted_llm import ScriptedModelServer, call, say
from tests.support.stub_server import free_port

MODEL = "scripted/scripted-model"


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        yield server


@pytest.fixture(scope="module")
def client(
    model: ScriptedModelServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[openai.OpenAI]:
    with McpHttpServer(name="connected", transport="sse") as url:
        config = {
            "data_dir": str(tmp_path_factory.mktemp("resp-connectors")),
            "apis": ["inference", "responses"],
            "providers": {
                "inference": [model.provider_config()],
                "responses": [{"provider_id": "builtin", "provider_type": "inline::builtin"}],
            },
            "connectors": [{"connector_id": "test-mcp-connector", "url": url}],
        }
        with Stack.from_config(config) as stack, start_server(stack, port=free_port()) as srv:
            yield openai.OpenAI(base_url=f"{srv.url}/v1", api_key="none", max_retries=0)


def test_an_mcp_tool_by_connector_id(client: openai.OpenAI, model: ScriptedModelServer) -> None:
    model.script(call("add", a=2, b=3), say("5"))
    tool: Any = {"type": "mcp", "server_label": "localmcp", "connector_id": "test-mcp-connector"}
    response = client.responses.create(model=MODEL, input="2 + 3?", tools=[tool])
    kinds = [i.type for i in response.output]
    assert kinds == ["mcp_list_tools", "mcp_call", "message"]
    listed: Any = response.output[0]
    assert listed.server_label == "localmcp"
    assert sorted(t.name for t in listed.tools) == TOOL_NAMES
    called: Any = response.output[1]
    assert called.name == "add" and called.error is None and called.output == "5"
    assert response.output_text == "5"


def test_an_unknown_connector_is_a_404_naming_the_known_ones(client: openai.OpenAI) -> None:
    tool: Any = {"type": "mcp", "server_label": "x", "connector_id": "nope"}
    with pytest.raises(openai.NotFoundError, match="test-mcp-connector"):
        client.responses.create(model=MODEL, input="hi", tools=[tool])
