"""OpenAI chat completions <-> Anthropic's Messages API: the request body, the reply, and the
stream's events turned into chat completion chunks."""

from __future__ import annotations

import json
from typing import Any

from llama_workbench.apis.inference.models import (
    AssistantMessage,
    ChatChoice,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionRequest,
    ChoiceDelta,
    ChunkChoice,
    Content,
    FunctionCall,
    ImageContentPart,
    TextContentPart,
    ToolCall,
    ToolCallDelta,
    ToolCallFunctionDelta,
    ToolMessage,
    Usage,
)
from llama_workbench.core.errors import BadRequestError

# stop_reason -> OpenAI's finish_reason.
FINISH_REASONS: dict[str, Any] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
# OpenAI fields the Messages API has no counterpart for: refused, never dropped.
_UNSERVED = (
    "logprobs",
    "top_logprobs",
    "frequency_penalty",
    "presence_penalty",
    "seed",
    "logit_bias",
)
# Ours, not the service's: kept by this stack (stored completions), never sent.
_LOCAL = {"store", "metadata"}


def request_body(request: ChatCompletionRequest, default_max_tokens: int | None) -> dict[str, Any]:
    """The Messages API body of an OpenAI chat completion request (a 400 names what it lacks)."""
    _refuse_unserved(request)
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    for message in request.messages:
        if message.role in ("system", "developer"):
            system.append(_text_only(message.content, message.role))
        elif isinstance(message, ToolMessage):
            result: dict[str, Any] = {"type": "tool_result", "tool_use_id": message.tool_call_id}
            if content := _blocks(message.content):
                result["content"] = content
            _append(turns, "user", [result])
        elif isinstance(message, AssistantMessage):
            _append(turns, "assistant", _assistant_blocks(message))
        else:
            _append(turns, "user", _blocks(message.content))
    max_tokens = request.token_limit() or default_max_tokens
    if max_tokens is None:
        raise BadRequestError("max_tokens is required by Anthropic's Messages API; set it")
    body: dict[str, Any] = {"model": request.model, "max_tokens": max_tokens, "messages": turns}
    if system:
        body["system"] = "\n\n".join(s for s in system if s)
    for name in ("temperature", "top_p", "top_k"):
        if getattr(request, name) is not None:
            body[name] = getattr(request, name)
    if request.stop_list():
        body["stop_sequences"] = request.stop_list()
    if request.user is not None:
        body["metadata"] = {"user_id": request.user}
    _tools(request, body)
    if request.stream:
        body["stream"] = True
    # Fields of the Messages API itself (`thinking`, `service_tier`, ...) go as they are.
    body.update({k: v for k, v in (request.model_extra or {}).items() if k not in _LOCAL})
    return body


def _refuse_unserved(request: ChatCompletionRequest) -> None:
    named = [n for n in _UNSERVED if getattr(request, n) not in (None, False)]
    if request.n not in (None, 1):
        named.append("n")
    fmt = request.response_format
    if fmt is not None and fmt.type != "text":
        named.append(f"response_format ({fmt.type})")
    if any(t.function.strict for t in request.tools or ()):
        named.append("tools[].function.strict")
    if named:
        raise BadRequestError(
            f"Anthropic's Messages API does not serve {', '.join(named)}; leave "
            f"{'it' if len(named) == 1 else 'them'} out for remote::anthropic models."
        )


def _append(turns: list[dict[str, Any]], role: str, blocks: list[dict[str, Any]]) -> None:
    """Consecutive turns of one role become one (tool results answer in a single user turn)."""
    if not blocks:
        if role == "user":
            raise BadRequestError("a user message to remote::anthropic needs some content")
        return  # an assistant turn with neither text nor tool calls says nothing
    if turns and turns[-1]["role"] == role:
        turns[-1]["content"].extend(blocks)
    else:
        turns.append({"role": role, "content": list(blocks)})


def _text_only(content: Content, role: str) -> str:
    if isinstance(content, str):
        return content
    if any(not isinstance(p, TextContentPart) for p in content):
        raise BadRequestError(f"a {role} message to remote::anthropic takes text parts only")
    return "".join(p.text for p in content if isinstance(p, TextContentPart))


def _blocks(content: Content | None) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for part in content:
        if isinstance(part, TextContentPart):
            if part.text:
                blocks.append({"type": "text", "text": part.text})
        elif isinstance(part, ImageContentPart):
            blocks.append({"type": "image", "source": _image_source(part.image_url.url)})
        else:
            raise BadRequestError(f"remote::anthropic takes text and image parts, not {part.type}")
    return blocks


def _image_source(url: str) -> dict[str, Any]:
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        media_type = header[len("data:") :].split(";")[0]
        if ";base64" not in header or not media_type:
            raise BadRequestError("an image data URL must be data:<media type>;base64,<data>")
        return {"type": "base64", "media_type": media_type, "data": data}
    return {"type": "url", "url": url}


def _assistant_blocks(message: AssistantMessage) -> list[dict[str, Any]]:
    blocks = _blocks(message.content)
    for call in message.tool_calls or ():
        try:
            arguments = json.loads(call.function.arguments or "{}")
        except json.JSONDecodeError:
            raise BadRequestError(
                f"tool call {call.id}: arguments are not JSON: {call.function.arguments[:100]!r}"
            ) from None
        blocks.append(
            {"type": "tool_use", "id": call.id, "name": call.function.name, "input": arguments}
        )
    return blocks


