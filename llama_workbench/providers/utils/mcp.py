"""A small client layer over the `mcp` SDK: list and call the tools of an MCP server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import tempfile
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from llama_workbench.apis.tool_runtime.models import ToolDef, ToolInvocationResult
from llama_workbench.core.errors import (
    BadRequestError,
    LlamaWorkbenchError,
    MissingDependencyError,
    NotFoundError,
    ProviderError,
    ProviderUnavailableError,
)
from llama_workbench.core.redact import scrub

if TYPE_CHECKING:
    from mcp import Client
    from mcp_types import CallToolResult, ContentBlock, Tool

_MAX_PAGES = 100  # a server whose tool listing never ends can't hang a call
_CONNECTION_CLOSED = -32000  # mcp_types.CONNECTION_CLOSED (SDK-only codes)
_REQUEST_TIMEOUT = -32001  # mcp_types.REQUEST_TIMEOUT
_AUTH_STATUSES = (401, 403)  # the other transport would be refused the same way

HttpTransport = Literal["streamable_http", "sse"]
# The transport that last worked per URL, tried first next time (Llama Stack 0.7 caches it too).
_WORKED: dict[str, HttpTransport] = {}
_MAX_REMEMBERED = 1024


class McpEndpoint(BaseModel):
    """Where an MCP server is: a `url` (+ headers) served over streamable HTTP or SSE, or a
    stdio `command`."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(
        None, description="HTTP endpoint, e.g. http://host/mcp (streamable) or http://host/sse."
    )
    transport: Literal["auto", "streamable_http", "sse"] = Field(
        "auto",
        description="HTTP transport of `url`. auto (Llama Stack's rule): SSE first for a URL "
        "ending in /sse, else streamable HTTP first, the other one when the first is refused.",
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="HTTP headers sent with every request (url only)."
    )
    command: str | None = Field(None, description="Executable that serves MCP over stdio.")
    args: list[str] = Field(default_factory=list, description="Arguments of `command`.")
    env: dict[str, str] = Field(
        default_factory=dict, description="Extra environment variables of `command`."
    )
    cwd: str | None = Field(None, description="Working directory of `command`.")
    timeout_s: float = Field(
        30.0, gt=0, description="Seconds to connect and to get each listing answered."
    )
    call_timeout_s: float = Field(300.0, gt=0, description="Seconds a tool call may take.")

    @model_validator(mode="before")
    @classmethod
    def _uri_is_url(cls, data: Any) -> Any:
        # Llama Stack's tool groups name an MCP endpoint {"uri": ...}.
        if isinstance(data, Mapping) and "uri" in data and "url" not in data:
            data = {("url" if k == "uri" else k): v for k, v in data.items()}
        return data

    @model_validator(mode="after")
    def _one_transport(self) -> McpEndpoint:
        if self.url is None and self.command is None:
            raise ValueError("give `url` (streamable HTTP or SSE) or `command` (stdio)")
        if self.url is not None and self.command is not None:
            raise ValueError("give `url` (streamable HTTP or SSE) or `command` (stdio), not both")
        if self.url is not None:
            if not self.url.startswith(("http://", "https://")):
                raise ValueError(f"url must start with http:// or https://, got {scrub(self.url)}")
            if self.args or self.env or self.cwd:
                raise ValueError("args, env and cwd go with `command`, not with `url`")
        elif self.headers:
            raise ValueError("headers go with `url`, not with `command`")
        elif self.transport != "auto":
            raise ValueError("transport goes with `url`; `command` servers speak stdio")
        return self

    @property
    def label(self) -> str:
        """How messages name the server: its URL (passwords masked) or its command line."""
        if self.url is not None:
            return scrub(self.url)
        return " ".join([self.command or "", *self.args])


