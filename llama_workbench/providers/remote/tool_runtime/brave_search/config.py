"""Config of remote::brave-search (Llama Stack 0.7.3's keys: api_key, max_results)."""

from __future__ import annotations

from pydantic import Field

from llama_workbench.providers.utils.search_tools import SearchToolConfig


class BraveSearchToolConfig(SearchToolConfig):
    max_results: int = Field(3, ge=1, description="How many results the model gets.")
    base_url: str = Field(
        "https://api.search.brave.com", description="The Brave Search API (a stub in tests)."
    )
