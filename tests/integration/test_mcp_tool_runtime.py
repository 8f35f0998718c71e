"""remote::model-context-protocol in a real Stack: MCP servers (stdio, HTTP) as mcp:: tool groups."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from llama_workbench import Stack
from llama_workbench.core.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    ProviderUnavailableError,
)
from tests.support.mcp_server import TOOL_NAMES, McpHttpServer, free_port, stdio_endpoint

TOKEN = "Bearer team-token"


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    with McpHttpServer(name="http-server") as url:
        yield url


@pytest.fixture(scope="module")
def other_url() -> Iterator[str]:
    with McpHttpServer(name="other-server") as url:
        yield url


def mcp_config(data_dir: Path, servers: list[dict[str, Any]], **config: Any) -> dict[str, Any]:
    provider = {
        "provider_id": "mcp",
        "provider_type": "remote::model-context-protocol",
        "config": {"servers": servers, **config},
    }
    return {
        "data_dir": str(data_dir),
        "apis": ["tool_runtime"],
        "providers": {"tool_runtime": [provider]},
    }


def two_servers(data_dir: Path, http_url: str) -> dict[str, Any]:
    return mcp_config(
        data_dir,
        [
            {"toolgroup_id": "mcp::http", "url": http_url, "headers": {"Authorization": TOKEN}},
            {"toolgroup_id": "mcp::stdio", **stdio_endpoint(name="stdio-server")},
        ],
    )


def test_groups_tools_and_calls(tmp_path: Path, http_url: str) -> None:
    with Stack.from_config(two_servers(tmp_path, http_url)) as stack:
        groups = stack.tool_runtime.list_tool_groups()
        assert [(g.identifier, g.provider_id) for g in groups] == [
            ("mcp::http", "mcp"),
            ("mcp::stdio", "mcp"),
        ]
        assert groups[0].mcp_endpoint == {"uri": http_url} and groups[1].mcp_endpoint is None
        tools = stack.tool_runtime.list_tools("mcp::stdio")
        assert sorted(t.name for t in tools) == TOOL_NAMES
        assert {t.toolgroup_id for t in tools} == {"mcp::stdio"}
        assert len(stack.tool_runtime.list_tools()) == 2 * len(TOOL_NAMES)

        http = stack.tool_runtime.invoke_tool("get_weather", {"city": "Oslo"}, "mcp::http")
        assert http.content == "Snow, -3 C in Oslo" and http.error_message is None
        # The configured headers reach the HTTP server; a stdio server has none.
        header = {"header": "Authorization"}
        assert stack.tool_runtime.invoke_tool("echo_header", header, "mcp::http").content == TOKEN
        assert stack.tool_runtime.invoke_tool("echo_header", header, "mcp::stdio").content == (
            "<none>"
        )
        failed = stack.tool_runtime.invoke_tool("get_weather", {"city": "Mars"}, "mcp::stdio")
        assert failed.error_code == 1 and "Unknown city: Mars" in (failed.error_message or "")


def test_a_name_two_groups_serve_needs_toolgroup_id(tmp_path: Path, http_url: str) -> None:
    with Stack.from_config(two_servers(tmp_path, http_url)) as stack:
        with pytest.raises(BadRequestError, match=r"\(mcp::http, mcp::stdio\); pass toolgroup_id"):
            stack.tool_runtime.invoke_tool("server_name", {})
        for group, name in (("mcp::http", "http-server"), ("mcp::stdio", "stdio-server")):
            assert stack.tool_runtime.invoke_tool("server_name", {}, group).content == name
        with pytest.raises(NotFoundError, match="Tool group 'mcp::nope' not found"):
            stack.tool_runtime.invoke_tool("server_name", {}, "mcp::nope")
        with pytest.raises(NotFoundError, match=r"Tool 'nope' not found\. Available: add, "):
            stack.tool_runtime.invoke_tool("nope", {})
        with pytest.raises(BadRequestError, match="Invalid arguments for tool 'add'"):
            stack.tool_runtime.invoke_tool("add", {"a": 1}, "mcp::http")


def test_a_server_that_is_down_does_not_block_the_others(tmp_path: Path, http_url: str) -> None:
    down = f"http://127.0.0.1:{free_port()}/mcp"
    config = mcp_config(
        tmp_path,
        [{"toolgroup_id": "mcp::down", "url": down}, {"toolgroup_id": "mcp::up", "url": http_url}],
    )
    with Stack.from_config(config) as stack:
        assert stack.tool_runtime.invoke_tool("add", {"a": 1, "b": 2}).content == "3"
        with pytest.raises(
            NotFoundError, match=f"Tool group mcp::down could not be listed: .*{down}"
        ):
            stack.tool_runtime.invoke_tool("nope", {})
        with pytest.raises(ProviderUnavailableError, match="can't connect to the MCP server"):
            stack.tool_runtime.invoke_tool("add", {"a": 1, "b": 2}, "mcp::down")
        with pytest.raises(ProviderUnavailableError, match=down):
            stack.tool_runtime.list_tools()


def test_registration_survives_a_rebuild(tmp_path: Path, http_url: str, other_url: str) -> None:
    config = mcp_config(tmp_path, [{"toolgroup_id": "mcp::http", "url": http_url}])
    with Stack.from_config(config) as stack:
        group = stack.tool_runtime.register_tool_group(
            "mcp::other", mcp_endpoint={"url": other_url}, args={"team": "blue"}
        )
        assert (group.identifier, group.provider_id, group.args) == (
            "mcp::other",
            "mcp",
            {"team": "blue"},
        )
        stack.tool_runtime.register_tool_group("mcp::local", mcp_endpoint=stdio_endpoint("local"))
    with Stack.from_config(config) as stack:
        ids = [g.identifier for g in stack.tool_runtime.list_tool_groups()]
        assert ids == ["mcp::http", "mcp::other", "mcp::local"]
        assert stack.tool_runtime.invoke_tool("server_name", {}, "mcp::other").content == (
            "other-server"
        )
        assert stack.tool_runtime.invoke_tool("server_name", {}, "mcp::local").content == "local"
        stack.tool_runtime.unregister_tool_group("mcp::other")
        assert "mcp::other" not in [g.identifier for g in stack.tool_runtime.list_tool_groups()]
    with Stack.from_config(config) as stack:
        ids = [g.identifier for g in stack.tool_runtime.list_tool_groups()]
        assert ids == ["mcp::http", "mcp::local"]


def test_an_sse_server_as_a_tool_group(tmp_path: Path) -> None:
    with McpHttpServer(name="sse-server", transport="sse") as sse_url:
        config = mcp_config(tmp_path, [{"toolgroup_id": "mcp::sse", "url": sse_url}])
        with Stack.from_config(config) as stack:
            assert sorted(t.name for t in stack.tool_runtime.list_tools("mcp::sse")) == TOOL_NAMES
            answer = stack.tool_runtime.invoke_tool("server_name", {}, "mcp::sse")
            assert answer.content == "sse-server"
            # Llama Stack's shape, {"uri": ...}, registered at run time.
            stack.tool_runtime.register_tool_group("mcp::again", mcp_endpoint={"uri": sse_url})
            added = stack.tool_runtime.invoke_tool("add", {"a": 4, "b": 5}, "mcp::again")
            assert added.content == "9"


def test_registration_errors(tmp_path: Path, http_url: str) -> None:
    config = mcp_config(tmp_path, [{"toolgroup_id": "mcp::http", "url": http_url}])
    with Stack.from_config(config) as stack:
        register = stack.tool_runtime.register_tool_group
        with pytest.raises(BadRequestError, match="toolgroup_id must look like 'mcp::<name>'"):
            register("weather", mcp_endpoint={"url": http_url})
        with pytest.raises(ConflictError, match="Tool group 'mcp::http' already exists"):
            register("mcp::http", mcp_endpoint={"url": http_url})
        with pytest.raises(BadRequestError, match="needs mcp_endpoint"):
            register("mcp::nothing")
        with pytest.raises(BadRequestError, match="Invalid MCP endpoint"):
            register("mcp::both", mcp_endpoint={"url": http_url, "command": "x"})
        with pytest.raises(NotFoundError, match="Tool runtime provider 'rag' not found"):
            register("mcp::x", provider_id="rag", mcp_endpoint=http_url)
        down = f"http://127.0.0.1:{free_port()}/mcp"
        with pytest.raises(ProviderUnavailableError, match=down):
            register("mcp::down", mcp_endpoint=down)
        with pytest.raises(BadRequestError, match="comes from the run config"):
            stack.tool_runtime.unregister_tool_group("mcp::http")
        with pytest.raises(NotFoundError, match="Tool group 'mcp::down' not found"):
            stack.tool_runtime.unregister_tool_group("mcp::down")
        assert [g.identifier for g in stack.tool_runtime.list_tool_groups()] == ["mcp::http"]


def test_without_persistence_registrations_live_in_memory(tmp_path: Path, http_url: str) -> None:
    config = mcp_config(tmp_path, [], persistence=None)
    with Stack.from_config(config) as stack:
        stack.tool_runtime.register_tool_group("mcp::mem", mcp_endpoint=http_url)
        assert stack.tool_runtime.invoke_tool("add", {"a": 2, "b": 2}).content == "4"
    with Stack.from_config(config) as stack:
        assert stack.tool_runtime.list_tool_groups() == []


def test_config_errors_surface_at_load(tmp_path: Path) -> None:
    from llama_workbench.core.errors import ConfigError

    bad_id = mcp_config(tmp_path, [{"toolgroup_id": "weather", "url": "http://h/mcp"}])
    with pytest.raises(ConfigError, match="toolgroup_id must look like 'mcp::<name>'"):
        Stack.from_config(bad_id)
    twice = [{"toolgroup_id": "mcp::a", "url": "http://h/mcp"}] * 2
    with pytest.raises(ConfigError, match="toolgroup_id repeated in servers: mcp::a"):
        Stack.from_config(mcp_config(tmp_path, twice))
    neither = [{"toolgroup_id": "mcp::a"}]
    with pytest.raises(ConfigError, match="give `url`"):
        Stack.from_config(mcp_config(tmp_path, neither))


def test_rest_routes(tmp_path: Path, http_url: str) -> None:
    from llama_workbench.server.runner import start_server

    with (
        Stack.from_config(two_servers(tmp_path, http_url)) as stack,
        start_server(stack, port=free_port()) as server,
    ):
        groups = httpx.get(f"{server.url}/v1/toolgroups").json()["data"]
        assert [g["identifier"] for g in groups] == ["mcp::http", "mcp::stdio"]
        assert "headers" not in str(groups) and TOKEN not in str(groups)
        body = {"tool_name": "server_name", "kwargs": {}, "toolgroup_id": "mcp::stdio"}
        answer = httpx.post(f"{server.url}/v1/tool-runtime/invoke", json=body, timeout=30)
        assert answer.status_code == 200 and answer.json()["content"] == "stdio-server"
        body.pop("toolgroup_id")
        ambiguous = httpx.post(f"{server.url}/v1/tool-runtime/invoke", json=body, timeout=30)
        assert ambiguous.status_code == 400 and "pass toolgroup_id" in ambiguous.text
