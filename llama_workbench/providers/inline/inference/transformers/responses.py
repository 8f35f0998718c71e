"""Jobs' events to OpenAI-shaped responses (built in providers/utils/local_llm_responses.py).

What is this engine's own: the plan that becomes jobs, and tool calls parsed from the text.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass

from llama_workbench.apis.inference.models import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionRequest,
    Completion,
    Tool,
    ToolCall,
)
from llama_workbench.core.errors import (
    LlamaWorkbenchError,
    ProviderError,
    ProviderUnavailableError,
    UnprocessableError,
)
from llama_workbench.providers.inline.inference.transformers.engine import GenerationEngine
from llama_workbench.providers.inline.inference.transformers.jobs import Event, Job, Sampling, Sink
from llama_workbench.providers.utils import local_llm_responses as shared
from llama_workbench.providers.utils.local_llm_responses import (
    LOOP_NOTE,
    ChoiceResult,
    Generation,
)
from llama_workbench.providers.utils.structured_output import check_json_output, check_strict_calls
from llama_workbench.providers.utils.tool_calls import may_be_tool_call, parse_tool_calls

__all__ = [
    "LOOP_NOTE",
    "ChoiceResult",
    "Plan",
    "chat_completion_from",
    "chat_stream",
    "collect",
    "completion_from",
    "completion_stream",
    "run_events",
]


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

    def generation(self, engine: GenerationEngine) -> Generation:
        """The plan run on `engine`, as the shared response builders read it."""
        return Generation(self.prompts, self.n, self.prefixes, lambda: run_events(engine, self))


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


async def collect(engine: GenerationEngine, plan: Plan) -> list[ChoiceResult]:
    """Every choice's whole text, finish reason and token count."""
    return await shared.collect(plan.generation(engine))


def chat_completion_from(
    results: list[ChoiceResult], plan: Plan, request: ChatCompletionRequest, tools: list[Tool]
) -> ChatCompletion:
    def message(result: ChoiceResult) -> tuple[ChatCompletionMessage, str]:
        parallel = request.parallel_tool_calls is not False
        calls = parse_tool_calls(result.text, tools, parallel) if tools else None
        _check_required_call(request, bool(calls and calls.tool_calls), result.text)
        check_strict_calls(calls.tool_calls if calls else [], tools)
        if calls and calls.tool_calls:
            return ChatCompletionMessage(content=calls.content, tool_calls=calls.tool_calls), (
                "tool_calls"
            )
        content = check_json_output(result.text, request.response_format)
        return ChatCompletionMessage(content=content), result.finish_reason

    return shared.chat_completion_from(results, plan.prompts, request.model, message)


def completion_from(results: list[ChoiceResult], plan: Plan, model: str) -> Completion:
    return shared.completion_from(results, plan.prompts, model)


class _ChoiceText:
    """One streamed choice: with tools, text that may be a call is held back until decided."""

    opening: str | None = ""

    def __init__(self, request: ChatCompletionRequest, tools: list[Tool]) -> None:
        self.request = request
        self.tools = tools
        self.parallel = request.parallel_tool_calls is not False  # false: the first call only
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

    def finish(self, reason: str) -> tuple[str, list[ToolCall]]:
        """What is still held back: as tool calls if it parses as calls, else as content."""
        held, self._held = self._held, ""
        if not held or self._streaming:
            return held, []
        parsed = parse_tool_calls(held, self.tools, self.parallel)
        check_strict_calls(parsed.tool_calls, self.tools)
        return (parsed.content or "", parsed.tool_calls) if parsed.tool_calls else (held, [])

    def check(self, calls: list[ToolCall]) -> None:
        _check_required_call(self.request, bool(calls), self.text)
        if not calls:
            check_json_output(self.text, self.request.response_format)


def chat_stream(
    engine: GenerationEngine, plan: Plan, request: ChatCompletionRequest, tools: list[Tool]
) -> AsyncIterator[ChatCompletionChunk]:
    """Chunks as tokens arrive: role first, then content deltas, finish_reason last (then usage)."""
    return shared.chat_stream(plan.generation(engine), request, lambda: _ChoiceText(request, tools))


def completion_stream(
    engine: GenerationEngine, plan: Plan, model: str, include_usage: bool
) -> AsyncIterator[Completion]:
    """Partial completions carrying text deltas; each choice's last one has its finish_reason."""
    return shared.completion_stream(plan.generation(engine), model, include_usage)


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
