"""MCP tool approvals: the requests a response's history holds and the user's answers to them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from llama_workbench.apis.responses.models import (
    Item,
    McpApprovalRequestItem,
    McpApprovalResponseItem,
    McpCallItem,
    McpTool,
)
from llama_workbench.core.errors import BadRequestError

if TYPE_CHECKING:
    from llama_workbench.providers.inline.responses.builtin.tools import ToolSet


class _ToolCall(Protocol):
    name: str
    arguments: str


C = TypeVar("C", bound=_ToolCall)


@dataclass
class Approvals:
    """What a response knows of approvals: every request and answer in its history and input,
    and the answers of its input that are still to be acted on (in input order)."""

    requests: dict[str, McpApprovalRequestItem] = field(default_factory=dict)
    answers: dict[str, McpApprovalResponseItem] = field(default_factory=dict)
    new_answers: list[tuple[McpApprovalRequestItem, McpApprovalResponseItem]] = field(
        default_factory=list
    )

    @classmethod
    def of(cls, history: list[Item], new_items: list[Item], tools: list[Any]) -> Approvals:
        """The approvals of a request; an answer to an unknown request, or to one of a server the
        request no longer offers, is a BadRequestError."""
        items = [*history, *new_items]
        requests = {i.id: i for i in items if isinstance(i, McpApprovalRequestItem)}
        answers = {
            i.approval_request_id: i for i in items if isinstance(i, McpApprovalResponseItem)
        }
        done = {i.approval_request_id for i in items if isinstance(i, McpCallItem)}
        labels = {t.server_label for t in tools if isinstance(t, McpTool)}
        new: list[tuple[McpApprovalRequestItem, McpApprovalResponseItem]] = []
        for index, item in enumerate(new_items):
            if not isinstance(item, McpApprovalResponseItem):
                continue
            request = requests.get(item.approval_request_id)
            if request is None:
                raise BadRequestError(
                    f"input[{index}]: mcp_approval_response answers '{item.approval_request_id}', "
                    "which is no mcp_approval_request of this response's history; give "
                    "previous_response_id or the conversation it came from, or the request item "
                    "in input."
                )
            if request.server_label not in labels:
                raise BadRequestError(
                    f"input[{index}]: mcp_approval_response answers a call of the MCP server "
                    f"'{request.server_label}', which is not among this request's tools; pass "
                    "the same mcp tool again."
                )
            if item.approval_request_id not in done:
                new.append((request, item))
        return cls(requests, answers, new)

    def answer_for(self, name: str, arguments: str) -> McpApprovalResponseItem | None:
        """The answer to an earlier request for the same call (same tool, same arguments):
        a model that calls it again is not asked twice (Llama Stack 0.7's rule)."""
        for request in self.requests.values():
            if request.name == name and _same_json(request.arguments, arguments):
                answer = self.answers.get(request.id)
                if answer is not None:
                    return answer
        return None

    def triage(
        self, calls: list[C], tools: ToolSet
    ) -> tuple[list[tuple[C, McpApprovalResponseItem | None]], list[C]]:
        """The model's server-side calls to run now (with the answer of an earlier, identical
        request, if any), and those that wait for the user's approval; function calls are
        neither (the caller runs them)."""
        ready: list[tuple[C, McpApprovalResponseItem | None]] = []
        asked: list[C] = []
        for call in calls:
            if tools.is_function(call.name):
                continue
            answer = None
            if tools.needs_approval(call.name):
                answer = self.answer_for(call.name, call.arguments)
                if answer is None:
                    asked.append(call)
                    continue
            ready.append((call, answer))
        return ready, asked


def declined(request: McpApprovalRequestItem, answer: McpApprovalResponseItem) -> str:
    """What the model reads in place of the result of a call the user declined."""
    text = (
        f"The user declined this call of '{request.name}' (MCP server "
        f"'{request.server_label}'); it was not run."
    )
    return f"{text} Reason: {answer.reason}" if answer.reason else text


def _same_json(a: str, b: str) -> bool:
    try:
        return bool(json.loads(a or "{}") == json.loads(b or "{}"))
    except json.JSONDecodeError:
        return a == b