def _tools(request: ChatCompletionRequest, body: dict[str, Any]) -> None:
    if request.tools:
        body["tools"] = [
            {
                "name": t.function.name,
                **({"description": t.function.description} if t.function.description else {}),
                "input_schema": t.function.parameters or {"type": "object", "properties": {}},
            }
            for t in request.tools
        ]
    choice = request.tool_choice
    mapped: dict[str, Any] | None = None
    if choice in ("auto", "none"):
        mapped = {"type": choice}
    elif choice == "required":
        mapped = {"type": "any"}
    elif choice is not None and not isinstance(choice, str):
        mapped = {"type": "tool", "name": choice.function.get("name", "")}
    if request.parallel_tool_calls is False and request.tools:
        mapped = mapped or {"type": "auto"}
        if mapped["type"] != "none":
            mapped["disable_parallel_tool_use"] = True
    if mapped is not None and (request.tools or mapped["type"] == "none"):
        body["tool_choice"] = mapped


def usage(payload: dict[str, Any]) -> Usage:
    """OpenAI's usage from Anthropic's (cached input tokens count as prompt tokens)."""
    prompt = sum(
        int(payload.get(k) or 0)
        for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )
    completion = int(payload.get("output_tokens") or 0)
    return Usage(
        prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
    )


def chat_completion(payload: dict[str, Any], model: str) -> ChatCompletion:
    """A Messages API reply as an OpenAI chat completion."""
    blocks = payload.get("content") or []
    text = "".join(b.get("text", "") for b in blocks if b.get("type") == "text")
    calls = [
        ToolCall(
            id=b["id"], function=FunctionCall(name=b["name"], arguments=json.dumps(b["input"]))
        )
        for b in blocks
        if b.get("type") == "tool_use"
    ]
    message = ChatCompletionMessage(content=text or None, tool_calls=calls or None)
    finish = FINISH_REASONS.get(payload.get("stop_reason") or "end_turn", "stop")
    return ChatCompletion(
        id=payload["id"],
        model=model,
        choices=[ChatChoice(message=message, finish_reason=finish)],
        usage=usage(payload.get("usage") or {}),
    )


class StreamMapper:
    """Anthropic's stream events, one at a time, as OpenAI chat completion chunks."""

    def __init__(self, model: str, include_usage: bool) -> None:
        self.model = model
        self.id = ""
        self._include_usage = include_usage
        self._usage: dict[str, Any] = {}
        self._tools: dict[int, int] = {}  # content block index -> tool call index

    def chunks(self, event: str, data: dict[str, Any]) -> list[ChatCompletionChunk]:
        if event == "message_start":
            message = data.get("message") or {}
            self.id = str(message.get("id", ""))
            self._usage.update(message.get("usage") or {})
            return [self._chunk(ChoiceDelta(role="assistant", content=""))]
        if event == "content_block_start":
            return self._block_start(int(data.get("index", 0)), data.get("content_block") or {})
        if event == "content_block_delta":
            return self._block_delta(int(data.get("index", 0)), data.get("delta") or {})
        if event == "message_delta":
            self._usage.update(data.get("usage") or {})
            reason = (data.get("delta") or {}).get("stop_reason")
            if reason is not None:
                return [self._chunk(ChoiceDelta(), FINISH_REASONS.get(reason, "stop"))]
            return []
        if event == "message_stop" and self._include_usage:
            return [
                ChatCompletionChunk(
                    id=self.id, model=self.model, choices=[], usage=usage(self._usage)
                )
            ]
        return []  # ping, content_block_stop, thinking and signature deltas

    def _block_start(self, index: int, block: dict[str, Any]) -> list[ChatCompletionChunk]:
        if block.get("type") == "text" and block.get("text"):
            return [self._chunk(ChoiceDelta(content=block["text"]))]
        if block.get("type") == "tool_use":
            self._tools[index] = position = len(self._tools)
            function = ToolCallFunctionDelta(name=block.get("name"), arguments="")
            call = ToolCallDelta(
                index=position, id=block.get("id"), type="function", function=function
            )
            return [self._chunk(ChoiceDelta(tool_calls=[call]))]
        return []

    def _block_delta(self, index: int, delta: dict[str, Any]) -> list[ChatCompletionChunk]:
        if delta.get("type") == "text_delta":
            return [self._chunk(ChoiceDelta(content=delta.get("text", "")))]
        if delta.get("type") == "input_json_delta" and index in self._tools:
            function = ToolCallFunctionDelta(arguments=delta.get("partial_json", ""))
            call = ToolCallDelta(index=self._tools[index], function=function)
            return [self._chunk(ChoiceDelta(tool_calls=[call]))]
        return []

    def _chunk(self, delta: ChoiceDelta, finish: Any = None) -> ChatCompletionChunk:
        choice = ChunkChoice(delta=delta, finish_reason=finish)
        return ChatCompletionChunk(id=self.id, model=self.model, choices=[choice])
