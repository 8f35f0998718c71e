"""The OpenAI-shaped answers of the in-process LLMs (inline::transformers, inline::llama-cpp).

A provider runs the generation and hands over its events (a `Generation`); what is built from
them is the same for both: whole completions, chunk streams as tokens arrive, and usage. The
provider keeps only what its engine decides: how a chat choice's text becomes a message (tool
calls parsed from text, or constrained by a grammar), given here as `ChoiceText` (streamed) or
a `message` function (whole).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Protocol

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
    ToolCall,
    ToolCallDelta,
    ToolCallFunctionDelta,
    Usage,
)

__all__ = [
    "LOOP_NOTE",
    "ChoiceResult",
    "ChoiceText",
    "Generation",
    "TokenEvent",
    "chat_completion_from",
    "chat_stream",
    "choice_metadata",
    "collect",
    "completion_from",
    "completion_stream",
    "finish_reason",
    "usage",
]


class TokenEvent(Protocol):
    """A piece of one choice's output; the last one of a choice carries its finish_reason."""

    @property
    def index(self) -> int: ...

    @property
    def delta(self) -> str: ...

    @property
    def finish_reason(self) -> str | None: ...

    @property
    def completion_tokens(self) -> int: ...

    @property
    def loop_guard(self) -> bool:
        """The engine's loop guard ended this choice (finish_reason "stop")."""
        ...


@dataclass(frozen=True)
class Generation:
    """One request's generation: each prompt `n` times, choice index = prompt * n + j."""

    prompts: list[list[int]]  # token ids, per prompt (the usage counts them)
    n: int
    prefixes: list[str]  # the echoed prompt text, per prompt ("" without echo)
    events: Callable[[], AsyncGenerator[TokenEvent, None]]  # starts it; closing stops it

    @property
    def choices(self) -> int:
        return len(self.prompts) * self.n

    def usage(self, completion_tokens: int) -> Usage:
        return usage(self.prompts, completion_tokens)


def usage(prompts: list[list[int]], completion_tokens: int) -> Usage:
    """The token counts of a request: its prompts' tokens and the ones generated."""
    prompt = sum(len(p) for p in prompts)
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion_tokens,
        total_tokens=prompt + completion_tokens,
    )


LOOP_NOTE = "ended: the output was repeating itself"


def choice_metadata(loop_guard: bool) -> dict[str, str] | None:
    """What a choice says about how it ended, beyond finish_reason (None: nothing to say)."""
    return {"loop_guard": LOOP_NOTE} if loop_guard else None


def finish_reason(value: str) -> FinishReason:
    """An engine's finish reason as OpenAI's (anything else: "stop")."""
    allowed: tuple[FinishReason, ...] = ("stop", "length", "tool_calls", "content_filter")
    return next((r for r in allowed if r == value), "stop")


@dataclass
class ChoiceResult:
    """One choice, whole: its text (after the echoed prefix), how it ended, its token count."""

    text: str = ""
    finish_reason: str = "stop"
    completion_tokens: int = 0
    loop_guard: bool = False


