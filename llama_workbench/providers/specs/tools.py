"""Tool runtimes: MCP servers and the hosted search tools."""

from __future__ import annotations

from llama_workbench.core.datatypes import Api, ProviderSpec
from llama_workbench.providers.specs.inference import remote_specs

_P = "llama_workbench.providers"

_SEARCH = (  # Llama Stack 0.7.3's search tool runtimes, one builtin tool group each
    ("brave-search", "BraveSearchToolConfig", "web_search (builtin::websearch) by Brave Search."),
    ("tavily-search", "TavilySearchToolConfig", "web_search (builtin::websearch) by Tavily."),
    ("bing-search", "BingSearchToolConfig", "web_search (builtin::websearch) by Bing."),
    ("wolfram-alpha", "WolframAlphaToolConfig", "wolfram_alpha (builtin::wolfram_alpha)."),
)


def mcp_specs() -> list[ProviderSpec]:
    """MCP servers as tool groups."""
    return [
        ProviderSpec(
            api=Api.tool_runtime,
            provider_type="remote::model-context-protocol",
            module=f"{_P}.remote.tool_runtime.model_context_protocol",
            config_class=f"{_P}.remote.tool_runtime.model_context_protocol.config:ModelContextProtocolConfig",
            description="The tools of MCP servers (stdio or streamable HTTP), one mcp::<name> group each.",
            pip_packages=("mcp",),
            pip_extra="agents",
        ),
    ]


def search_specs() -> list[ProviderSpec]:
    """The hosted search tool runtimes, one builtin tool group each."""
    return remote_specs(Api.tool_runtime, _SEARCH)
