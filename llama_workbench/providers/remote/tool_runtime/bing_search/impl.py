"""Bing Web Search v7 (GET /v7.0/search, key in Ocp-Apim-Subscription-Key)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from llama_workbench.providers.remote.tool_runtime.bing_search.config import BingSearchToolConfig
from llama_workbench.providers.utils.search_tools import (
    WEB_SEARCH_TOOL,
    WEBSEARCH_GROUP,
    SearchToolRuntime,
    SearchToolSpec,
)

_PAGE_KEYS = frozenset({"name", "url", "snippet"})
_NEWS_KEYS = frozenset({"name", "url", "description"})


class BingSearchToolRuntime(SearchToolRuntime):
    spec = SearchToolSpec(
        group=WEBSEARCH_GROUP,
        name=WEB_SEARCH_TOOL,
        description="Search the web using Bing Search API",
        query_description="The query to search for",
        key_env="BING_API_KEY",
        key_field="bing_search_api_key",
    )

    def __init__(self, provider_id: str, config: BingSearchToolConfig) -> None:
        super().__init__(provider_id, config, config.base_url, config.top_k)

    def _request(
        self, client: httpx.AsyncClient, query: str, key: str, limit: int | None
    ) -> httpx.Request:
        params: dict[str, str | int | bool] = {
            "count": min(limit or 3, 50),  # Bing's most
            "textDecorations": True,
            "textFormat": "HTML",
            "q": query,
        }
        headers = {"Ocp-Apim-Subscription-Key": key}
        return client.build_request("GET", "/v7.0/search", params=params, headers=headers)

    def _content(self, payload: Any, limit: int | None) -> str:
        """{"query": ..., "top_k": [pages..., [news...]]}, as Llama Stack 0.7.3 gives it."""
        found: list[Any] = [
            {k: v for k, v in page.items() if k in _PAGE_KEYS}
            for page in (payload.get("webPages") or {}).get("value", [])
        ]
        if "news" in payload:
            news = payload["news"].get("value", [])
            found.append([{k: v for k, v in n.items() if k in _NEWS_KEYS} for n in news])
        query = payload["queryContext"]["originalQuery"]
        return json.dumps({"query": query, "top_k": found})

    def _sources(self, payload: Any, limit: int | None) -> list[str]:
        pages = (payload.get("webPages") or {}).get("value", [])
        return [str(p["url"]) for p in pages if p.get("url")]
