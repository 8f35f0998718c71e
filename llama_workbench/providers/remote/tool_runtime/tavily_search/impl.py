"""Tavily's search API (POST /search, the key as `api_key` in the body)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from llama_workbench.providers.remote.tool_runtime.tavily_search.config import (
    TavilySearchToolConfig,
)
from llama_workbench.providers.utils.search_tools import (
    WEB_SEARCH_TOOL,
    WEBSEARCH_GROUP,
    SearchToolRuntime,
    SearchToolSpec,
)


class TavilySearchToolRuntime(SearchToolRuntime):
    spec = SearchToolSpec(
        group=WEBSEARCH_GROUP,
        name=WEB_SEARCH_TOOL,
        description="Search the web for information",
        query_description="The query to search for",
        key_env="TAVILY_SEARCH_API_KEY",
        key_field="tavily_search_api_key",
    )

    def __init__(self, provider_id: str, config: TavilySearchToolConfig) -> None:
        super().__init__(provider_id, config, config.base_url, config.max_results)

    def _request(
        self, client: httpx.AsyncClient, query: str, key: str, limit: int | None
    ) -> httpx.Request:
        body = {"api_key": key, "query": query, "max_results": min(limit or 3, 20)}  # its max
        return client.build_request("POST", "/search", json=body)

    def _content(self, payload: Any, limit: int | None) -> str:
        """{"query": ..., "top_k": [results as Tavily gives them]}, as Llama Stack 0.7.3."""
        results = list(payload["results"])[:limit]
        return json.dumps({"query": payload["query"], "top_k": results})

    def _sources(self, payload: Any, limit: int | None) -> list[str]:
        results = list(payload["results"])[:limit]
        return [str(r["url"]) for r in results if r.get("url")]
