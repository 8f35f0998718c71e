"""Jobs' events to OpenAI-shaped responses: whole completions, or chunk streams as tokens arrive."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
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
    Tool,
    ToolCall,
    ToolCallDelta,
    ToolCallFunctionDelta,
    Usage,
)
from llama_workbench.core.errors import (
    LlamaWorkbenchError,
    ProviderError,
    ProviderUnavailableError,
    UnprocessableError,
)
from llama_workbench.providers.inline.inference.transformers.engine import GenerationEngine
from llama_workbench.providers.inline.inference.transformers.jobs import Event, Job, Sampling, Sink
from llama_workbench.providers.utils.structured_output import check_json_output, check_strict_calls
from llama_workbench.providers.utils.tool_calls import may_be_tool_call, parse_tool_calls


@dataclass(frozen=True)
class Plan:
    """What to generate for one request: each prompt `n` times, choice index = prompt * n + j."""

    provider_id: str
    prompts: list[list[int]]
    n: int
    sampling: Sampling
    max_tokens: list[int]
    stops: list[str]
    prefixes: list[str]  # echoed prompt text, per prompt

    def jobs(self, sink: Sink) -> list[Job]:
        return [
            Job(p * self.n + j, ids, self.sampling, self.max_tokens[p], self.stops, sink)
            for p, ids in enumerate(self.prompts)
            for j in range(self.n)
        ]

    def usage(self, completion_tokens: int) -> Usage:
        prompt = sum(len(p) for p in self.prompts)
        return Usage(
            prompt_tokens=prompt,
            completion_tokens=completion_tokens,
            total_tokens=prompt + completion_tokens,
        )


async def run_events(engine: GenerationEngine, plan: Plan) -> AsyncGenerator[Event, None]:
    """Submit the plan's jobs (on first iteration) and yield their events until all are done.

    Closing the iterator early (or cancelling its consumer) stops the jobs at their next token.
    """
    sink = Sink()
    jobs = plan.jobs(sink)
    try:
        engine.submit(jobs)
    except RuntimeError as exc:  # shut down since the request was checked
        raise ProviderUnavailableError(plan.provider_id, str(exc)) from exc
    left = len(jobs)
    try:
        while left:
            event = await sink.queue.get()
            if event.error is not None:
                if isinstance(event.error, LlamaWorkbenchError):
                    raise event.error
                raise ProviderError(
                    plan.provider_id, f"generation failed: {event.error}"
                ) from event.error
            left -= event.finish_reason is not None
            yield event
    finally:
        sink.closed.set()


LOOP_NOTE = "ended: the output was repeating itself"


def choice_metadata(loop_guard: bool) -> dict[str, str] | None:
    """What a choice says about how it ended, beyond finish_reason (None: nothing to say)."""
    return {"loop_guard": LOOP_NOTE} if loop_guard else None


@dataclass
class ChoiceResult:
    text: str = ""
    finish_reason: str = "stop"
    completion_tokens: int = 0
    loop_guard: bool = False


async def collect(engine: GenerationEngine, plan: Plan) -> list[ChoiceResult]:
    """Every choice's whole text, finish reason and token count."""
    results = [
        ChoiceResult(text=plan.prefixes[i // plan.n]) for i in range(len(plan.prompts) * plan.n)
    ]
    async with aclosing(run_events(engine, plan)) as events:
        async for event in events:
            result = results[event.index]
            result.text += event.delta
            if event.finish_reason is not None:
                result.finish_reason = event.finish_reason
                result.completion_tokens = event.completion_tokens
                result.loop_guard = event.loop_guard
    return results


def chat_completion_from(
    results: list[ChoiceResult], plan: Plan, request: ChatCompletionRequest, tools: list[Tool]
) -> ChatCompletion:
    choices = []
    for index, result in enumerate(results):
        parallel = request.parallel_tool_calls is not False
        calls = parse_tool_calls(result.text, tools, parallel) if tools else None
        _check_required_call(request, bool(calls and calls.tool_calls), result.text)
        check_strict_calls(calls.tool_calls if calls else [], tools)
        if calls and calls.tool_calls:
            message = ChatCompletionMessage(content=calls.content, tool_calls=calls.tool_calls)
            finish: str = "tool_calls"
        else:
            message = ChatCompletionMessage(
                content=check_json_output(result.text, request.response_format)
            )
            finish = result.finish_reason
        choices.append(
            ChatChoice(
                index=index,
                message=message,
                finish_reason=_reason(finish),
                metadata=choice_metadata(result.loop_guard),
            )
        )
    usage = plan.usage(sum(r.completion_tokens for r in results))
    return ChatCompletion(model=request.model, choices=choices, usage=usage)


def completion_from(results: list[ChoiceResult], plan: Plan, model: str) -> Completion:
    choices = [
        CompletionChoice(
            index=i,
            text=r.text,
            finish_reason=_reason(r.finish_reason),
            metadata=choice_metadata(r.loop_guard),
        )
        for i, r in enumerate(results)
    ]
    return Completion(
        model=model, choices=choices, usage=plan.usage(sum(r.completion_tokens for r in results))
    )


class _ChoiceText:
    """One streamed choice: with tools, text that may be a call is held back until decided."""

    def __init__(self, tools: list[Tool], parallel: bool = True) -> None:
        self.tools = tools
        self.parallel = parallel  # false: the first call only (parallel_tool_calls)
        self.text = ""
        self._held = ""
        self._streaming = not tools

    def feed(self, delta: str) -> str:
        self.text += delta
        if self._streaming:
            return delta
        self._held += delta
        if may_be_tool_call(self._held):
            return ""
        self._streaming, held, self._held = True, self._held, ""
        return held

    def finish(self) -> tuple[str, list[ToolCall]]:
        """What is still held back: as tool calls if it parses as calls, else as content."""
        held, self._held = self._held, ""
        if not held or self._streaming:
            return held, []
        parsed = parse_tool_calls(held, self.tools, self.parallel)
        check_strict_calls(parsed.tool_calls, self.tools)
        return (parsed.content or "", parsed.tool_calls) if parsed.tool_calls else (held, [])


async def chat_stream(
    engine: GenerationEngine, plan: Plan, request: ChatCompletionRequest, tools: list[Tool]
) -> AsyncIterator[ChatCompletionChunk]:
    """Chunks as tokens arrive: role first, then content deltas, finish_reason last (then usage)."""
    chunk_id, created, model = f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), request.model

    def chunk(
        index: int, delta: ChoiceDelta, finish: str | None = None, looped: bool = False
    ) -> ChatCompletionChunk:
        choice = ChunkChoice(
            index=index,
            delta=delta,
            finish_reason=_reason(finish) if finish else None,
            metadata=choice_metadata(looped),
        )
        return ChatCompletionChunk(id=chunk_id, created=created, model=model, choices=[choice])

    parallel = request.parallel_tool_calls is not False
    states = [_ChoiceText(tools, parallel) for _ in range(len(plan.prompts) * plan.n)]
    for index in range(len(states)):
        yield chunk(index, ChoiceDelta(role="assistant", content=""))
    used = 0
    async with aclosing(run_events(engine, plan)) as events:
        async for event in events:
            state = states[event.index]
            text = state.feed(event.delta)
            if text:
                yield chunk(event.index, ChoiceDelta(content=text))
            if event.finish_reason is None:
                continue
            used += event.completion_tokens
            rest, calls = state.finish()
            if rest:
                yield chunk(event.index, ChoiceDelta(content=rest))
            _check_required_call(request, bool(calls), state.text)
            if calls:
                yield chunk(event.index, ChoiceDelta(tool_calls=_call_deltas(calls)))
            else:
                check_json_output(state.text, request.response_format)
            finish = "tool_calls" if calls else event.finish_reason
            yield chunk(event.index, ChoiceDelta(), finish, event.loop_guard)
    if request.stream_options and request.stream_options.include_usage:
        yield ChatCompletionChunk(
            id=chunk_id, created=created, model=model, choices=[], usage=plan.usage(used)
        )


async def completion_stream(
    engine: GenerationEngine, plan: Plan, model: str, include_usage: bool
) -> AsyncIterator[Completion]:
    """Partial completions carrying text deltas; each choice's last one has its finish_reason."""
    cmpl_id, created = f"cmpl-{uuid.uuid4().hex}", int(time.time())

    def part(index: int, text: str, finish: str | None = None, looped: bool = False) -> Completion:
        choice = CompletionChoice(
            index=index,
            text=text,
            finish_reason=_reason(finish) if finish else None,
            metadata=choice_metadata(looped),
        )
        return Completion(id=cmpl_id, created=created, model=model, choices=[choice])

    for index in range(len(plan.prompts) * plan.n):
        if plan.prefixes[index // plan.n]:
            yield part(index, plan.prefixes[index // plan.n])
    used = 0
    async with aclosing(run_events(engine, plan)) as events:
        async for event in events:
            if event.delta:
                yield part(event.index, event.delta)
            if event.finish_reason is not None:
                used += event.completion_tokens
                yield part(event.index, "", event.finish_reason, event.loop_guard)
    if include_usage:
        yield Completion(
            id=cmpl_id, created=created, model=model, choices=[], usage=plan.usage(used)
        )


def _call_deltas(calls: list[ToolCall]) -> list[ToolCallDelta]:
    return [
        ToolCallDelta(
            index=i,
            id=c.id,
            type="function",
            function=ToolCallFunctionDelta(name=c.function.name, arguments=c.function.arguments),
        )
        for i, c in enumerate(calls)
    ]


def _check_required_call(request: ChatCompletionRequest, called: bool, text: str) -> None:
    """tool_choice 'required' or a named tool: an output without a parsable call is an error."""
    choice = request.tool_choice
    if called or not request.tools or choice in (None, "auto", "none"):
        return
    shown = text if len(text) <= 200 else text[:200] + "..."
    raise UnprocessableError(
        f"tool_choice requires a tool call, but the model's output has no parsable call of the "
        f"given tools: {shown!r}",
        details={"output": text},
    )


def _reason(value: str) -> FinishReason:
    allowed: tuple[FinishReason, ...] = ("stop", "length", "tool_calls", "content_filter")
    return next((r for r in allowed if r == value), "stop")
