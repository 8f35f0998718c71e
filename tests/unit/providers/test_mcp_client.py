"""The MCP client layer against a real MCP server, over stdio, streamable HTTP and SSE."""

from __future__ import annotations

import re
import socket
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from llama_workbench.apis.tool_runtime.models import ToolDef
from llama_workbench.core.errors import (
    BadRequestError,
    MissingDependencyError,
    NotFoundError,
    ProviderError,
    ProviderUnavailableError,
)
from llama_workbench.providers.utils.mcp import (
    McpEndpoint,
    as_endpoint,
    http_transports,
    invoke_mcp_tool,
    list_mcp_tools,
)
from tests.support.mcp_server import TOOL_NAMES, McpHttpServer, free_port, stdio_endpoint


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    with McpHttpServer() as url:
        yield url


@pytest.fixture(scope="module")
def sse_url() -> Iterator[str]:
    with McpHttpServer(transport="sse") as url:
        yield url


@pytest.fixture(params=["stdio", "http", "sse"])
def endpoint(request: pytest.FixtureRequest, http_url: str, sse_url: str) -> McpEndpoint:
    if request.param == "stdio":
        return McpEndpoint.model_validate(stdio_endpoint())
    return McpEndpoint(url=sse_url if request.param == "sse" else http_url)


async def test_lists_tools_with_schemas(endpoint: McpEndpoint) -> None:
    tools = {t.name: t for t in await list_mcp_tools(endpoint)}
    assert sorted(tools) == TOOL_NAMES
    assert tools["add"] == ToolDef(
        name="add",
        description="Add two integers.",
        input_schema={
            "type": "object",
            "properties": {
                "a": {"title": "A", "type": "integer"},
                "b": {"title": "B", "type": "integer"},
            },
            "required": ["a", "b"],
            "title": "addArguments",
        },
        output_schema={
            "properties": {"result": {"title": "Result", "type": "integer"}},
            "required": ["result"],
            "title": "addOutput",
            "type": "object",
        },
        toolgroup_id=None,
        metadata={"endpoint": endpoint.label},
    )


async def test_invokes_a_tool(endpoint: McpEndpoint) -> None:
    result = await invoke_mcp_tool(endpoint, "get_weather", {"city": "Paris"})
    assert result.content == "Sunny, 21 C in Paris"
    assert result.error_message is None and result.error_code is None
    assert result.metadata == {
        "endpoint": endpoint.label,
        "structured_content": {"result": "Sunny, 21 C in Paris"},
    }
    added = await invoke_mcp_tool(endpoint, "add", {"a": 2, "b": 40})
    assert added.content == "42"


async def test_tool_error_is_a_result_not_an_exception(endpoint: McpEndpoint) -> None:
    result = await invoke_mcp_tool(endpoint, "get_weather", {"city": "Atlantis"})
    assert result.error_code == 1
    assert result.error_message == "Error executing tool get_weather: Unknown city: Atlantis"


async def test_unknown_tool_lists_the_tools(endpoint: McpEndpoint) -> None:
    with pytest.raises(NotFoundError) as caught:
        await invoke_mcp_tool(endpoint, "get_wether", {"city": "Paris"})
    assert caught.value.available == TOOL_NAMES
    assert "Tool 'get_wether' not found. Available: add, echo_header" in str(caught.value)
    assert endpoint.label in str(caught.value)


async def test_bad_arguments_name_the_fields(endpoint: McpEndpoint) -> None:
    with pytest.raises(BadRequestError) as caught:
        await invoke_mcp_tool(endpoint, "add", {"a": "two"})
    message = str(caught.value)
    assert message.startswith(f"Invalid arguments for tool 'add' of MCP server {endpoint.label}")
    assert "a: 'two' is not of type 'integer'" in message and "b: required, missing" in message
    assert caught.value.details == {"tool": "add", "fields": ["a", "b"]}


async def test_text_of_a_structured_result(http_url: str) -> None:
    result = await invoke_mcp_tool(http_url, "lookup_order", {"order_id": "A-100"})
    assert result.metadata is not None
    assert result.metadata["structured_content"] == {
        "order_id": "A-100",
        "status": "shipped",
        "items": 2,
    }
    assert result.content is not None and '"status": "shipped"' in result.content


async def test_headers_reach_the_http_server(http_url: str) -> None:
    endpoint = {"url": http_url, "headers": {"Authorization": "Bearer s3cret", "X-Team": "blue"}}
    auth = await invoke_mcp_tool(endpoint, "echo_header", {"header": "Authorization"})
    team = await invoke_mcp_tool(endpoint, "echo_header", {"header": "x-team"})
    assert (auth.content, team.content) == ("Bearer s3cret", "blue")
    bare = await invoke_mcp_tool(http_url, "echo_header", {"header": "Authorization"})
    assert bare.content == "<none>"