def as_endpoint(endpoint: McpEndpoint | Mapping[str, Any] | str) -> McpEndpoint:
    """An McpEndpoint from itself, a dict of its fields, or a plain URL."""
    if isinstance(endpoint, McpEndpoint):
        return endpoint
    try:
        if isinstance(endpoint, str):
            return McpEndpoint(url=endpoint)
        return McpEndpoint.model_validate(dict(endpoint))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'endpoint'}: "
            + e["msg"].removeprefix("Value error, ")
            for e in exc.errors()
        )
        raise BadRequestError(f"Invalid MCP endpoint: {problems}") from None


async def list_mcp_tools(endpoint: McpEndpoint | Mapping[str, Any] | str) -> list[ToolDef]:
    """The tools an MCP server offers, as ToolDefs (metadata["endpoint"] names the server)."""
    ep = as_endpoint(endpoint)
    try:
        async with _connect(ep) as client:
            tools = await _list(client)
    except Exception as exc:
        raise _translate(ep, exc) from exc
    return [_tool_def(ep, t) for t in tools]


async def mcp_server_info(endpoint: McpEndpoint | Mapping[str, Any] | str) -> dict[str, str]:
    """What an MCP server says about itself when it connects: name, version, description (and
    its instructions when it has no description); keys it leaves out are absent."""
    ep = as_endpoint(endpoint)
    try:
        async with _connect(ep) as client:
            info, instructions = client.server_info, client.instructions
    except Exception as exc:
        raise _translate(ep, exc) from exc
    found = {
        "name": getattr(info, "name", None),
        "version": getattr(info, "version", None),
        "description": getattr(info, "description", None) or instructions,
    }
    return {key: str(value) for key, value in found.items() if value}


async def invoke_mcp_tool(
    endpoint: McpEndpoint | Mapping[str, Any] | str, tool_name: str, arguments: Mapping[str, Any]
) -> ToolInvocationResult:
    """Call one tool; a tool-reported error comes back as error_message with error_code 1.

    An unknown tool name or arguments that don't match the tool's input schema raise
    (NotFoundError / BadRequestError) before anything is sent to the tool.
    """
    ep = as_endpoint(endpoint)
    args = dict(arguments or {})
    try:
        async with _connect(ep) as client:
            tools = await _list(client)
            tool = _find(ep, tools, tool_name)
            _check_arguments(ep, tool, args)
            result = await client.call_tool(tool_name, args, read_timeout_seconds=ep.call_timeout_s)
    except Exception as exc:
        raise _translate(ep, exc) from exc
    return _result(ep, result)


# -- connection


def _sdk() -> Any:
    try:
        import mcp
        import mcp.client.sse
        import mcp.client.stdio
        import mcp.client.streamable_http
    except ImportError:
        raise MissingDependencyError("mcp", "agents", needed_by="MCP tools") from None
    return mcp


@asynccontextmanager
async def _connect(ep: McpEndpoint) -> AsyncIterator[Client]:
    """A connected, initialized client; the connection (or the subprocess) ends with the block."""
    mcp = _sdk()
    async with AsyncExitStack() as stack:
        if ep.url is not None:
            yield await _open_url(stack, mcp, ep, ep.url)
            return
        params = mcp.client.stdio.StdioServerParameters(
            command=ep.command, args=ep.args, env=ep.env or None, cwd=ep.cwd
        )
        transport = mcp.client.stdio.stdio_client(params, errlog=_errlog(stack))
        yield await _open(stack, mcp, ep, transport)


async def _open(stack: AsyncExitStack, mcp: Any, ep: McpEndpoint, transport: Any) -> Client:
    client = mcp.Client(transport, read_timeout_seconds=ep.timeout_s)
    async with asyncio.timeout(ep.timeout_s):
        await stack.enter_async_context(client)
    return client


