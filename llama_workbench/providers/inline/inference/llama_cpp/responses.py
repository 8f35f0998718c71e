"""A task's events to OpenAI-shaped responses (built in providers/utils/local_llm_responses.py).

What is this engine's own: a forced tool call, whose arguments a grammar constrains, is held
back until they are complete, then sent as one call.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

from llama_workbench.apis.inference.models import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionRequest,
    Completion,
    FunctionCall,
    Tool,
    ToolCall,
)
from llama_workbench.core.errors import UnprocessableError
from llama_workbench.providers.inline.inference.llama_cpp.runner import ModelRunner, Task
from llama_workbench.providers.utils import local_llm_responses as shared
from llama_workbench.providers.utils.local_llm_responses import ChoiceResult, Generation
from llama_workbench.providers.utils.structured_output import check_json_output


def generation(runner: ModelRunner, task: Task, prefixes: list[str]) -> Generation:
    """The task run on `runner`, as the shared response builders read it."""
    return Generation(task.prompts, task.n, prefixes, lambda: runner.events(task))


async def collect(runner: ModelRunner, task: Task, prefixes: list[str]) -> list[ChoiceResult]:
    """Every choice's whole text (after its echoed prefix), finish reason and token count."""
    return await shared.collect(generation(runner, task, prefixes))


def chat_completion_from(
    results: list[ChoiceResult], task: Task, request: ChatCompletionRequest, tool: Tool | None
) -> ChatCompletion:
    def message(result: ChoiceResult) -> tuple[ChatCompletionMessage, str]:
        if tool is not None:
            return ChatCompletionMessage(tool_calls=[tool_call(tool, result)]), "tool_calls"
        content = check_json_output(result.text, request.response_format)
        return ChatCompletionMessage(content=content), result.finish_reason

    return shared.chat_completion_from(results, task.prompts, request.model, message)


def completion_from(results: list[ChoiceResult], task: Task, model: str) -> Completion:
    return shared.completion_from(results, task.prompts, model)


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


class _ChoiceText:
    """One streamed choice: content as it comes, or (a forced call) nothing until it is whole."""

    def __init__(self, request: ChatCompletionRequest, tool: Tool | None) -> None:
        self.request = request
        self.tool = tool
        self.opening = None if tool else ""
        self.text = ""

    def feed(self, delta: str) -> str:
        self.text += delta
        return "" if self.tool is not None else delta

    def finish(self, reason: str) -> tuple[str, list[ToolCall]]:
        if self.tool is None:
            return "", []
        return "", [tool_call(self.tool, ChoiceResult(self.text, reason))]

    def check(self, calls: list[ToolCall]) -> None:
        if self.tool is None:
            check_json_output(self.text, self.request.response_format)


def chat_stream(
    runner: ModelRunner, task: Task, request: ChatCompletionRequest, tool: Tool | None
) -> AsyncIterator[ChatCompletionChunk]:
    """Chunks as tokens arrive: role first, then content deltas, finish_reason last (then usage).

    A forced tool call is held back until its arguments are complete, then sent as one delta.
    """
    return shared.chat_stream(
        generation(runner, task, [""]), request, lambda: _ChoiceText(request, tool)
    )


def completion_stream(
    runner: ModelRunner, task: Task, model: str, prefixes: list[str], include_usage: bool
) -> AsyncIterator[Completion]:
    """Partial completions carrying text deltas; each choice's last one has its finish_reason."""
    return shared.completion_stream(generation(runner, task, prefixes), model, include_usage)
