"""Tools of the Responses API: what a request offers the model, and its tool_choice."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from llama_workbench.apis.base import ApiModel
from llama_workbench.apis.vector_io.models import RankingOptions


class OpenModel(ApiModel):
    """Tolerates fields added by newer clients (they are kept, not rejected)."""

    model_config = ConfigDict(extra="allow")


class FunctionTool(OpenModel):
    """A function the caller runs: the response stops with a function_call item."""

    type: Literal["function"] = "function"
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class FileSearchTool(OpenModel):
    """Search over vector stores, run by the server."""

    type: Literal["file_search"] = "file_search"
    vector_store_ids: list[str] = Field(min_length=1)
    filters: dict[str, Any] | None = None
    max_num_results: int | None = Field(10, ge=1, le=50)
    ranking_options: RankingOptions | None = None


class AllowedToolsFilter(ApiModel):
    tool_names: list[str] | None = None


def _names(value: list[str] | AllowedToolsFilter | None) -> list[str] | None:
    return value.tool_names if isinstance(value, AllowedToolsFilter) else value


class ApprovalFilter(ApiModel):
    """Which tools need approval: OpenAI's {"always": {"tool_names": [...]}, "never": {...}} or
    Llama Stack's {"always": [...], "never": [...]}; a tool named in neither needs it."""

    always: list[str] | AllowedToolsFilter | None = None
    never: list[str] | AllowedToolsFilter | None = None


class McpTool(OpenModel):
    """Tools of an MCP server: by URL (streamable HTTP or SSE), or a server the stack configures
    (mcp::<label>)."""

    type: Literal["mcp"] = "mcp"
    server_label: str = Field(min_length=1)
    server_url: str | None = None
    connector_id: str | None = Field(
        None, description="A connector (GET /v1beta/connectors) whose server to use."
    )
    headers: dict[str, str] | None = None
    authorization: str | None = None
    require_approval: Literal["never", "always"] | ApprovalFilter = "never"
    allowed_tools: list[str] | AllowedToolsFilter | None = None

    def allowed(self, name: str) -> bool:
        names = _names(self.allowed_tools)
        return names is None or name in names

    def needs_approval(self, name: str) -> bool:
        """Whether a call of tool `name` waits for the user's approval (Llama Stack 0.7's rule)."""
        rule = self.require_approval
        if not isinstance(rule, ApprovalFilter):
            return rule == "always"
        if name in (_names(rule.always) or []):
            return True
        return name not in (_names(rule.never) or [])


WebSearchType = Literal[
    "web_search", "web_search_preview", "web_search_preview_2025_03_11", "web_search_2025_08_26"
]


class WebSearchTool(OpenModel):
    """Web search, run by the server with the stack's web search tool runtime
    (builtin::websearch: remote::brave-search, remote::tavily-search or remote::bing-search)."""

    type: WebSearchType = "web_search"
    # Accepted as Llama Stack 0.7.3 accepts it; the search provider's own settings decide.
    search_context_size: Literal["low", "medium", "high"] | None = "medium"


ResponseTool = Annotated[
    FunctionTool | FileSearchTool | McpTool | WebSearchTool, Field(discriminator="type")
]


class ToolChoiceFunction(ApiModel):
    type: Literal["function"] = "function"
    name: str


class ToolChoiceMcp(ApiModel):
    type: Literal["mcp"] = "mcp"
    server_label: str
    name: str | None = None


class ToolChoiceFileSearch(ApiModel):
    type: Literal["file_search"] = "file_search"


class ToolChoiceWebSearch(ApiModel):
    type: WebSearchType = "web_search"


class ToolChoiceAllowedTools(ApiModel):
    """Offer the model only these of the request's tools: {"type": "function", "name": ...},
    {"type": "file_search"}, {"type": "web_search"}, {"type": "mcp", "server_label": ...(,
    "name": ...)}."""

    type: Literal["allowed_tools"] = "allowed_tools"
    mode: Literal["auto", "required"] = "auto"
    tools: list[dict[str, Any]] = Field(min_length=1)


ToolChoice = (
    Literal["auto", "none", "required"]
    | Annotated[
        ToolChoiceFunction
        | ToolChoiceMcp
        | ToolChoiceFileSearch
        | ToolChoiceWebSearch
        | ToolChoiceAllowedTools,
        Field(discriminator="type"),
    ]
)
