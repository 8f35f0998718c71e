"""Items <-> chat messages: how a response's input and history reach a chat-completions model."""

from __future__ import annotations

import json
from typing import Any

from llama_workbench.apis.responses.models import (
    FileSearchCallItem,
    FunctionCallItem,
    FunctionCallOutputItem,
    InputFile,
    InputImage,
    InputText,
    Item,
    McpApprovalRequestItem,
    McpApprovalResponseItem,
    McpCallItem,
    McpListToolsItem,
    MessageItem,
    OutputText,
    ReasoningItem,
    Refusal,
    WebSearchCallItem,
    new_id,
)
from llama_workbench.core.errors import BadRequestError

_ID_PREFIX = {
    "message": "msg",
    "function_call": "fc",
    "function_call_output": "fco",
    "file_search_call": "fs",
    "web_search_call": "ws",
    "mcp_call": "mcp",
    "mcp_list_tools": "mcpl",
    "mcp_approval_request": "mcpr",
    "mcp_approval_response": "mcpa",
    "reasoning": "rs",
}


def with_ids(items: list[Item]) -> list[Item]:
    """Give every item an id (input items may come without one)."""
    return [
        item if item.id else item.model_copy(update={"id": new_id(_ID_PREFIX[item.type])})
        for item in items
    ]


def input_items(value: str | list[Item]) -> list[Item]:
    if isinstance(value, str):
        return with_ids([MessageItem(role="user", content=value)])
    if not value:
        raise BadRequestError("input: give a string or at least one item.")
    return with_ids(list(value))


def items_to_messages(items: list[Item]) -> list[dict[str, Any]]:
    """Chat messages for the items, in order; server tool calls become call + result pairs."""
    messages: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, MessageItem):
            messages.append(_message(item))
        elif isinstance(item, FunctionCallItem):
            add_call(messages, item.call_id, item.name, item.arguments)
        elif isinstance(item, FunctionCallOutputItem):
            output = item.output if isinstance(item.output, str) else _text(item.output)
            messages.append({"role": "tool", "tool_call_id": item.call_id, "content": output})
        elif isinstance(item, McpCallItem):
            add_call(messages, item.id, item.name, item.arguments)
            result = item.output if item.error is None else f"Error: {item.error}"
            messages.append({"role": "tool", "tool_call_id": item.id, "content": result or ""})
        elif isinstance(item, FileSearchCallItem):
            query = item.queries[0] if item.queries else ""
            add_call(messages, item.id, "file_search", json.dumps({"query": query}))
            results = [r.model_dump() for r in item.results or []]
            messages.append(
                {"role": "tool", "tool_call_id": item.id, "content": format_results(query, results)}
            )
        elif isinstance(item, WebSearchCallItem):
            add_web_search(messages, item)
        elif isinstance(item, McpListToolsItem):
            continue  # the tools are offered to the model as tools, not as history
        elif isinstance(item, McpApprovalRequestItem | McpApprovalResponseItem):
            continue  # the run acts on them (approvals.py); the call it makes is the history
        elif isinstance(item, ReasoningItem):
            continue  # kept in the history; a chat-completions model is not shown reasoning
    return messages


def add_call(messages: list[dict[str, Any]], call_id: str, name: str, arguments: str) -> None:
    call = {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
    last = messages[-1] if messages else None
    # Parallel calls of one model turn share one assistant message.
    if last is not None and last["role"] == "assistant" and last.get("tool_calls"):
        last["tool_calls"].append(call)
    else:
        messages.append({"role": "assistant", "content": None, "tool_calls": [call]})


def add_web_search(messages: list[dict[str, Any]], item: WebSearchCallItem) -> None:
    """A web search of the history as a call and its result. An item keeps the query and the
    pages found (when asked for), not the text the model read; a chained response
    (previous_response_id) has that text from its stored messages."""
    action = item.action
    query = action.query if action and action.query else ""
    add_call(messages, item.id, "web_search", json.dumps({"query": query}))
    if item.status != "completed":
        result = f'The web search for "{query}" did not complete.'
    else:
        urls = [s.url for s in (action.sources if action and action.sources else [])]
        result = f'Searched the web for "{query}"' + (f": {', '.join(urls)}" if urls else ".")
    messages.append({"role": "tool", "tool_call_id": item.id, "content": result})


def withdraw_calls(messages: list[dict[str, Any]], ids: set[str]) -> None:
    """Drop these tool calls from the model's turn (the last message); a turn left with
    neither text nor calls goes."""
    if not ids:
        return
    turn = messages[-1]
    kept = [c for c in turn.get("tool_calls") or [] if c["id"] not in ids]
    if kept:
        turn["tool_calls"] = kept
    elif turn.get("content"):
        turn.pop("tool_calls", None)
    else:
        messages.pop()


def _message(item: MessageItem) -> dict[str, Any]:
    if isinstance(item.content, str):
        return {"role": item.role, "content": item.content}
    if item.role != "user":
        return {"role": item.role, "content": _text(item.content)}
    parts: list[dict[str, Any]] = []
    for part in item.content:
        if isinstance(part, InputText | OutputText):
            parts.append({"type": "text", "text": part.text})
        elif isinstance(part, InputImage):
            if not part.image_url:
                raise BadRequestError(
                    "input_image: give image_url (a URL or a data: URL); file_id images are not supported."
                )
            parts.append({"type": "image_url", "image_url": {"url": part.image_url}})
        elif isinstance(part, InputFile):
            raise BadRequestError(
                "input_file parts are not supported: attach the file to a vector store and give "
                "the model a file_search tool."
            )
    return {"role": "user", "content": parts}


def _text(parts: list[Any]) -> str:
    texts = []
    for part in parts:
        if isinstance(part, InputText | OutputText):
            texts.append(part.text)
        elif isinstance(part, Refusal):
            texts.append(part.refusal)
    return "".join(texts)


def user_texts(items: list[Item]) -> list[str]:
    """The text of the user's messages among the items (what input guardrails check)."""
    texts = []
    for item in items:
        if isinstance(item, MessageItem) and item.role == "user":
            texts.append(item.content if isinstance(item.content, str) else _text(item.content))
    return [t for t in texts if t]


def format_results(query: str, results: list[dict[str, Any]]) -> str:
    """What the model reads from a file search: numbered results to cite as [n]."""
    if not results:
        return f'file_search found nothing for "{query}".'
    lines = [f'file_search found {len(results)} results for "{query}":']
    for n, r in enumerate(results, 1):
        lines.append(f"[{n}] {r['filename']} (file_id {r['file_id']}, score {r['score']:.3f})")
        lines.append(r["text"].strip())
    lines.append("Answer from these results and cite them as [1], [2], ...")
    return "\n".join(lines)
