"""The Inference API protocols: what callers use, and what inference providers implement."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from llama_workbench.apis.inference.models import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    EmbeddingsRequest,
    EmbeddingsResponse,
)
from llama_workbench.apis.models.models import Model, ProviderModel


@runtime_checkable
class Inference(Protocol):
    """Chat completions, completions and embeddings for any registered model."""

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
class InferenceProvider(Inference, Protocol):
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
