"""Connectors on our server (/v1beta/connectors): MCP servers declared in the run config's
`connectors:` and MCP tool groups (HTTP or SSE; stdio ones have no URL and are not listed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from llama_workbench import Stack
from llama_workbench.core.errors import ConfigError
from llama_workbench.server.runner import BackgroundServer, start_server
from tests.support.mcp_server import TOOL_NAMES, McpHttpServer, free_port, stdio_endpoint


@pytest.fixture(scope="module")
def declared_url() -> Iterator[str]:
    with McpHttpServer(name="declared-server") as url:
        yield url


@pytest.fixture(scope="module")
def sse_url() -> Iterator[str]:
    with McpHttpServer(name="sse-server", transport="sse") as url:
        yield url


def _config(data_dir: Path, declared_url: str, sse_url: str) -> dict[str, Any]:
    servers = [
        {"toolgroup_id": "mcp::sse", "url": sse_url},
        {"toolgroup_id": "mcp::stdio", **stdio_endpoint(name="stdio-server")},
    ]
    return {
        "data_dir": str(data_dir),
        "apis": ["tool_runtime"],
        "providers": {
            "tool_runtime": [
                {
                    "provider_id": "mcp",
                    "provider_type": "remote::model-context-protocol",
                    "config": {"servers": servers},
                }
            ]
        },
        "connectors": [
            {"connector_id": "docs", "url": declared_url, "server_label": "Docs"},
        ],
    }


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, declared_url: str, sse_url: str
) -> Iterator[tuple[BackgroundServer, Stack]]:
    config = _config(tmp_path_factory.mktemp("connectors"), declared_url, sse_url)
    with Stack.from_config(config) as stack, start_server(stack, port=free_port()) as running:
        yield running, stack


def get(server: BackgroundServer, path: str, **params: str) -> httpx.Response:
    return httpx.get(f"{server.url}/v1beta/connectors{path}", params=params, timeout=60)


def test_list_connectors(server: tuple[BackgroundServer, Stack], sse_url: str) -> None:
    running, _ = server
    data = get(running, "").json()["data"]
    assert [(c["connector_id"], c["connector_type"]) for c in data] == [
        ("docs", "mcp"),
        ("mcp::sse", "mcp"),
    ]
    assert data[0]["server_label"] == "Docs" and data[1]["url"] == sse_url


def test_get_connector_asks_its_server(server: tuple[BackgroundServer, Stack]) -> None:
    running, _ = server
    docs = get(running, "/docs").json()
    assert docs["server_name"] == "declared-server" and "server_version" in docs
    assert docs["server_label"] == "Docs"
    assert get(running, "/mcp::sse").json()["server_name"] == "sse-server"


def test_connector_tools(server: tuple[BackgroundServer, Stack]) -> None:
    running, _ = server
    tools = get(running, "/docs/tools").json()["data"]
    assert sorted(t["name"] for t in tools) == sorted(TOOL_NAMES)
    add = get(running, "/mcp::sse/tools/add", authorization="secret-token").json()
    assert add["name"] == "add" and set(add["input_schema"]["properties"]) == {"a", "b"}


def test_unknown_connectors_and_tools_are_404s(server: tuple[BackgroundServer, Stack]) -> None:
    running, _ = server
    missing = get(running, "/nope")
    assert missing.status_code == 404 and "docs" in missing.json()["error"]["message"]
    assert get(running, "/nope/tools").status_code == 404
    assert get(running, "/mcp::stdio").status_code == 404  # stdio: no URL to connect to
    tool = get(running, "/docs/tools/no_such_tool")
    assert tool.status_code == 404 and "connector 'docs'" in tool.json()["error"]["message"]


def test_a_registered_tool_group_is_a_connector(
    server: tuple[BackgroundServer, Stack], declared_url: str
) -> None:
    running, stack = server
    stack.tool_runtime.register_tool_group("mcp::late", mcp_endpoint={"url": declared_url})
    try:
        ids = [c["connector_id"] for c in get(running, "").json()["data"]]
        assert ids == ["docs", "mcp::sse", "mcp::late"]
        assert stack.connectors.get_connector("mcp::late").server_name == "declared-server"
    finally:
        stack.tool_runtime.unregister_tool_group("mcp::late")


def test_bad_connectors_in_the_config(tmp_path: Path) -> None:
    config = {"data_dir": str(tmp_path), "connectors": [{"connector_id": "x"}]}
    with pytest.raises(ConfigError, match=r"connectors\[0\]\.url"):
        Stack.from_config(config)
