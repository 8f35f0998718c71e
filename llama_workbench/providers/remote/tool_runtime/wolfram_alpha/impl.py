"""Wolfram|Alpha's Full Results API (GET /v2/query?output=json, the AppID as `appid`)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from llama_workbench.core.errors import AuthenticationError, ProviderError
from llama_workbench.providers.remote.tool_runtime.wolfram_alpha.config import (
    WolframAlphaToolConfig,
)
from llama_workbench.providers.utils.search_tools import SearchToolRuntime, SearchToolSpec

# What the model is not shown (Llama Stack 0.7.3's selection): timings, server details, ...
_DROPPED = frozenset(
    {
        "datatypes",
        "error",
        "timedout",
        "timedoutpods",
        "numpods",
        "timing",
        "parsetiming",
        "parsetimedout",
        "recalculate",
        "id",
        "host",
        "server",
        "related",
        "version",
        "assumptions",
    }
)
_POD_DROPPED = frozenset(
    {"scanner", "id", "error", "expressiontypes", "states", "infos", "position", "numsubpods"}
)


class WolframAlphaToolRuntime(SearchToolRuntime):
    spec = SearchToolSpec(
        group="builtin::wolfram_alpha",
        name="wolfram_alpha",
        description="Query WolframAlpha for computational knowledge",
        query_description="The query to compute",
        key_env="WOLFRAM_ALPHA_API_KEY",
        key_field="wolfram_alpha_api_key",
    )

    def __init__(self, provider_id: str, config: WolframAlphaToolConfig) -> None:
        super().__init__(provider_id, config, config.base_url)

    def _request(
        self, client: httpx.AsyncClient, query: str, key: str, limit: int | None
    ) -> httpx.Request:
        params = {"input": query, "appid": key, "format": "plaintext", "output": "json"}
        return client.build_request("GET", "/v2/query", params=params)

    def _content(self, payload: Any, limit: int | None) -> str:
        """The answer's JSON without what the model has no use for; pods up to the one
        titled "Result"."""
        result = payload["queryresult"]
        self._check(result)
        kept = {k: v for k, v in result.items() if k not in _DROPPED}
        if isinstance(result.get("pods"), list):
            pods = []
            for pod in result["pods"]:
                pods.append({k: v for k, v in pod.items() if k not in _POD_DROPPED})
                if pod.get("title") == "Result":
                    break
            kept["pods"] = pods
        return json.dumps({"queryresult": kept})

    def _check(self, result: dict[str, Any]) -> None:
        """Wolfram|Alpha answers a bad AppID with 200 and an error element (code 1: invalid,
        2: missing), not a 401."""
        error = result.get("error")
        if not isinstance(error, dict):
            return
        code, message = str(error.get("code", "")), str(error.get("msg", error))
        if code in ("1", "2"):
            raise AuthenticationError(
                f"Provider '{self.provider_id}' rejected its API key (error {code}): {message}. "
                f"Check api_key in its config ({self.spec.key_env} in the starter config)."
            )
        raise ProviderError(self.provider_id, f"error {code}: {message}")