async def collect(generation: Generation) -> list[ChoiceResult]:
    """Every choice's whole text, finish reason and token count."""
    prefixes, n = generation.prefixes, generation.n
    results = [ChoiceResult(text=prefixes[i // n]) for i in range(generation.choices)]
    async with aclosing(generation.events()) as events:
        async for event in events:
            result = results[event.index]
            result.text += event.delta
            if event.finish_reason is not None:
                result.finish_reason = event.finish_reason
                result.completion_tokens = event.completion_tokens
                result.loop_guard = event.loop_guard
    return results


def chat_completion_from(
    results: list[ChoiceResult],
    prompts: list[list[int]],
    model: str,
    message: Callable[[ChoiceResult], tuple[ChatCompletionMessage, str]],
) -> ChatCompletion:
    """The whole chat completion of `prompts`; `message` makes a choice's message and finish
    reason (the provider's reading of its text)."""
    choices = []
    for index, result in enumerate(results):
        content, finish = message(result)
        choices.append(
            ChatChoice(
                index=index,
                message=content,
                finish_reason=finish_reason(finish),
                metadata=choice_metadata(result.loop_guard),
            )
        )
    total = usage(prompts, sum(r.completion_tokens for r in results))
    return ChatCompletion(model=model, choices=choices, usage=total)


def completion_from(
    results: list[ChoiceResult], prompts: list[list[int]], model: str
) -> Completion:
    """The whole text completion of `prompts`."""
    choices = [
        CompletionChoice(
            index=i,
            text=r.text,
            finish_reason=finish_reason(r.finish_reason),
            metadata=choice_metadata(r.loop_guard),
        )
        for i, r in enumerate(results)
    ]
    total = usage(prompts, sum(r.completion_tokens for r in results))
    return Completion(model=model, choices=choices, usage=total)


class ChoiceText(Protocol):
    """How one streamed chat choice's text becomes deltas: the provider's tool-call handling."""

    opening: str | None  # the content of the choice's first (role) chunk

    def feed(self, delta: str) -> str:
        """Take a piece of the output; return the text to send now (some may be held back)."""
        ...

    def finish(self, reason: str) -> tuple[str, list[ToolCall]]:
        """At the choice's end (the engine's finish `reason`): the text still held back, and the
        tool calls it made."""
        ...

    def check(self, calls: list[ToolCall]) -> None:
        """Raise when the whole output breaks the request (a required call, a JSON format)."""
        ...


async def chat_stream(
    generation: Generation,
    request: ChatCompletionRequest,
    choice_text: Callable[[], ChoiceText],
) -> AsyncIterator[ChatCompletionChunk]:
    """Chunks as tokens arrive: role first, then content deltas, finish_reason last (then usage)."""
    chunk_id, created, model = f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), request.model

    def chunk(
        index: int, delta: ChoiceDelta, finish: str | None = None, looped: bool = False
    ) -> ChatCompletionChunk:
        choice = ChunkChoice(
            index=index,
            delta=delta,
            finish_reason=finish_reason(finish) if finish else None,
            metadata=choice_metadata(looped),
        )
        return ChatCompletionChunk(id=chunk_id, created=created, model=model, choices=[choice])

    states = [choice_text() for _ in range(generation.choices)]
    for index, state in enumerate(states):
        yield chunk(index, ChoiceDelta(role="assistant", content=state.opening))
    used = 0
    async with aclosing(generation.events()) as events:
        async for event in events:
            state = states[event.index]
            text = state.feed(event.delta)
            if text:
                yield chunk(event.index, ChoiceDelta(content=text))
            if event.finish_reason is None:
                continue
            used += event.completion_tokens
            rest, calls = state.finish(event.finish_reason)
            if rest:
                yield chunk(event.index, ChoiceDelta(content=rest))
            state.check(calls)
            if calls:
                yield chunk(event.index, ChoiceDelta(tool_calls=_call_deltas(calls)))
            finish = "tool_calls" if calls else event.finish_reason
            yield chunk(event.index, ChoiceDelta(), finish, event.loop_guard)
    if request.stream_options and request.stream_options.include_usage:
        yield ChatCompletionChunk(
            id=chunk_id, created=created, model=model, choices=[], usage=generation.usage(used)
        )


async def completion_stream(
    generation: Generation, model: str, include_usage: bool
) -> AsyncIterator[Completion]:
    """Partial completions carrying text deltas; each choice's last one has its finish_reason."""
    cmpl_id, created = f"cmpl-{uuid.uuid4().hex}", int(time.time())

    def part(index: int, text: str, finish: str | None = None, looped: bool = False) -> Completion:
        choice = CompletionChoice(
            index=index,
            text=text,
            finish_reason=finish_reason(finish) if finish else None,
            metadata=choice_metadata(looped),
        )
        return Completion(id=cmpl_id, created=created, model=model, choices=[choice])

    for index in range(generation.choices):
        if generation.prefixes[index // generation.n]:
            yield part(index, generation.prefixes[index // generation.n])
    used = 0
    async with aclosing(generation.events()) as events:
        async for event in events:
            if event.delta:
                yield part(event.index, event.delta)
            if event.finish_reason is not None:
                used += event.completion_tokens
                yield part(event.index, "", event.finish_reason, event.loop_guard)
    if include_usage:
        yield Completion(
            id=cmpl_id, created=created, model=model, choices=[], usage=generation.usage(used)
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
