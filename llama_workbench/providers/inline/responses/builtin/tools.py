"""The tools of one response: what the model is offered, and how the server runs its own calls."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, get_args

from llama_workbench.apis.responses.models import (
    FileSearchCallItem,
    FileSearchResult,
    FileSearchTool,
    FunctionTool,
    McpCallItem,
    McpListToolsItem,
    McpTool,
    McpToolInfo,
    ResponseTool,
    WebSearchAction,
    WebSearchCallItem,
    WebSearchSource,
    WebSearchTool,
    new_id,
)
from llama_workbench.apis.responses.tools import WebSearchType
from llama_workbench.apis.tool_runtime.models import ToolDef
from llama_workbench.core.errors import BadRequestError, LlamaWorkbenchError
from llama_workbench.providers.inline.responses.builtin.convert import format_results

FILE_SEARCH = "file_search"
WEB_SEARCH = "web_search"
WEBSEARCH_GROUP = "builtin::websearch"  # the tool group of Llama Stack's web search providers
_WEB_SEARCH_TYPES = set(get_args(WebSearchType))
_WEB_SEARCH_SCHEMA = {
    "type": "object",
    "properties": {"query": {"type": "string", "description": "The query to search for"}},
    "required": ["query"],
}
_NO_WEB_SEARCH = (
    "tools: '{kind}' needs a web search provider, and this stack has none: add a tool_runtime "
    "provider of type remote::brave-search, remote::tavily-search or remote::bing-search with "
    "its api_key (the starter distribution turns one on when BRAVE_SEARCH_API_KEY, "
    "TAVILY_SEARCH_API_KEY or BING_API_KEY is set)."
)
_FILE_SEARCH_SCHEMA = {
    "type": "object",
    "properties": {"query": {"type": "string", "description": "What to search the files for."}},
    "required": ["query"],
}


@dataclass
class ToolDeps:
    """The stack APIs server-side tools use (each may be absent from a stack)."""

    vector_io: Any = None
    tool_runtime: Any = None
    connectors: Any = None  # MCP tools by connector_id
    timeout_s: float = 60.0


@dataclass
class _McpBinding:
    tool: McpTool
    endpoint: Any  # an McpEndpoint for server_url tools; None for the stack's mcp:: groups


class ToolSet:
    """Function tools (run by the caller), file_search and MCP tools (run here)."""

    def __init__(self, tools: list[ResponseTool], deps: ToolDeps) -> None:
        self._deps = deps
        self._chat_tools: list[dict[str, Any]] = []
        self._functions: set[str] = set()
        self._file_search: FileSearchTool | None = None
        self._web_search: WebSearchTool | None = None
        self._mcp_tools: dict[str, _McpBinding] = {}
        self.mcp_servers: list[McpTool] = []
        for tool in tools:
            if isinstance(tool, FunctionTool):
                self._offer(tool.name, tool.description, tool.parameters)
                if tool.strict is not None:  # the model's provider honours it or refuses it
                    self._chat_tools[-1]["function"]["strict"] = tool.strict
                self._functions.add(tool.name)
            elif isinstance(tool, FileSearchTool):
                if self._file_search is not None:
                    raise BadRequestError(
                        "tools: give one file_search tool (list every store in it)."
                    )
                self._file_search = tool
                self._offer(FILE_SEARCH, "Search the attached files.", _FILE_SEARCH_SCHEMA)
            elif isinstance(tool, McpTool):
                self.mcp_servers.append(tool)
            elif isinstance(tool, WebSearchTool):
                if self._web_search is not None:
                    raise BadRequestError("tools: give one web_search tool.")
                self._web_search = tool
                self._offer(WEB_SEARCH, "Search the web for information", _WEB_SEARCH_SCHEMA)

    def _offer(self, name: str, description: str | None, parameters: dict[str, Any] | None) -> None:
        if any(t["function"]["name"] == name for t in self._chat_tools):
            raise BadRequestError(
                f"tools: two tools are named '{name}'; tool names must be unique."
            )
        function = {"name": name, "description": description or "", "parameters": parameters}
        self._chat_tools.append({"type": "function", "function": function})

    @property
    def chat_tools(self) -> list[dict[str, Any]]:
        return list(self._chat_tools)

    def allowed_chat_tools(self, allowed: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The offered tools an `allowed_tools` tool_choice names (OpenAI's rule: only those)."""
        for spec in allowed:
            if spec.get("type") not in {"function", "file_search", "mcp", *_WEB_SEARCH_TYPES}:
                raise BadRequestError(
                    f"tool_choice.tools: {spec!r} is not a tool of this request; name tools as "
                    '{"type": "function", "name": ...}, {"type": "file_search"}, '
                    '{"type": "web_search"} or {"type": "mcp", "server_label": ...}.'
                )
        chosen = [t for t in self._chat_tools if self._named(t["function"]["name"], allowed)]
        if not chosen:
            names = ", ".join(t["function"]["name"] for t in self._chat_tools) or "none"
            raise BadRequestError(
                f"tool_choice.tools names none of the request's tools (offered: {names})."
            )
        return chosen

    def _named(self, name: str, allowed: list[dict[str, Any]]) -> bool:
        for spec in allowed:
            kind = spec.get("type")
            if kind == "function" and spec.get("name") == name and self.is_function(name):
                return True
            if kind == "file_search" and name == FILE_SEARCH and self._file_search is not None:
                return True
            if kind in _WEB_SEARCH_TYPES and name == WEB_SEARCH and self.has_web_search:
                return True
            label = self.server_label(name)
            same_server = kind == "mcp" and label and spec.get("server_label") == label
            if same_server and spec.get("name") in (None, name):
                return True
        return False

    def is_function(self, name: str) -> bool:
        return name in self._functions

    @property
    def has_web_search(self) -> bool:
        return self._web_search is not None

    def needs_approval(self, name: str) -> bool:
        """Whether a call of this MCP tool waits for the user (its server's require_approval)."""
        binding = self._mcp_tools.get(name)
        return binding is not None and binding.tool.needs_approval(name)

    def server_label(self, name: str) -> str | None:
        binding = self._mcp_tools.get(name)
        return binding.tool.server_label if binding else None

    async def check(self) -> None:
        """Fail before any work when a named vector store does not exist."""
        if self._file_search is not None:
            vector_io = self._require("vector_io", "file_search")
            for store_id in self._file_search.vector_store_ids:
                await vector_io.retrieve_vector_store(store_id)
        if self._web_search is not None:
            runtime = self._deps.tool_runtime
            groups = await runtime.list_tool_groups() if runtime is not None else []
            if not any(g.identifier == WEBSEARCH_GROUP for g in groups):
                raise BadRequestError(_NO_WEB_SEARCH.format(kind=self._web_search.type))

    def _require(self, api: str, tool: str) -> Any:
        impl = getattr(self._deps, api)
        if impl is None:
            raise BadRequestError(
                f"tools: '{tool}' needs the {api} API, which this stack does not enable."
            )
        return impl

    async def list_mcp(self, tool: McpTool) -> McpListToolsItem:
        """List an MCP server's tools and offer the allowed ones to the model."""
        defs, endpoint = await self._mcp_defs(tool)
        offered = [d for d in defs if tool.allowed(d.name)]
        for d in offered:
            self._offer(
                d.name, d.description, d.input_schema or {"type": "object", "properties": {}}
            )
            self._mcp_tools[d.name] = _McpBinding(tool, endpoint)
        infos = [
            McpToolInfo(name=d.name, description=d.description, input_schema=d.input_schema)
            for d in offered
        ]
        return McpListToolsItem(id=new_id("mcpl"), server_label=tool.server_label, tools=infos)

    async def _mcp_defs(self, tool: McpTool) -> tuple[list[ToolDef], Any]:
        if tool.server_url or tool.connector_id:
            from llama_workbench.providers.utils.mcp import list_mcp_tools

            endpoint = self._mcp_endpoint(tool)
            return await self._bounded(list_mcp_tools(endpoint)), endpoint
        runtime = self._require("tool_runtime", f"mcp server '{tool.server_label}'")
        group = f"mcp::{tool.server_label}"
        await runtime.get_tool_group(group)  # NotFoundError names the configured groups
        return await self._bounded(runtime.list_tools(group)), None

    def _mcp_endpoint(self, tool: McpTool) -> Any:
        """The server of a tool's server_url, else of its connector (as Llama Stack 0.7.3
        resolves connector_id); the tool's headers and authorization go along."""
        from llama_workbench.providers.utils.mcp import McpEndpoint

        headers = dict(tool.headers or {})
        if tool.authorization:
            headers["Authorization"] = f"Bearer {tool.authorization}"
        if tool.server_url:
            return McpEndpoint(url=tool.server_url, headers=headers)
        connectors = self._require("connectors", f"connector '{tool.connector_id}'")
        endpoint = connectors.endpoint(tool.connector_id)  # NotFoundError names the connectors
        return endpoint.model_copy(update={"headers": {**endpoint.headers, **headers}})

    async def _bounded(self, work: Any) -> Any:
        try:
            return await asyncio.wait_for(work, self._deps.timeout_s)
        except TimeoutError as exc:
            raise BadRequestError(f"A tool took longer than {self._deps.timeout_s:g} s.") from exc

    async def run_file_search(self, arguments: str) -> tuple[FileSearchCallItem, str]:
        assert self._file_search is not None
        tool = self._file_search
        try:
            query = _arguments(arguments).get("query")
        except ValueError:
            query = None
        if not isinstance(query, str) or not query.strip():
            item = FileSearchCallItem(id=new_id("fs"), queries=[], status="failed", results=[])
            return item, "Error: file_search needs a non-empty 'query' string."
        vector_io = self._require("vector_io", "file_search")
        results: list[FileSearchResult] = []
        for store_id in tool.vector_store_ids:
            page = await self._bounded(
                vector_io.search_vector_store(
                    store_id,
                    query,
                    filters=tool.filters,
                    max_num_results=tool.max_num_results or 10,
                    ranking_options=tool.ranking_options,
                )
            )
            for hit in page.data:
                text = "\n".join(c.text for c in hit.content)
                attributes = dict(hit.attributes or {})
                results.append(
                    FileSearchResult(
                        file_id=hit.file_id,
                        filename=hit.filename,
                        score=hit.score,
                        text=text,
                        attributes=attributes,
                    )
                )
        results.sort(key=lambda r: r.score, reverse=True)
        results = results[: tool.max_num_results or 10]
        item = FileSearchCallItem(
            id=new_id("fs"), queries=[query], status="completed", results=results
        )
        return item, format_results(query, [r.model_dump() for r in results])

    async def run_web_search(
        self, arguments: str, with_sources: bool = False
    ) -> tuple[WebSearchCallItem, str]:
        """Search with the stack's web search provider (builtin::websearch); the model reads
        the provider's results as Llama Stack 0.7.3 gives them, or the error."""
        try:
            query = _arguments(arguments).get("query")
        except ValueError:
            query = None
        item = WebSearchCallItem(id=new_id("ws"), status="failed")
        if not isinstance(query, str) or not query.strip():
            return item, "Error: web_search needs a non-empty 'query' string."
        item.action = WebSearchAction(query=query)
        size = self._web_search.search_context_size if self._web_search else None
        kwargs = {"query": query, "search_context_size": size}  # fewer or more results
        try:
            result = await self._bounded(
                self._deps.tool_runtime.invoke_tool(
                    WEB_SEARCH, kwargs, toolgroup_id=WEBSEARCH_GROUP
                )
            )
        except LlamaWorkbenchError as exc:
            return item, f"Error: {exc}"
        if result.error_message:
            return item, f"Error: {result.error_message}"
        item.status = "completed"
        if with_sources:
            urls = (result.metadata or {}).get("sources") or []
            item.action.sources = [WebSearchSource(url=str(u)) for u in urls]
        return item, result.content or ""

    async def run_mcp(self, call_id: str, name: str, arguments: str) -> tuple[McpCallItem, str]:
        binding = self._mcp_tools[name]
        item = McpCallItem(
            id=call_id, name=name, arguments=arguments, server_label=binding.tool.server_label
        )
        try:
            kwargs = _arguments(arguments)
            if binding.endpoint is not None:
                from llama_workbench.providers.utils.mcp import invoke_mcp_tool

                result = await self._bounded(invoke_mcp_tool(binding.endpoint, name, kwargs))
            else:
                group = f"mcp::{binding.tool.server_label}"
                result = await self._bounded(
                    self._deps.tool_runtime.invoke_tool(name, kwargs, toolgroup_id=group)
                )
        except (LlamaWorkbenchError, ValueError) as exc:
            item.error = str(exc)
            return item, f"Error: {exc}"
        if result.error_message:
            item.error = result.error_message
            return item, f"Error: {result.error_message}"
        item.output = result.content or ""
        return item, item.output


def _arguments(arguments: str) -> dict[str, Any]:
    try:
        value = json.loads(arguments or "{}")
    except json.JSONDecodeError as exc:
        raise ValueError(f"the arguments are not JSON ({exc.msg}): {arguments[:200]!r}") from exc
    if not isinstance(value, dict):
        raise ValueError(f"the arguments must be a JSON object, got {arguments[:200]!r}")
    return value
