"""A real MCP server for tests (stdio, streamable HTTP or SSE) with deterministic tools, and helpers."""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

ROOT = Path(__file__).resolve().parents[2]
WEATHER = {"Paris": "Sunny, 21 C in Paris", "Oslo": "Snow, -3 C in Oslo"}
ORDERS: dict[str, dict[str, Any]] = {
    "A-100": {"order_id": "A-100", "status": "shipped", "items": 2},
    "B-200": {"order_id": "B-200", "status": "processing", "items": 1},
}
TOOL_NAMES = ["add", "echo_header", "get_weather", "lookup_order", "server_name"]


def build_server(name: str = "workbench-test") -> MCPServer:
    """The MCPServer with the test tools (`name` is what the server_name tool answers)."""
    server = MCPServer(name, log_level="WARNING")

    @server.tool()
    def get_weather(city: str) -> str:
        """Current weather of a city."""
        if city not in WEATHER:
            raise ToolError(f"Unknown city: {city}")
        return WEATHER[city]

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @server.tool()
    def lookup_order(order_id: str) -> dict[str, Any]:
        """Look up an order by its id."""
        if order_id not in ORDERS:
            raise ToolError(f"No order {order_id}")
        return ORDERS[order_id]

    @server.tool()
    def echo_header(header: str, ctx: Context) -> str:
        """The value of an HTTP request header ('<none>' when absent or over stdio)."""
        headers = ctx.headers or {}
        return str(headers.get(header.lower(), "<none>"))

    @server.tool()
    def server_name() -> str:
        """The name this server was started with."""
        return name

    return server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stdio_endpoint(name: str = "workbench-test") -> dict[str, Any]:
    """An McpEndpoint (as a dict) that starts this server over stdio."""
    return {
        "command": sys.executable,
        "args": ["-m", "tests.support.mcp_server", "--transport", "stdio", "--name", name],
        "cwd": str(ROOT),
    }


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class McpHttpServer:
    """`with McpHttpServer() as url:` serves the test tools at url (streamable HTTP) until exit.

    The server is a subprocess (`python -m tests.support.mcp_server --transport http`) on a
    free 127.0.0.1 port; entering waits until it accepts connections. With transport="sse" it
    speaks the SSE transport instead, at a url ending in /sse.
    """

    def __init__(
        self,
        name: str = "workbench-test",
        timeout_s: float = 30.0,
        transport: str = "http",
        path: str | None = None,
    ) -> None:
        self.name = name
        self.port = free_port()
        self.transport = transport
        self.path = path or ("/sse" if transport == "sse" else "/mcp")
        self.url = f"http://127.0.0.1:{self.port}{self.path}"
        self._timeout_s = timeout_s
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> str:
        cmd = [sys.executable, "-m", "tests.support.mcp_server", "--transport", self.transport]
        self._proc = subprocess.Popen(
            [*cmd, "--port", str(self.port), "--name", self.name, "--path", self.path],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
        )
        try:
            self._wait_until_listening(self._proc)
        except BaseException:
            self.__exit__()
            raise
        return self.url

    def _wait_until_listening(self, proc: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self._timeout_s
        while not _answers(self.port):
            if proc.poll() is not None:
                raise RuntimeError(
                    f"MCP test server exited with {proc.returncode} (its stderr is above)"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"MCP test server did not listen on port {self.port}")
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.05)  # the poll interval; also notices an early exit

    def __exit__(self, *exc: object) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transport", choices=["stdio", "http", "sse"], default="stdio")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--name", default="workbench-test")
    parser.add_argument("--path", default=None, help="URL path (default /mcp, or /sse for sse)")
    args = parser.parse_args(argv)
    server = build_server(args.name)
    if args.transport == "stdio":
        server.run("stdio")
    elif args.transport == "sse":
        server.run("sse", host="127.0.0.1", port=args.port, sse_path=args.path or "/sse")
    else:
        path = args.path or "/mcp"
        server.run("streamable-http", host="127.0.0.1", port=args.port, streamable_http_path=path)


if __name__ == "__main__":
    main()
