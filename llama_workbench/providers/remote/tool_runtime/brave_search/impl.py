"""Brave Search's web search API (GET /res/v1/web/search, key in X-Subscription-Token)."""

from __future__ import annotations

from typing import Any

import httpx

from llama_workbench.providers.remote.tool_runtime.brave_search.config import (
    BraveSearchToolConfig,
)
from llama_workbench.providers.utils.search_tools import (
    WEB_SEARCH_TOOL,
    WEBSEARCH_GROUP,
    SearchToolRuntime,
    SearchToolSpec,
)

# The fields of each result type the model is shown (Llama Stack 0.7.3's selection), and
# whether a `mixed.main` entry points at one result (by its index) or at all of that type.
_KEPT: dict[str, tuple[frozenset[str], bool]] = {
    "web": (frozenset({"type", "title", "url", "description", "date", "extra_snippets"}), True),
    "faq": (frozenset({"type", "question", "answer", "title", "url"}), False),
    "infobox": (frozenset({"type", "title", "url", "description", "long_desc"}), True),
    "videos": (frozenset({"type", "url", "title", "description", "date"}), False),
    "locations": (
        frozenset(
            {
                "type",
                "title",
                "url",
                "description",
                "coordinates",
                "postal_address",
                "contact",
                "rating",
                "distance",
                "zoom_level",
            }
        ),
        False,
    ),
    "news": (frozenset({"type", "title", "url", "description"}), False),
}


class BraveSearchToolRuntime(SearchToolRuntime):
    spec = SearchToolSpec(
        group=WEBSEARCH_GROUP,
        name=WEB_SEARCH_TOOL,
        description="Search the web for information",
        query_description="The query to search for",
        key_env="BRAVE_SEARCH_API_KEY",
        key_field="brave_search_api_key",
    )

    def __init__(self, provider_id: str, config: BraveSearchToolConfig) -> None:
        super().__init__(provider_id, config, config.base_url, config.max_results)

    def _request(
        self, client: httpx.AsyncClient, query: str, key: str, limit: int | None
    ) -> httpx.Request:
        headers = {"X-Subscription-Token": key, "Accept-Encoding": "gzip"}
        return client.build_request(
            "GET", "/res/v1/web/search", params={"q": query}, headers=headers
        )

    def _content(self, payload: Any, limit: int | None) -> str:
        """One line per entry of the ranked `mixed.main` list (up to max_results): the kept
        fields of the result it points at, written as Llama Stack 0.7.3 writes them."""
        lines = []
        for entry in (payload.get("mixed") or {}).get("main", [])[:limit]:
            kind = entry["type"]
            if kind not in _KEPT:
                lines.append("")
                continue
            keys, one = _KEPT[kind]
            results = payload[kind]["results"]
            if one:
                picked: Any = _pick(results[entry.get("index") or 0], keys)
            else:
                picked = [_pick(r, keys) for r in results]
            lines.append(str(picked))
        return "\n".join(lines)

    def _sources(self, payload: Any, limit: int | None) -> list[str]:
        web = (payload.get("web") or {}).get("results", [])
        return [str(r["url"]) for r in web[:limit] if r.get("url")]


def _pick(result: dict[str, Any], keys: frozenset[str]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k in keys}
