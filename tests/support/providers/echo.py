"""A minimal third-party inference provider: answers by echoing, embeds by text length."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

from pydantic import BaseModel

from llama_workbench.apis.inference.models import (
    ChatChoice,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionRequest,
    ChoiceDelta,
    ChunkChoice,
    Completion,
    CompletionChoice,
    CompletionRequest,
    EmbeddingData,
    EmbeddingsRequest,
    EmbeddingsResponse,
    content_text,
)
from llama_workbench.apis.models.models import Model, ProviderModel
from llama_workbench.core.datatypes import Api, ProviderDeps, ProviderSpec

SPEC = ProviderSpec(
    api=Api.inference,
    provider_type="inline::echo",
    module="tests.support.providers.echo",
    config_class="tests.support.providers.echo:EchoConfig",
    description="Echoes the last message (a provider defined in the tests).",
)


class EchoConfig(BaseModel):
    prefix: str = "echo"
    models: list[str] = ["echo-1"]
    word_delay_s: float = 0.0


# Set when a stream ends early (its consumer went away): tests wait on it.
stream_closed = threading.Event()


class EchoInference:
    def __init__(self, config: EchoConfig, deps: ProviderDeps) -> None:
        self.config = config
        self.deps = deps
        self.closed = False

    async def list_provider_models(self) -> list[ProviderModel]:
        return [ProviderModel(provider_model_id=m) for m in self.config.models]

    async def register_model(self, model: Model) -> Model:
        return model

    async def chat_completion(self, request: ChatCompletionRequest) -> Any:
        text = f"{self.config.prefix}: {content_text(request.messages[-1].content)}"
        if request.stream:
            return self._stream(request.model, text)
        return ChatCompletion(
            model=request.model,
            choices=[ChatChoice(message=ChatCompletionMessage(content=text))],
        )

    async def _stream(self, model: str, text: str) -> AsyncIterator[ChatCompletionChunk]:
        words = text.split(" ")
        sent = 0
        try:
            for i, word in enumerate(words):
                yield ChatCompletionChunk(
                    id="c",
                    model=model,
                    choices=[ChunkChoice(delta=ChoiceDelta(content=(" " if i else "") + word))],
                )
                sent += 1
                await asyncio.sleep(self.config.word_delay_s)
        finally:
            if sent < len(words):
                stream_closed.set()

    async def completion(self, request: CompletionRequest) -> Any:
        return Completion(
            model=request.model,
            choices=[CompletionChoice(text=f"{self.config.prefix}: {request.prompt}")],
        )

    async def embeddings(self, request: EmbeddingsRequest) -> EmbeddingsResponse:
        texts = request.input if isinstance(request.input, list) else [request.input]
        return EmbeddingsResponse(
            model=request.model,
            data=[
                EmbeddingData(index=i, embedding=[float(len(str(t)))]) for i, t in enumerate(texts)
            ],
        )

    async def shutdown(self) -> None:
        self.closed = True


async def create(config: EchoConfig, deps: ProviderDeps) -> EchoInference:
    return EchoInference(config, deps)