async def _open_url(stack: AsyncExitStack, mcp: Any, ep: McpEndpoint, url: str) -> Client:
    """A client over the first transport the server accepts (see McpEndpoint.transport); when
    none does, the first one's error."""
    first: Exception | None = None
    for kind in http_transports(ep):
        attempt = AsyncExitStack()
        try:
            client = await _open(attempt, mcp, ep, await _http_transport(attempt, mcp, ep, kind))
        except Exception as exc:
            await _close_quietly(attempt)
            if not _other_transport_may_work(exc):
                raise
            first = first or exc
            continue
        if len(_WORKED) >= _MAX_REMEMBERED:
            _WORKED.clear()
        _WORKED[url] = kind
        stack.push_async_exit(attempt.__aexit__)
        return client
    assert first is not None
    raise first


def http_transports(ep: McpEndpoint) -> list[HttpTransport]:
    """The transports to try for a URL endpoint, in order."""
    if ep.transport != "auto":
        return [ep.transport]
    order: list[HttpTransport] = ["streamable_http", "sse"]
    remembered = _WORKED.get(ep.url or "")
    if remembered == "sse" or (remembered is None and _sse_path(ep.url or "")):
        order.reverse()
    return order


def _sse_path(url: str) -> bool:
    return urlsplit(url).path.rstrip("/").endswith("/sse")


async def _http_transport(
    stack: AsyncExitStack, mcp: Any, ep: McpEndpoint, kind: HttpTransport
) -> Any:
    assert ep.url is not None
    if kind == "sse":
        return mcp.client.sse.sse_client(
            ep.url, headers=ep.headers, timeout=ep.timeout_s, sse_read_timeout=ep.call_timeout_s
        )
    import httpx2  # a dependency of mcp

    http = await stack.enter_async_context(
        httpx2.AsyncClient(
            headers=ep.headers, timeout=httpx2.Timeout(ep.timeout_s, read=ep.call_timeout_s)
        )
    )
    return mcp.client.streamable_http.streamable_http_client(ep.url, http_client=http)


def _other_transport_may_work(exc: Exception) -> bool:
    """Whether a failed connection is a refusal of the transport (an MCP or HTTP error), not an
    unreachable, silent or unauthorized server."""
    import httpx2
    from mcp.shared.exceptions import MCPError

    for leaf in _leaves(exc):
        if isinstance(leaf, httpx2.HTTPStatusError):
            return leaf.response.status_code not in _AUTH_STATUSES
        if isinstance(leaf, MCPError):
            return True
    return False


async def _close_quietly(stack: AsyncExitStack) -> None:
    # The failed attempt's own error is the one that matters; closing it may raise again.
    with contextlib.suppress(Exception):
        await stack.aclose()


def _errlog(stack: AsyncExitStack) -> Any:
    """Where a stdio server's stderr goes: ours when it is a real file; in a Jupyter kernel
    (whose sys.stderr has no file descriptor) a temporary file, so the server can start."""
    try:
        sys.stderr.fileno()
        return sys.stderr
    except (AttributeError, OSError, ValueError):
        return stack.enter_context(tempfile.TemporaryFile("w+"))


async def _list(client: Client) -> list[Tool]:
    tools: list[Tool] = []
    cursor: str | None = None
    for _ in range(_MAX_PAGES):
        page = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if cursor is None:
            break
    return tools


# -- conversions and checks


def _tool_def(ep: McpEndpoint, tool: Tool) -> ToolDef:
    return ToolDef(
        name=tool.name,
        description=tool.description or tool.title or "",
        input_schema=dict(tool.input_schema),
        output_schema=dict(tool.output_schema) if tool.output_schema is not None else None,
        metadata={"endpoint": ep.label},
    )


def _find(ep: McpEndpoint, tools: list[Tool], name: str) -> Tool:
    for tool in tools:
        if tool.name == name:
            return tool
    raise NotFoundError("Tool", name, [t.name for t in tools], hint=f"(MCP server {ep.label})")


