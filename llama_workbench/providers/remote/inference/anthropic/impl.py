"""remote::anthropic: chat completions served by Anthropic's Messages API (httpx, natively)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from llama_workbench.apis.inference.models import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
)
from llama_workbench.core.errors import (
    LlamaWorkbenchError,
    ProviderError,
    ProviderUnavailableError,
    RateLimitError,
)
from llama_workbench.providers.remote.inference.anthropic import messages
from llama_workbench.providers.remote.inference.anthropic.config import AnthropicConfig
from llama_workbench.providers.utils.openai_compat import OpenAICompatAdapter

_PAGE = 1000  # the most models GET /v1/models returns at once


class AnthropicAdapter(OpenAICompatAdapter):
    """Chat completions (plain, streamed, tool calls) over POST /v1/messages; models listed
    from GET /v1/models. Anthropic serves neither text completions nor embeddings."""

    config: AnthropicConfig

    def _key_headers(self, key: str) -> dict[str, str]:
        return {"x-api-key": key, "anthropic-version": self.config.anthropic_version}

    async def _discover_model_ids(self) -> list[str]:
        """GET /v1/models, page by page (`has_more`, `last_id`)."""
        ids: list[str] = []
        after: str | None = None
        while True:
            query = f"?limit={_PAGE}" + (f"&after_id={after}" if after else "")
            page = await self._json("GET", f"/models{query}")
            items = page.get("data") if isinstance(page, dict) else None
            if not isinstance(items, list):
                raise ProviderError(
                    self.provider_id, f"unexpected /models response: {str(page)[:200]}"
                )
            ids += [str(m["id"]) for m in items if isinstance(m, dict) and "id" in m]
            after = page.get("last_id")
            if not page.get("has_more") or not after:
                return ids

    async def chat_completion(
        self, request: ChatCompletionRequest
    ) -> ChatCompletion | AsyncIterator[ChatCompletionChunk]:
        body = messages.request_body(request, self.config.default_max_tokens)
        if request.stream:
            response = await self._send("POST", "/messages", body, stream=True)
            include_usage = bool(request.stream_options and request.stream_options.include_usage)
            return self._chunks(response, messages.StreamMapper(request.model, include_usage))
        payload = await self._json("POST", "/messages", body)
        if not isinstance(payload, dict) or "id" not in payload:
            raise ProviderError(self.provider_id, f"unexpected reply: {str(payload)[:200]}")
        return messages.chat_completion(payload, request.model)

    async def _chunks(
        self, response: httpx.Response, mapper: messages.StreamMapper
    ) -> AsyncIterator[ChatCompletionChunk]:
        from httpx_sse import EventSource

        try:
            async for event in EventSource(response).aiter_sse():
                try:
                    data = json.loads(event.data) if event.data else {}
                except json.JSONDecodeError:
                    raise ProviderError(
                        self.provider_id, f"malformed stream event: {event.data[:200]!r}"
                    ) from None
                if event.event == "error":
                    raise self._stream_failure(data)
                for chunk in mapper.chunks(event.event, data):
                    yield chunk
        except httpx.TransportError as exc:
            raise ProviderUnavailableError(
                self.provider_id, f"stream interrupted: {type(exc).__name__}"
            ) from None
        finally:
            await response.aclose()

    def _stream_failure(self, data: dict[str, Any]) -> LlamaWorkbenchError:
        """An `error` event mid-stream (the HTTP status was already 200)."""
        error = data.get("error") or {}
        kind, message = error.get("type", "error"), error.get("message", str(data)[:200])
        if kind == "rate_limit_error":
            return RateLimitError(f"Provider '{self.provider_id}' rate limit: {message}")
        if kind in ("overloaded_error", "api_error"):
            return ProviderUnavailableError(self.provider_id, f"{kind}: {message}")
        return ProviderError(self.provider_id, f"{kind}: {message}")

    def _error(self, response: httpx.Response) -> LlamaWorkbenchError:
        if response.status_code == 529:  # Anthropic's "overloaded"
            return ProviderUnavailableError(
                self.provider_id, f"529 overloaded: {response.text[:200]}", upstream_status=529
            )
        return super()._error(response)
