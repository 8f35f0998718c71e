"""Config of remote::wolfram-alpha (Llama Stack 0.7.3's key: api_key, the AppID)."""

from __future__ import annotations

from pydantic import Field

from llama_workbench.providers.utils.search_tools import SearchToolConfig


class WolframAlphaToolConfig(SearchToolConfig):
    base_url: str = Field(
        "https://api.wolframalpha.com", description="The Wolfram|Alpha API (a stub in tests)."
    )
