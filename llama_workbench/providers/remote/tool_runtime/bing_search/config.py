"""Config of remote::bing-search (Llama Stack 0.7.3's keys: api_key, top_k)."""

from __future__ import annotations

from pydantic import Field

from llama_workbench.providers.utils.search_tools import SearchToolConfig


class BingSearchToolConfig(SearchToolConfig):
    top_k: int = Field(3, ge=1, le=50, description="How many results to ask for (count).")
    base_url: str = Field(
        "https://api.bing.microsoft.com", description="The Bing Search API (a stub in tests)."
    )
