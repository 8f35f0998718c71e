"""`stack.aio.responses`: the Responses API as coroutines.

Generated from llama_workbench/apis/responses/api.py by `python -m llama_workbench.facade._codegen`;
edit the Protocol (or its request models) and run it again, never this file."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast, overload

from llama_workbench.apis.responses.models import CreateResponseRequest
from llama_workbench.facade._runtime import AsyncFace, fields_of

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence
    from typing import Any, Literal

    from llama_workbench.apis.responses.models import (
        GuardrailSpec,
        InputItemList,
        Item,
        ResponseDeleted,
        ResponseInclude,
        ResponseList,
        ResponseObject,
        ResponsePrompt,
        ResponseReasoning,
        ResponseStreamOptions,
        ResponseTool,
        StreamEvent,
        TextConfig,
        ToolChoice,
    )


class AsyncResponsesApi(AsyncFace):
    """OpenAI's Responses API: the stack runs file_search and MCP tools itself, in a loop."""

    __slots__ = ()

    @overload
    async def create_response(
        self,
        *,
        model: str,
        input: str | Sequence[Item | dict[str, Any]],
        instructions: str | None = None,
        prompt: ResponsePrompt | dict[str, Any] | None = None,
        tools: Sequence[ResponseTool | dict[str, Any]] | None = None,
        tool_choice: ToolChoice | dict[str, Any] | None = None,
        parallel_tool_calls: bool | None = True,
        previous_response_id: str | None = None,
        conversation: str | None = None,
        store: bool | None = True,
        stream: Literal[False] | None = False,
        background: bool | None = False,
        temperature: float | None = None,
        top_p: float | None = None,
        max_output_tokens: int | None = None,
        max_infer_iters: int | None = 10,
        max_tool_calls: int | None = None,
        text: TextConfig | dict[str, Any] | None = None,
        metadata: dict[str, str] | None = None,
        guardrails: Sequence[str | GuardrailSpec | dict[str, Any]] | None = None,
        include: Sequence[ResponseInclude] | None = None,
        top_logprobs: int | None = None,
        frequency_penalty: float | None = None,
        presence_penalty: float | None = None,
        reasoning: ResponseReasoning | dict[str, Any] | None = None,
        truncation: Literal["auto", "disabled"] | None = None,
        service_tier: Literal["auto", "default", "flex", "priority"] | None = None,
        safety_identifier: str | None = None,
        prompt_cache_key: str | None = None,
        stream_options: ResponseStreamOptions | dict[str, Any] | None = None,
        **extra: Any,
    ) -> ResponseObject: ...

    @overload
    async def create_response(
        self,
        *,
        model: str,
        input: str | Sequence[Item | dict[str, Any]],
        instructions: str | None = None,
        prompt: ResponsePrompt | dict[str, Any] | None = None,
        tools: Sequence[ResponseTool | dict[str, Any]] | None = None,
        tool_choice: ToolChoice | dict[str, Any] | None = None,
        parallel_tool_calls: bool | None = True,
        previous_response_id: str | None = None,
        conversation: str | None = None,
        store: bool | None = True,
        stream: Literal[True],
        background: bool | None = False,
        temperature: float | None = None,
        top_p: float | None = None,
        max_output_tokens: int | None = None,
        max_infer_iters: int | None = 10,
        max_tool_calls: int | None = None,
        text: TextConfig | dict[str, Any] | None = None,
        metadata: dict[str, str] | None = None,
        guardrails: Sequence[str | GuardrailSpec | dict[str, Any]] | None = None,
        include: Sequence[ResponseInclude] | None = None,
        top_logprobs: int | None = None,
        frequency_penalty: float | None = None,
        presence_penalty: float | None = None,
        reasoning: ResponseReasoning | dict[str, Any] | None = None,
        truncation: Literal["auto", "disabled"] | None = None,
        service_tier: Literal["auto", "default", "flex", "priority"] | None = None,
        safety_identifier: str | None = None,
        prompt_cache_key: str | None = None,
        stream_options: ResponseStreamOptions | dict[str, Any] | None = None,
        **extra: Any,
    ) -> AsyncIterator[StreamEvent]: ...

    @overload
    async def create_response(
        self,
        *,
        model: str,
        input: str | Sequence[Item | dict[str, Any]],
        instructions: str | None = None,
        prompt: ResponsePrompt | dict[str, Any] | None = None,
        tools: Sequence[ResponseTool | dict[str, Any]] | None = None,
        tool_choice: ToolChoice | dict[str, Any] | None = None,
        parallel_tool_calls: bool | None = True,
        previous_response_id: str | None = None,
        conversation: str | None = None,
        store: bool | None = True,
        stream: bool | None = False,
        background: bool | None = False,
        temperature: float | None = None,
        top_p: float | None = None,
        max_output_tokens: int | None = None,
        max_infer_iters: int | None = 10,
        max_tool_calls: int | None = None,
        text: TextConfig | dict[str, Any] | None = None,
        metadata: dict[str, str] | None = None,
        guardrails: Sequence[str | GuardrailSpec | dict[str, Any]] | None = None,
        include: Sequence[ResponseInclude] | None = None,
        top_logprobs: int | None = None,
        frequency_penalty: float | None = None,
        presence_penalty: float | None = None,
        reasoning: ResponseReasoning | dict[str, Any] | None = None,
        truncation: Literal["auto", "disabled"] | None = None,
        service_tier: Literal["auto", "default", "flex", "priority"] | None = None,
        safety_identifier: str | None = None,
        prompt_cache_key: str | None = None,
        stream_options: ResponseStreamOptions | dict[str, Any] | None = None,
        **extra: Any,
    ) -> ResponseObject | AsyncIterator[StreamEvent]: ...

    @fields_of(CreateResponseRequest)
    async def create_response(
        self,
        *,
        model: str,
        input: str | Sequence[Item | dict[str, Any]],
        instructions: str | None = None,
        prompt: ResponsePrompt | dict[str, Any] | None = None,
        tools: Sequence[ResponseTool | dict[str, Any]] | None = None,
        tool_choice: ToolChoice | dict[str, Any] | None = None,
        parallel_tool_calls: bool | None = True,
        previous_response_id: str | None = None,
        conversation: str | None = None,
        store: bool | None = True,
        stream: bool | None = False,
        background: bool | None = False,
        temperature: float | None = None,
        top_p: float | None = None,
        max_output_tokens: int | None = None,
        max_infer_iters: int | None = 10,
        max_tool_calls: int | None = None,
        text: TextConfig | dict[str, Any] | None = None,
        metadata: dict[str, str] | None = None,
        guardrails: Sequence[str | GuardrailSpec | dict[str, Any]] | None = None,
        include: Sequence[ResponseInclude] | None = None,
        top_logprobs: int | None = None,
        frequency_penalty: float | None = None,
        presence_penalty: float | None = None,
        reasoning: ResponseReasoning | dict[str, Any] | None = None,
        truncation: Literal["auto", "disabled"] | None = None,
        service_tier: Literal["auto", "default", "flex", "priority"] | None = None,
        safety_identifier: str | None = None,
        prompt_cache_key: str | None = None,
        stream_options: ResponseStreamOptions | dict[str, Any] | None = None,
        **extra: Any,
    ) -> ResponseObject | AsyncIterator[StreamEvent]:
        """A response; with `stream=True`, an async iterator of typed events ending in response.completed.

        Keyword arguments: the fields of `CreateResponseRequest`: POST /v1/responses.
        Other keyword arguments go to the provider as extra body fields.
        """
        return cast(
            "ResponseObject | AsyncIterator[StreamEvent]",
            await self._send(CreateResponseRequest, "create_response", locals()),
        )

    async def retrieve_response(self, response_id: str) -> ResponseObject:
        """A stored response (store=True), or a background one in progress."""
        return cast("ResponseObject", await self._call("retrieve_response", locals()))

    async def list_responses(
        self,
        after: str | None = None,
        limit: int = 50,
        model: str | None = None,
        order: Literal["asc", "desc"] = "desc",
    ) -> ResponseList:
        """Stored responses, newest first by default, with their input."""
        return cast("ResponseList", await self._call("list_responses", locals()))

    async def list_input_items(
        self,
        response_id: str,
        after: str | None = None,
        before: str | None = None,
        limit: int = 20,
        order: Literal["asc", "desc"] = "desc",
    ) -> InputItemList:
        """The input items of a stored response."""
        return cast("InputItemList", await self._call("list_input_items", locals()))

    async def delete_response(self, response_id: str) -> ResponseDeleted:
        """Forget a stored response."""
        return cast("ResponseDeleted", await self._call("delete_response", locals()))

    async def cancel_response(self, response_id: str) -> ResponseObject:
        """Stop a background response that is queued or in progress."""
        return cast("ResponseObject", await self._call("cancel_response", locals()))
