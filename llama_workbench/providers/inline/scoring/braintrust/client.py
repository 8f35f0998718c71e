"""An autoevals LLM client over the stack's Inference API: no OpenAI SDK, no key, no network."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from autoevals.oai import LLMClient

from llama_workbench.apis.inference.api import Inference
from llama_workbench.apis.inference.models import (
    ChatCompletion,
    ChatCompletionRequest,
    EmbeddingsRequest,
)
from llama_workbench.core.errors import BadRequestError, ProviderError

# Request fields autoevals may add that the Inference API has no use for.
_DROPPED = ("use_responses_api", "span_info", "reasoning_enabled", "reasoning_budget")


class InferenceAdapter:
    """What autoevals calls (OpenAI-shaped kwargs in, dicts out), answered by the stack.

    Every chat call goes to `judge_model` and every embedding call to `embedding_model`,
    whatever model autoevals names: its defaults are OpenAI model names.
    """

    def __init__(
        self,
        inference: Inference,
        provider_id: str,
        judge_model: str | None,
        embedding_model: str | None,
    ) -> None:
        self._inference = inference
        self._provider_id = provider_id
        self._judge_model = judge_model
        self._embedding_model = embedding_model

    async def complete(self, **kwargs: Any) -> dict[str, Any]:
        if not self._judge_model:
            raise BadRequestError("This scorer needs a judge model; none is configured.")
        for key in _DROPPED:
            kwargs.pop(key, None)
        kwargs["model"] = self._judge_model
        if kwargs.get("temperature") is None:
            kwargs["temperature"] = 0.0  # judging should not be a dice roll
        response = await self._inference.chat_completion(
            ChatCompletionRequest.model_validate(kwargs)
        )
        if not isinstance(response, ChatCompletion):
            raise ProviderError(self._provider_id, "expected one chat completion, got a stream")
        return response.model_dump(mode="json", exclude_none=True)

    async def embed(self, **kwargs: Any) -> dict[str, Any]:
        if not self._embedding_model:
            raise BadRequestError("This scorer needs an embedding model; none is configured.")
        request = EmbeddingsRequest(model=self._embedding_model, input=kwargs["input"])
        response = await self._inference.embeddings(request)
        return response.model_dump(mode="json")

    async def moderation(self, **kwargs: Any) -> dict[str, Any]:
        raise BadRequestError("inline::braintrust offers no moderation scorers.")


class NeverRaised(Exception):
    """autoevals retries calls that raise its client's RateLimitError; the stack's own errors
    (already retried by the providers where that makes sense) are not retried again."""


@dataclass
class StackLLMClient(LLMClient):
    """LLMClient with its methods given: its own set-up (which wraps an OpenAI SDK client and
    needs the `openai` package) is skipped."""

    def __post_init__(self) -> None:
        self._is_wrapped = False


def stack_client(adapter: InferenceAdapter) -> StackLLMClient:
    return StackLLMClient(
        openai=adapter,
        complete=adapter.complete,
        embed=adapter.embed,
        moderation=adapter.moderation,
        RateLimitError=NeverRaised,
        is_async=True,
    )
