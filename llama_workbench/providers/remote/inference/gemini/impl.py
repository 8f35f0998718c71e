"""remote::gemini's adapter: the shared OpenAI-compatible one, with Gemini's differences."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator

import httpx

from llama_workbench.apis.inference.models import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
)
from llama_workbench.core.errors import LlamaWorkbenchError, ProviderError
from llama_workbench.providers.utils.openai_compat import OpenAICompatAdapter
from llama_workbench.providers.utils.request_keys import caller_key_rejected


class GeminiAdapter(OpenAICompatAdapter):
    """Gemini answers a wrong key with a 400 (reason API_KEY_INVALID), streams each tool call
    whole without `index`, and ends a turn that called tools with finish_reason "stop"."""

    async def chat_completion(
        self, request: ChatCompletionRequest
    ) -> ChatCompletion | AsyncIterator[ChatCompletionChunk]:
        result = await super().chat_completion(request)
        if not isinstance(result, ChatCompletion):
            return _numbered(result)
        for choice in result.choices:
            if choice.message.tool_calls and choice.finish_reason == "stop":
                choice.finish_reason = "tool_calls"
        return result

    def _error(self, response: httpx.Response) -> LlamaWorkbenchError:
        if response.status_code != 400 or "API_KEY_INVALID" not in response.text:
            return super()._error(response)
        message = _message(response)
        if self._api_key()[1]:
            field = self.config.provider_data_api_key_field
            return caller_key_rejected(self.provider_id, field, 400, message)
        return ProviderError(
            self.provider_id, f"rejected our credentials (400): {message}", upstream_status=400
        )


def _message(response: httpx.Response) -> str:
    """The message of Gemini's error body, a list of one {"error": {...}}."""
    try:
        payload = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(payload, list) and payload:
        payload = payload[0]
    error = payload.get("error") if isinstance(payload, dict) else None
    return str(error.get("message") if isinstance(error, dict) else payload)


async def _numbered(
    chunks: AsyncIterator[ChatCompletionChunk],
) -> AsyncIterator[ChatCompletionChunk]:
    """Tool calls numbered by id, per choice, as OpenAI's stream numbers them."""
    seen: defaultdict[int, dict[str, int]] = defaultdict(dict)
    async for chunk in chunks:
        for choice in chunk.choices:
            calls = seen[choice.index]
            for call in choice.delta.tool_calls or []:
                if call.id:
                    call.index = calls.setdefault(call.id, len(calls))
                elif call.function is not None and call.function.name:
                    call.index = len(calls)
                    calls[f"#{len(calls)}"] = call.index
            if choice.finish_reason == "stop" and calls:
                choice.finish_reason = "tool_calls"
        yield chunk
