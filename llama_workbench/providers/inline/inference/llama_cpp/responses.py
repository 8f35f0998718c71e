"""A task's events to OpenAI-shaped responses: whole completions, or chunk streams as tokens arrive."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass

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
    FinishReason,
    FunctionCall,
    Tool,
    ToolCall,
    ToolCallDelta,
    ToolCallFunctionDelta,
    Usage,
)
from llama_workbench.core.errors import UnprocessableError
from llama_workbench.providers.inline.inference.llama_cpp.runner import ModelRunner, Task
from llama_workbench.providers.utils.structured_output import check_json_output


@dataclass
class ChoiceResult:
    text: str = ""
    finish_reason: str = "stop"
    completion_tokens: int = 0


def usage(task: Task, completion_tokens: int) -> Usage:
    prompt = sum(len(p) for p in task.prompts)
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion_tokens,
        total_tokens=prompt + completion_tokens,
    )


async def collect(runner: ModelRunner, task: Task, prefixes: list[str]) -> list[ChoiceResult]:
    """Every choice's whole text (after its echoed prefix), finish reason and token count."""
    results = [ChoiceResult(text=prefixes[i // task.n]) for i in range(task.choices)]
    async with aclosing(runner.events(task)) as events:
        async for event in events:
            result = results[event.index]
            result.text += event.delta
            if event.finish_reason is not None:
                result.finish_reason = event.finish_reason
                result.completion_tokens = event.completion_tokens
    return results


def chat_completion_from(
    results: list[ChoiceResult], task: Task, request: ChatCompletionRequest, tool: Tool | None
) -> ChatCompletion:
    choices = []
    for index, result in enumerate(results):
        if tool is not None:
            call = tool_call(tool, result)
            message = ChatCompletionMessage(tool_calls=[call])
            finish = "tool_calls"
        else:
            message = ChatCompletionMessage(
                content=check_json_output(result.text, request.response_format)
            )
            finish = result.finish_reason
        choices.append(ChatChoice(index=index, message=message, finish_reason=_reason(finish)))
    total = usage(task, sum(r.completion_tokens for r in results))
    return ChatCompletion(model=request.model, choices=choices, usage=total)


def completion_from(results: list[ChoiceResult], task: Task, model: str) -> Completion:
    choices = [
        CompletionChoice(index=i, text=r.text, finish_reason=_reason(r.finish_reason))
        for i, r in enumerate(results)
    ]
    total = usage(task, sum(r.completion_tokens for r in results))
    return Completion(model=model, choices=choices, usage=total)


def tool_call(tool: Tool, result: ChoiceResult) -> ToolCall:
    """The grammar-constrained arguments as a call; arguments cut off by max_tokens are an error."""
    try:
        arguments = json.loads(result.text)
    except ValueError:
        arguments = None
    if not isinstance(arguments, dict):
        shown = result.text if len(result.text) <= 200 else result.text[:200] + "..."
        raise UnprocessableError(
            f"The arguments of the call of '{tool.function.name}' are not a complete JSON "
            f"object (finish_reason {result.finish_reason}; raise max_tokens?): {shown!r}",
            details={"output": result.text},
        )
    return ToolCall(
        id=f"call_{uuid.uuid4().hex[:24]}",
        function=FunctionCall(name=tool.function.name, arguments=result.text.strip()),
    )


async def chat_stream(
    runner: ModelRunner, task: Task, request: ChatCompletionRequest, tool: Tool | None
) -> AsyncIterator[ChatCompletionChunk]:
    """Chunks as tokens arrive: role first, then content deltas, finish_reason last (then usage).

    A forced tool call is held back until its arguments are complete, then sent as one delta.
    """
    chunk_id, created, model = f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), request.model

    def chunk(index: int, delta: ChoiceDelta, finish: str | None = None) -> ChatCompletionChunk:
        choice = ChunkChoice(
            index=index, delta=delta, finish_reason=_reason(finish) if finish else None
        )
        return ChatCompletionChunk(id=chunk_id, created=created, model=model, choices=[choice])

    for index in range(task.choices):
        yield chunk(index, ChoiceDelta(role="assistant", content=None if tool else ""))
    texts, used = [""] * task.choices, 0
    async with aclosing(runner.events(task)) as events:
        async for event in events:
            texts[event.index] += event.delta
            if event.delta and tool is None:
                yield chunk(event.index, ChoiceDelta(content=event.delta))
            if event.finish_reason is None:
                continue
            used += event.completion_tokens
            result = ChoiceResult(texts[event.index], event.finish_reason)
            if tool is not None:
                delta = _call_delta(tool_call(tool, result))
                yield chunk(event.index, ChoiceDelta(tool_calls=[delta]))
                yield chunk(event.index, ChoiceDelta(), "tool_calls")
                continue
            check_json_output(result.text, request.response_format)
            yield chunk(event.index, ChoiceDelta(), event.finish_reason)
    if request.stream_options and request.stream_options.include_usage:
        yield ChatCompletionChunk(
            id=chunk_id, created=created, model=model, choices=[], usage=usage(task, used)
        )


async def completion_stream(
    runner: ModelRunner, task: Task, model: str, prefixes: list[str], include_usage: bool
) -> AsyncIterator[Completion]:
    """Partial completions carrying text deltas; each choice's last one has its finish_reason."""
    cmpl_id, created = f"cmpl-{uuid.uuid4().hex}", int(time.time())

    def part(index: int, text: str, finish: str | None = None) -> Completion:
        choice = CompletionChoice(
            index=index, text=text, finish_reason=_reason(finish) if finish else None
        )
        return Completion(id=cmpl_id, created=created, model=model, choices=[choice])

    for index in range(task.choices):
        if prefixes[index // task.n]:
            yield part(index, prefixes[index // task.n])
    used = 0
    async with aclosing(runner.events(task)) as events:
        async for event in events:
            if event.delta:
                yield part(event.index, event.delta)
            if event.finish_reason is not None:
                used += event.completion_tokens
                yield part(event.index, "", event.finish_reason)
    if include_usage:
        yield Completion(
            id=cmpl_id, created=created, model=model, choices=[], usage=usage(task, used)
        )


def _call_delta(call: ToolCall) -> ToolCallDelta:
    function = ToolCallFunctionDelta(name=call.function.name, arguments=call.function.arguments)
    return ToolCallDelta(index=0, id=call.id, type="function", function=function)


def _reason(value: str) -> FinishReason:
    allowed: tuple[FinishReason, ...] = ("stop", "length", "tool_calls", "content_filter")
    return next((r for r in allowed if r == value), "stop")