def _check_arguments(ep: McpEndpoint, tool: Tool, arguments: dict[str, Any]) -> None:
    from jsonschema import exceptions, validators  # a dependency of mcp

    try:
        validator = validators.validator_for(tool.input_schema)(tool.input_schema)
        errors = sorted(validator.iter_errors(arguments), key=exceptions.relevance)
    except exceptions.SchemaError:
        return  # the server's schema is its own business; the server validates again
    if not errors:
        return
    problems = [_problem(e) for e in errors]
    raise BadRequestError(
        f"Invalid arguments for tool '{tool.name}' of MCP server {ep.label}: "
        + "; ".join(f"{field}: {message}" for field, message in problems),
        details={"tool": tool.name, "fields": [field for field, _ in problems]},
    )


def _problem(error: Any) -> tuple[str, str]:
    """(field, message) of a jsonschema error; a missing property is named as the field."""
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [r for r in error.validator_value if r not in error.instance]
        if missing:
            return ".".join([*path, str(missing[0])]), "required, missing"
    return ".".join(path) or "(arguments)", str(error.message)


def _result(ep: McpEndpoint, result: CallToolResult) -> ToolInvocationResult:
    texts = [t for t in (_block_text(b) for b in result.content) if t is not None]
    content = "\n".join(texts) if texts else None
    if content is None and result.structured_content is not None:
        content = json.dumps(result.structured_content, ensure_ascii=False)
    metadata: dict[str, Any] = {"endpoint": ep.label}
    if result.structured_content is not None:
        metadata["structured_content"] = result.structured_content
    if result.is_error:
        message = content or f"Tool call failed on MCP server {ep.label} (no message)."
        return ToolInvocationResult(
            content=content, error_message=message, error_code=1, metadata=metadata
        )
    return ToolInvocationResult(content=content, metadata=metadata)


def _block_text(block: ContentBlock) -> str | None:
    kind = getattr(block, "type", None)
    if kind == "text":
        return str(getattr(block, "text", ""))
    if kind == "resource":
        return getattr(getattr(block, "resource", None), "text", None)
    if kind == "resource_link":
        return str(getattr(block, "uri", ""))
    return None  # images and audio have no text form


# -- errors


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for sub in exc.exceptions for leaf in _leaves(sub)]
    return [exc]


def _translate(ep: McpEndpoint, exc: Exception) -> LlamaWorkbenchError:
    """The error to raise for a failure anywhere in a session (task groups wrap them in groups)."""
    leaves = [e for e in _leaves(exc) if not isinstance(e, asyncio.CancelledError)] or [exc]
    ours = [e for e in leaves if isinstance(e, LlamaWorkbenchError)]
    if ours:  # ours (MissingDependencyError too) are raised as they are
        return ours[0]
    import httpx2  # a dependency of mcp, which got this far
    from mcp.shared.exceptions import MCPError

    leaf = leaves[0]
    if isinstance(leaf, TimeoutError):
        return ProviderUnavailableError(
            ep.label, f"the MCP server did not answer within {ep.timeout_s:g} s (timeout_s)."
        )
    if isinstance(leaf, MCPError):
        return _mcp_error(ep, leaf.code, leaf.message)
    if isinstance(leaf, httpx2.HTTPStatusError):
        status = leaf.response.status_code
        return ProviderError(
            ep.label, f"the MCP server answered HTTP {status}.", upstream_status=status
        )
    if isinstance(leaf, httpx2.TransportError | OSError):
        kind = "connect to" if ep.url is not None else "start"
        return ProviderUnavailableError(
            ep.label, f"can't {kind} the MCP server: {scrub(str(leaf)) or type(leaf).__name__}"
        )
    return ProviderError(ep.label, f"MCP request failed: {type(leaf).__name__}: {scrub(str(leaf))}")


def _mcp_error(ep: McpEndpoint, code: int, message: str) -> LlamaWorkbenchError:
    if code == _REQUEST_TIMEOUT:
        return ProviderUnavailableError(ep.label, f"the MCP server timed out: {message}.")
    if code == _CONNECTION_CLOSED:
        hint = "" if ep.url is not None else " (did the command exit? its stderr says why)"
        return ProviderUnavailableError(ep.label, f"the MCP server closed the connection{hint}.")
    return ProviderError(ep.label, f"MCP error {code}: {scrub(message)}")
