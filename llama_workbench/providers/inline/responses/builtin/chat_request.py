"""The chat-completions request of one model call of a response: messages, tools, tool_choice."""

from __future__ import annotations

from typing import Any

from llama_workbench.apis.inference.models import ChatCompletionRequest
from llama_workbench.apis.responses.models import (
    CreateResponseRequest,
    ToolChoiceAllowedTools,
    ToolChoiceFileSearch,
    ToolChoiceFunction,
    ToolChoiceMcp,
    ToolChoiceWebSearch,
)
from llama_workbench.providers.inline.responses.builtin.options import chat_options
from llama_workbench.providers.inline.responses.builtin.tools import (
    FILE_SEARCH,
    WEB_SEARCH,
    ToolSet,
)


def chat_request(
    r: CreateResponseRequest,
    messages: list[dict[str, Any]],
    toolset: ToolSet,
    iteration: int,
    limit_reached: bool,
) -> ChatCompletionRequest:
    """The streamed chat request for model call `iteration` (0 first); no tools are offered
    once max_tool_calls is reached."""
    tools = toolset.chat_tools
    if isinstance(r.tool_choice, ToolChoiceAllowedTools):
        tools = toolset.allowed_chat_tools(r.tool_choice.tools)
    body: dict[str, Any] = {
        **chat_options(r),
        "model": r.model,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
        "store": False,
        "temperature": r.temperature,
        "top_p": r.top_p,
        "max_completion_tokens": r.max_output_tokens,
        "response_format": _response_format(r),
    }
    if tools and not limit_reached:
        body["tools"] = tools
        body["tool_choice"] = _tool_choice(r.tool_choice, iteration)
        body["parallel_tool_calls"] = r.parallel_tool_calls
    return ChatCompletionRequest.model_validate({k: v for k, v in body.items() if v is not None})


def _tool_choice(choice: Any, iteration: int) -> Any:
    """The request's tool_choice for the first model call; later calls may answer in text."""
    if choice is None or choice in ("auto", "none"):
        return choice
    if iteration > 0:
        return "auto"
    if choice == "required":
        return "required"
    if isinstance(choice, ToolChoiceAllowedTools):
        return choice.mode  # over the allowed tools only (see _chat_request)
    if isinstance(choice, ToolChoiceFunction):
        return {"type": "function", "function": {"name": choice.name}}
    if isinstance(choice, ToolChoiceFileSearch):
        return {"type": "function", "function": {"name": FILE_SEARCH}}
    if isinstance(choice, ToolChoiceWebSearch):
        return {"type": "function", "function": {"name": WEB_SEARCH}}
    if isinstance(choice, ToolChoiceMcp) and choice.name:
        return {"type": "function", "function": {"name": choice.name}}
    return "required"


def _response_format(request: CreateResponseRequest) -> dict[str, Any] | None:
    fmt = request.text.format if request.text else None
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_object":
        return {"type": "json_object"}
    spec = {
        "name": fmt.name or "response",
        "description": (fmt.model_extra or {}).get("description"),
        "schema": fmt.schema_,
        "strict": fmt.strict,
    }
    return {"type": "json_schema", "json_schema": spec}
