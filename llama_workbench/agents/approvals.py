"""Approvals of MCP tool calls in agent turns: a callback decides, or the user at a prompt, or the
turn waits for `session.approve(...)` / `session.deny(...)`."""

from __future__ import annotations

import asyncio
import inspect
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from llama_workbench.apis.responses.models import McpApprovalRequestItem

Approver = Callable[[McpApprovalRequestItem], bool | Awaitable[bool]]


def can_prompt() -> bool:
    """Whether a user can answer input(): a notebook whose frontend accepts input, or a terminal."""
    try:
        from IPython import get_ipython
    except ImportError:
        shell = None
    else:
        shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    if kernel is not None:
        return bool(getattr(kernel, "_allow_stdin", False))
    stdin = sys.stdin
    return stdin is not None and stdin.isatty()


def describe(request: McpApprovalRequestItem) -> str:
    return f"{request.name}({request.arguments}) on MCP server '{request.server_label}'"


def describe_item(request: dict[str, Any]) -> str:
    """describe() of a stored request (Turn.pending_approvals holds them as dicts)."""
    return describe(McpApprovalRequestItem.model_validate(request))


def ask_user(request: McpApprovalRequestItem) -> bool:
    """Ask at the prompt; only y or yes approves."""
    answer = input(f"Run {describe(request)}? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


async def decide(
    approver: Approver | None, requests: list[McpApprovalRequestItem]
) -> list[dict[str, Any]] | None:
    """mcp_approval_response items for the requests (the next round's input), or None when
    nobody can answer now (no callback, and no prompt a user could answer)."""
    if approver is None:
        if not can_prompt():
            return None
        approver = ask_user
    answers = []
    for request in requests:
        if inspect.iscoroutinefunction(approver):
            verdict = await approver(request)
        else:
            # Off the stack's loop: a prompt or a callback that calls the stack can't block it.
            verdict = await asyncio.to_thread(approver, request)
            if inspect.isawaitable(verdict):
                verdict = await verdict
        answers.append(response_item(request.id, bool(verdict)))
    return answers


def response_item(request_id: str, approve: bool, reason: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "mcp_approval_response",
        "approval_request_id": request_id,
        "approve": approve,
    }
    if reason:
        item["reason"] = reason
    return item


def waiting_line(requests: list[dict[str, Any]]) -> str:
    """How to go on with a turn that waits for approval (one line)."""
    first = requests[0]["id"]
    names = ", ".join(describe_item(r) for r in requests)
    return (
        f"Waiting for approval: {names}. session.approve({first!r}) runs it, "
        f"session.deny({first!r}) declines it (or give Agent(approve=callback))."
    )
