"""The Inference API protocols: what callers use, and what inference providers implement."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal, Protocol, runtime_checkable

from llama_workbench.apis.inference.models import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    EmbeddingsRequest,
    EmbeddingsResponse,
    StoredChatCompletion,
    StoredChatCompletionList,
)
from llama_workbench.apis.inference.rerank_models import RerankRequest, RerankResponse
from llama_workbench.apis.models.models import Model, ProviderModel


@runtime_checkable
class InferenceCore(Protocol):
    """Chat completions, completions and embeddings: what the API and its providers share."""

    async def chat_completion(
        self, request: ChatCompletionRequest
    ) -> ChatCompletion | AsyncIterator[ChatCompletionChunk]:
        """A chat completion; with `stream=True`, an async iterator of chunks."""
        ...

    async def completion(
        self, request: CompletionRequest
    ) -> Completion | AsyncIterator[Completion]:
        """A text completion; with `stream=True`, an async iterator of partial completions."""
        ...

    async def embeddings(self, request: EmbeddingsRequest) -> EmbeddingsResponse:
        """Embedding vectors for one text or a batch."""
        ...


@runtime_checkable
class Inference(InferenceCore, Protocol):
    """Chat completions, completions and embeddings for any registered model."""

    async def list_chat_completions(
        self,
        after: str | None = None,
        limit: int = 20,
        model: str | None = None,
        order: Literal["asc", "desc"] = "desc",
    ) -> StoredChatCompletionList:
        """Stored chat completions, newest first; `after` is the last id of the previous page."""
        ...

    async def get_chat_completion(self, completion_id: str) -> StoredChatCompletion:
        """One stored chat completion, with its input messages."""
        ...

    async def rerank(self, request: RerankRequest) -> RerankResponse:
        """`request.items` ordered by relevance to its query, by a model of type rerank."""
        ...


@runtime_checkable
class InferenceProvider(InferenceCore, Protocol):
    """What an inference provider implements; `request.model` is the provider's own model id."""

    async def list_provider_models(self) -> list[ProviderModel]:
        """Models this provider serves without registration (static or discovered)."""
        ...

    async def register_model(self, model: Model) -> Model:
        """Check that the provider can serve `model`; may fill in metadata (dimension, ...)."""
        ...

    async def shutdown(self) -> None:
        """Release clients, threads and loaded weights."""
        ...


@runtime_checkable
class RerankProvider(Protocol):
    """An inference provider that also serves rerank models (optional: checked when used)."""

    async def rerank(self, request: RerankRequest) -> RerankResponse:
        """Relevance scores of `request.items`; `request.model` is the provider's model id."""
        ...