async def test_sse_headers_reach_the_server(sse_url: str) -> None:
    endpoint = {"url": sse_url, "headers": {"X-Team": "blue"}}
    team = await invoke_mcp_tool(endpoint, "echo_header", {"header": "x-team"})
    assert team.content == "blue"


def test_transport_order() -> None:
    def order(url: str, transport: str = "auto") -> list[str]:
        return list(
            http_transports(McpEndpoint.model_validate({"url": url, "transport": transport}))
        )

    assert order("http://h:1/mcp") == ["streamable_http", "sse"]
    assert order("http://h:1/sse") == ["sse", "streamable_http"]  # as Llama Stack picks
    assert order("http://h:1/v1/sse/") == ["sse", "streamable_http"]
    assert order("http://h:1/sse", "streamable_http") == ["streamable_http"]
    assert order("http://h:1/mcp", "sse") == ["sse"]


async def test_auto_falls_back_to_the_transport_the_server_speaks() -> None:
    # URLs that don't say which transport: each server is found by trying the other one.
    with (
        McpHttpServer(transport="sse", path="/events") as sse_url,
        McpHttpServer(transport="http", path="/api/sse") as http_url,
    ):
        for url in (sse_url, http_url):
            added = await invoke_mcp_tool(url, "add", {"a": 2, "b": 3})
            assert added.content == "5"
        assert http_transports(McpEndpoint(url=sse_url))[0] == "sse"  # remembered
        assert http_transports(McpEndpoint(url=http_url))[0] == "streamable_http"
        pinned = {"url": sse_url, "transport": "streamable_http", "timeout_s": 5}
        with pytest.raises(ProviderError, match="MCP error"):
            await list_mcp_tools(pinned)  # no fallback when the transport is given


async def test_unreachable_url_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    with pytest.raises(ProviderUnavailableError, match="can't connect to the MCP server") as caught:
        await list_mcp_tools(url)
    assert caught.value.provider_id == url and url in str(caught.value)
    with pytest.raises(ProviderUnavailableError, match=url):
        await invoke_mcp_tool(url, "add", {"a": 1, "b": 2})


async def test_silent_server_times_out() -> None:
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/mcp"
        started = time.monotonic()
        with pytest.raises(ProviderUnavailableError, match=r"did not answer within 0.5 s"):
            await list_mcp_tools({"url": url, "timeout_s": 0.5})
        assert time.monotonic() - started < 5


async def test_a_url_that_is_not_an_mcp_server() -> None:
    from tests.support.stub_server import StubOpenAIServer

    with StubOpenAIServer() as stub, pytest.raises(ProviderError, match="MCP error"):
        await list_mcp_tools(stub.base_url.removesuffix("/v1") + "/mcp")


async def test_stdio_command_failures() -> None:
    with pytest.raises(ProviderUnavailableError, match="can't start the MCP server"):
        await list_mcp_tools({"command": "/nonexistent/mcp-server"})
    exits = {"command": sys.executable, "args": ["-c", "raise SystemExit(3)"]}
    with pytest.raises(ProviderUnavailableError, match="closed the connection"):
        await list_mcp_tools(exits)


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({}, "give `url` (streamable HTTP or SSE) or `command` (stdio)"),
        ({"url": "http://x/mcp", "command": "srv"}, "not both"),
        ({"command": "srv", "headers": {"A": "b"}}, "headers go with `url`"),
        ({"url": "http://x/mcp", "args": ["-v"]}, "args, env and cwd go with `command`"),
        ({"url": "ftp://x/mcp"}, "must start with http:// or https://"),
        ({"command": "srv", "transport": "sse"}, "transport goes with `url`"),
        ({"url": "http://x/mcp", "timeout_s": 0}, "greater than 0"),
    ],
)
def test_endpoint_validation(fields: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(problem)):
        McpEndpoint.model_validate(fields)
    with pytest.raises(
        BadRequestError, match=r"^Invalid MCP endpoint: \w+: .*" + re.escape(problem)
    ):
        as_endpoint(fields)


def test_endpoint_forms_and_labels() -> None:
    assert as_endpoint("http://h/mcp") == McpEndpoint(url="http://h/mcp")
    assert as_endpoint({"uri": "http://h/mcp"}).url == "http://h/mcp"  # Llama Stack's shape
    assert as_endpoint({"url": "http://bob:pw@h/mcp"}).label == "http://bob:**********@h/mcp"
    stdio = as_endpoint({"command": "npx", "args": ["-y", "server-everything"]})
    assert stdio.label == "npx -y server-everything"
    assert (stdio.timeout_s, stdio.call_timeout_s) == (30.0, 300.0)


async def test_missing_sdk_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mcp", None)  # `import mcp` now fails
    with pytest.raises(MissingDependencyError, match=r"pip install 'llama-workbench\[agents\]'"):
        await list_mcp_tools("http://127.0.0.1:1/mcp")
