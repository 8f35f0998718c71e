"""`stack.aio.inference`: the Inference API as coroutines.

Generated from llama_workbench/apis/inference/api.py by `python -m llama_workbench.facade._codegen`;
edit the Protocol (or its request models) and run it again, never this file."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast, overload

from llama_workbench.apis.inference.models import (
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingsRequest,
)
from llama_workbench.apis.inference.rerank_models import RerankRequest
from llama_workbench.facade._runtime import AsyncFace, fields_of

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence
    from typing import Any, Literal

    from llama_workbench.apis.inference.models import (
        ChatCompletion,
        ChatCompletionChunk,
        Completion,
        EmbeddingsResponse,
        Message,
        NamedToolChoice,
        ResponseFormat,
        StoredChatCompletion,
        StoredChatCompletionList,
        StreamOptions,
        Tool,
    )
    from llama_workbench.apis.inference.rerank_models import RerankItem, RerankResponse


class AsyncInferenceApi(AsyncFace):
    """Chat completions, completions and embeddings for any registered model."""

    __slots__ = ()

    @overload
    async def chat_completion(
        self,
        *,
        model: str,
        messages: Sequence[Message | dict[str, Any]],
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        n: int | None = None,
        stop: str | Sequence[str] | None = None,
        seed: int | None = None,
        frequency_penalty: float | None = None,
        presence_penalty: float | None = None,
        logit_bias: dict[str, float] | None = None,
        user: str | None = None,
        stream: Literal[False] | None = False,
        stream_options: StreamOptions | dict[str, Any] | None = None,
        max_completion_tokens: int | None = None,
        tools: Sequence[Tool | dict[str, Any]] | None = None,
        tool_choice: Literal["none", "auto", "required"]
        | NamedToolChoice
        | dict[str, Any]
        | None = None,
        parallel_tool_calls: bool | None = None,
        response_format: ResponseFormat | dict[str, Any] | None = None,
        logprobs: bool | None = None,
        top_logprobs: int | None = None,
        metadata: dict[str, str] | None = None,
        store: bool | None = None,
        **extra: Any,
    ) -> ChatCompletion: ...

    @overload
    async def chat_completion(
        self,
        *,
        model: str,
        messages: Sequence[Message | dict[str, Any]],
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        n: int | None = None,
        stop: str | Sequence[str] | None = None,
        seed: int | None = None,
        frequency_penalty: float | None = None,
        presence_penalty: float | None = None,
        logit_bias: dict[str, float] | None = None,
        user: str | None = None,
        stream: Literal[True],
        stream_options: StreamOptions | dict[str, Any] | None = None,
        max_completion_tokens: int | None = None,
        tools: Sequence[Tool | dict[str, Any]] | None = None,
        tool_choice: Literal["none", "auto", "required"]
        | NamedToolChoice
        | dict[str, Any]
        | None = None,
        parallel_tool_calls: bool | None = None,
        response_format: ResponseFormat | dict[str, Any] | None = None,
        logprobs: bool | None = None,
        top_logprobs: int | None = None,
        metadata: dict[str, str] | None = None,
        store: bool | None = None,
        **extra: Any,
    ) -> AsyncIterator[ChatCompletionChunk]: ...

    @overload
    async def chat_completion(
        self,
        *,
        model: str,
        messages: Sequence[Message | dict[str, Any]],
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        n: int | None = None,
        stop: str | Sequence[str] | None = None,
        seed: int | None = None,
        frequency_penalty: float | None = None,
        presence_penalty: float | None = None,
        logit_bias: dict[str, float] | None = None,
        user: str | None = None,
        stream: bool | None = False,
        stream_options: StreamOptions | dict[str, Any] | None = None,
        max_completion_tokens: int | None = None,
        tools: Sequence[Tool | dict[str, Any]] | None = None,
        tool_choice: Literal["none", "auto", "required"]
        | NamedToolChoice
        | dict[str, Any]
        | None = None,
        parallel_tool_calls: bool | None = None,
        response_format: ResponseFormat | dict[str, Any] | None = None,
        logprobs: bool | None = None,
        top_logprobs: int | None = None,
        metadata: dict[str, str] | None = None,
        store: bool | None = None,
        **extra: Any,
    ) -> ChatCompletion | AsyncIterator[ChatCompletionChunk]: ...

    @fields_of(ChatCompletionRequest)
    async def chat_completion(
        self,
        *,
        model: str,
        messages: Sequence[Message | dict[str, Any]],
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        n: int | None = None,
        stop: str | Sequence[str] | None = None,
        seed: int | None = None,
        frequency_penalty: float | None = None,
        presence_penalty: float | None = None,
        logit_bias: dict[str, float] | None = None,
        user: str | None = None,
        stream: bool | None = False,
        stream_options: StreamOptions | dict[str, Any] | None = None,
        max_completion_tokens: int | None = None,
        tools: Sequence[Tool | dict[str, Any]] | None = None,
        tool_choice: Literal["none", "auto", "required"]
        | NamedToolChoice
        | dict[str, Any]
        | None = None,
        parallel_tool_calls: bool | None = None,
        response_format: ResponseFormat | dict[str, Any] | None = None,
        logprobs: bool | None = None,
        top_logprobs: int | None = None,
        metadata: dict[str, str] | None = None,
        store: bool | None = None,
        **extra: Any,
    ) -> ChatCompletion | AsyncIterator[ChatCompletionChunk]:
        """A chat completion; with `stream=True`, an async iterator of chunks.

        Keyword arguments: the fields of `ChatCompletionRequest`: POST /v1/chat/completions.
            top_k: Inline providers only.
            store: false: don't keep this completion (GET /v1/chat/completions).
        Other keyword arguments go to the provider as extra body fields.
        """
        return cast(
            "ChatCompletion | AsyncIterator[ChatCompletionChunk]",
            await self._send(ChatCompletionRequest, "chat_completion", locals()),
        )

    @overload
    async def completion(
        self,
        *,
        model: str,
        prompt: str | Sequence[str] | Sequence[int] | Sequence[Sequence[int]],
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        n: int | None = None,
        stop: str | Sequence[str] | None = None,
        seed: int | None = None,
        frequency_penalty: float | None = None,
        presence_penalty: float | None = None,
        logit_bias: dict[str, float] | None = None,
        user: str | None = None,
        stream: Literal[False] | None = False,
        stream_options: StreamOptions | dict[str, Any] | None = None,
        echo: bool | None = None,
        logprobs: int | None = None,
        best_of: int | None = None,
        suffix: str | None = None,
        **extra: Any,
    ) -> Completion: ...

    @overload
    async def completion(
        self,
        *,
        model: str,
        prompt: str | Sequence[str] | Sequence[int] | Sequence[Sequence[int]],
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        n: int | None = None,
        stop: str | Sequence[str] | None = None,
        seed: int | None = None,
        frequency_penalty: float | None = None,
        presence_penalty: float | None = None,
        logit_bias: dict[str, float] | None = None,
        user: str | None = None,
        stream: Literal[True],
        stream_options: StreamOptions | dict[str, Any] | None = None,
        echo: bool | None = None,
        logprobs: int | None = None,
        best_of: int | None = None,
        suffix: str | None = None,
        **extra: Any,
    ) -> AsyncIterator[Completion]: ...

    @overload
    async def completion(
        self,
        *,
        model: str,
        prompt: str | Sequence[str] | Sequence[int] | Sequence[Sequence[int]],
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        n: int | None = None,
        stop: str | Sequence[str] | None = None,
        seed: int | None = None,
        frequency_penalty: float | None = None,
        presence_penalty: float | None = None,
        logit_bias: dict[str, float] | None = None,
        user: str | None = None,
        stream: bool | None = False,
        stream_options: StreamOptions | dict[str, Any] | None = None,
        echo: bool | None = None,
        logprobs: int | None = None,
        best_of: int | None = None,
        suffix: str | None = None,
        **extra: Any,
    ) -> Completion | AsyncIterator[Completion]: ...

    @fields_of(CompletionRequest)
    async def completion(
        self,
        *,
        model: str,
        prompt: str | Sequence[str] | Sequence[int] | Sequence[Sequence[int]],
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        n: int | None = None,
        stop: str | Sequence[str] | None = None,
        seed: int | None = None,
        frequency_penalty: float | None = None,
        presence_penalty: float | None = None,
        logit_bias: dict[str, float] | None = None,
        user: str | None = None,
        stream: bool | None = False,
        stream_options: StreamOptions | dict[str, Any] | None = None,
        echo: bool | None = None,
        logprobs: int | None = None,
        best_of: int | None = None,
        suffix: str | None = None,
        **extra: Any,
    ) -> Completion | AsyncIterator[Completion]:
        """A text completion; with `stream=True`, an async iterator of partial completions.

        Keyword arguments: the fields of `CompletionRequest`: POST /v1/completions.
            top_k: Inline providers only.
        Other keyword arguments go to the provider as extra body fields.
        """
        return cast(
            "Completion | AsyncIterator[Completion]",
            await self._send(CompletionRequest, "completion", locals()),
        )

    @fields_of(EmbeddingsRequest)
    async def embeddings(
        self,
        *,
        model: str,
        input: str | Sequence[str] | Sequence[int] | Sequence[Sequence[int]],
        encoding_format: Literal["float", "base64"] | None = "float",
        dimensions: int | None = None,
        user: str | None = None,
        **extra: Any,
    ) -> EmbeddingsResponse:
        """Embedding vectors for one text or a batch.

        Keyword arguments: the fields of `EmbeddingsRequest`: POST /v1/embeddings.
        Other keyword arguments go to the provider as extra body fields.
        """
        return cast(
            "EmbeddingsResponse", await self._send(EmbeddingsRequest, "embeddings", locals())
        )

    async def list_chat_completions(
        self,
        after: str | None = None,
        limit: int = 20,
        model: str | None = None,
        order: Literal["asc", "desc"] = "desc",
    ) -> StoredChatCompletionList:
        """Stored chat completions, newest first; `after` is the last id of the previous page."""
        return cast("StoredChatCompletionList", await self._call("list_chat_completions", locals()))

    async def get_chat_completion(self, completion_id: str) -> StoredChatCompletion:
        """One stored chat completion, with its input messages."""
        return cast("StoredChatCompletion", await self._call("get_chat_completion", locals()))

    @fields_of(RerankRequest)
    async def rerank(
        self,
        *,
        model: str,
        query: RerankItem | dict[str, Any],
        items: Sequence[RerankItem | dict[str, Any]],
        max_num_results: int | None = None,
    ) -> RerankResponse:
        """`request.items` ordered by relevance to its query, by a model of type rerank.

        Keyword arguments: the fields of `RerankRequest`: Order `items` by their relevance to
        `query` with a rerank model.
            model: The identifier of the reranking model to use.
            query: The search query to rank items against.
            items: The items to rerank.
            max_num_results: The most results to return. Default: all of them.
        """
        return cast("RerankResponse", await self._send(RerankRequest, "rerank", locals()))
