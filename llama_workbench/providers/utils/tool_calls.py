"""Tool calls for local models: a prompt that describes the tools, and a parser of the calls."""

from __future__ import annotations

import ast
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from llama_workbench.apis.inference.models import FunctionCall, Tool, ToolCall

_TAGGED = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)
_FENCE = re.compile(r"^```(?:json|python)?\s*(.*?)\s*```$", re.DOTALL)
# How an output that is a tool call begins; used to hold streamed text back until it is decided.
_CALL_OPENERS = ("<tool_call>", "{", "[", "```")


@dataclass(frozen=True)
class ParsedOutput:
    """A model's output split into plain content and the tool calls it made."""

    content: str | None
    tool_calls: list[ToolCall]


def tools_system_prompt(tools: list[Tool]) -> str:
    """Instructions describing `tools` and the call format, for templates without tool support."""
    specs = "\n".join(json.dumps(t.function.model_dump(exclude_none=True)) for t in tools)
    return (
        "You may call functions to help answer. Available functions, as JSON schemas:\n"
        f"<tools>\n{specs}\n</tools>\n"
        "To call one, answer with only this, one block per call:\n"
        '<tool_call>{"name": "<function name>", "arguments": {<arguments as JSON>}}</tool_call>\n'
        "Otherwise answer normally."
    )


def may_be_tool_call(text: str) -> bool:
    """Whether streamed `text` (the output so far) could still turn out to be a tool call."""
    head = text.lstrip()
    if not head:
        return True
    return any(head.startswith(o) or o.startswith(head) for o in _CALL_OPENERS)


def parse_tool_calls(text: str, tools: list[Tool], parallel: bool = True) -> ParsedOutput:
    """Find the calls in `text`; anything that is not a well-formed call of a given tool is content.

    A call is only returned when it names one of `tools` and its arguments are a JSON object:
    an output that merely looks like a call is returned as content, never turned into one.
    Without `parallel` (parallel_tool_calls: false) only the first call is kept.
    """
    parsed = _parse_tool_calls(text, tools)
    if not parallel and len(parsed.tool_calls) > 1:
        return ParsedOutput(parsed.content, parsed.tool_calls[:1])
    return parsed


def _parse_tool_calls(text: str, tools: list[Tool]) -> ParsedOutput:
    names = {t.function.name for t in tools}
    tagged = _TAGGED.findall(text)
    if tagged:
        calls = _calls_from_blocks(tagged, names)
        rest = _TAGGED.sub("", text).strip()
        if calls:
            return ParsedOutput(rest or None, calls)
        return ParsedOutput(text, [])
    body = text.strip()
    fenced = _FENCE.match(body)
    calls = _calls_from_blocks([fenced.group(1) if fenced else body], names)
    return ParsedOutput(None, calls) if calls else ParsedOutput(text, [])


def _calls_from_blocks(blocks: list[str], names: set[str]) -> list[ToolCall]:
    calls: list[ToolCall] = []
    for block in blocks:
        found = _json_calls(block, names)
        if found is None:
            found = _python_calls(block, names)
        if not found:
            return []
        calls.extend(found)
    return calls


def _json_calls(block: str, names: set[str]) -> list[ToolCall] | None:
    try:
        value = json.loads(block)
    except ValueError:
        return None
    items = value if isinstance(value, list) else [value]
    calls = [_call_from_json(item, names) for item in items]
    if not items or any(c is None for c in calls):
        return None
    return [c for c in calls if c is not None]


def _call_from_json(item: Any, names: set[str]) -> ToolCall | None:
    if not isinstance(item, dict):
        return None
    if isinstance(item.get("function"), dict):
        item = item["function"]
    name = item.get("name")
    args = item.get("arguments", item.get("parameters", {}))
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except ValueError:
            return None
    if name not in names or not isinstance(args, dict):
        return None
    return _tool_call(str(name), args)


def _python_calls(block: str, names: set[str]) -> list[ToolCall] | None:
    """Calls written as Python, `[get_weather(city="Paris")]`, as Llama 3.x and SmolLM2 do."""
    try:
        tree = ast.parse(block.strip(), mode="eval").body
    except SyntaxError:
        return None
    nodes = tree.elts if isinstance(tree, ast.List) else [tree]
    calls: list[ToolCall] = []
    for node in nodes:
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)) or node.args:
            return None
        if node.func.id not in names:
            return None
        try:
            args = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords if kw.arg}
        except (ValueError, TypeError, SyntaxError):
            return None
        calls.append(_tool_call(node.func.id, args))
    return calls or None


def _tool_call(name: str, args: dict[str, Any]) -> ToolCall:
    return ToolCall(
        id=f"call_{uuid.uuid4().hex[:24]}",
        function=FunctionCall(name=name, arguments=json.dumps(args)),
    )
