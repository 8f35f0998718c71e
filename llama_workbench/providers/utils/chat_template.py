"""Chat messages as the models' chat templates take them, shared by the in-process providers."""

from __future__ import annotations

import json
from typing import Any

from llama_workbench.apis.inference.models import (
    AssistantMessage,
    ImageContentPart,
    Message,
    ToolMessage,
    content_text,
)
from llama_workbench.core.errors import BadRequestError


def template_message(message: Message, native_tools: bool) -> dict[str, Any]:
    """A message as chat templates take it; tool calls and results as text when `native_tools` is off."""
    content = getattr(message, "content", None)
    if isinstance(content, list) and any(isinstance(p, ImageContentPart) for p in content):
        raise BadRequestError("This model takes text only; remove the image parts.")
    text = content_text(content)
    if isinstance(message, AssistantMessage) and message.tool_calls:
        calls = [
            {"name": c.function.name, "arguments": json_arguments(c.function.arguments)}
            for c in message.tool_calls
        ]
        if native_tools:
            native = [
                {"type": "function", "id": c.id, "function": call}
                for c, call in zip(message.tool_calls, calls, strict=True)
            ]
            return {"role": "assistant", "content": text, "tool_calls": native}
        blocks = "".join(f"<tool_call>{json.dumps(call)}</tool_call>" for call in calls)
        return {"role": "assistant", "content": text + blocks}
    if isinstance(message, ToolMessage):
        if native_tools:
            return {"role": "tool", "content": text, "tool_call_id": message.tool_call_id}
        return {"role": "user", "content": f"<tool_response>\n{text}\n</tool_response>"}
    role = "system" if message.role == "developer" else message.role
    return {"role": role, "content": text}


def json_arguments(raw: str) -> Any:
    """Tool-call arguments as JSON when they parse, else the raw text the model produced."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def with_system(messages: list[dict[str, Any]], extra: str) -> list[dict[str, Any]]:
    """`extra` appended to the system message, or a new system message first."""
    if messages and messages[0]["role"] == "system":
        first = {**messages[0], "content": f"{messages[0]['content']}\n\n{extra}".strip()}
        return [first, *messages[1:]]
    return [{"role": "system", "content": extra}, *messages]
