"""Steps of an agent turn: what the Responses stream becomes (inference, tools, memory, shields)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from llama_workbench.apis.responses.models import ResponseObject, StreamEvent

FINAL_EVENTS = ("response.completed", "response.incomplete", "response.failed")
StepType = Literal["inference", "tool_execution", "memory_retrieval", "shield_call"]


def now_utc() -> datetime:
    return datetime.now(UTC)


class Step(BaseModel):
    """One step of a turn, in Llama Stack's Agents API kinds; `details` depends on the kind."""

    step_type: StepType
    step_id: str
    started_at: datetime
    completed_at: datetime | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class Turn(BaseModel):
    """One user message and what came of it: the answer, the steps, the responses behind it."""

    turn_id: str
    session_id: str
    input: str | list[dict[str, Any]]
    output_text: str = ""
    steps: list[Step] = Field(default_factory=list)
    response_ids: list[str] = Field(default_factory=list)
    status: Literal["completed", "incomplete", "failed", "awaiting_approval"] = "completed"
    pending_approvals: list[dict[str, Any]] = Field(
        default_factory=list,
        description="mcp_approval_request items the turn stopped at (status awaiting_approval).",
    )
    started_at: datetime
    completed_at: datetime | None = None


class StepEvent(BaseModel):
    """A streamed turn's event: a step starts, progresses (text `delta`), completes; the turn ends."""

    event_type: Literal["step_start", "step_progress", "step_complete", "turn_complete"]
    step_type: StepType | None = None
    step_id: str | None = None
    delta: str | None = None
    step: Step | None = None
    turn: Turn | None = None


class SessionInfo(BaseModel):
    """A stored session: its conversation (session_id is the conversation id) and its turns."""

    session_id: str
    session_name: str
    agent: str
    conversation_id: str
    created_at: datetime
    turns: list[Turn] = Field(default_factory=list)


class StepMaker:
    """Turns the Responses stream events of one turn into steps of Llama Stack's kinds."""

    def __init__(self, shields: list[str], vector_store_ids: list[str]) -> None:
        self.steps: list[Step] = []
        self.response: ResponseObject | None = None
        self._shields = shields
        self._shield_pending = bool(shields)  # the input check is reported once per turn
        self._store_ids = vector_store_ids
        self._inference: Step | None = None
        self._tools: dict[int, Step] = {}  # server-side tool steps by output index
        self._response_id = ""

    def start(self, step_type: StepType, details: dict[str, Any]) -> tuple[Step, StepEvent]:
        step = Step(
            step_type=step_type, step_id=f"step_{len(self.steps) + 1}", started_at=now_utc()
        )
        step.details.update(details)
        self.steps.append(step)
        event = StepEvent(event_type="step_start", step_type=step_type, step_id=step.step_id)
        return step, event

    def complete(self, step: Step) -> StepEvent:
        step.completed_at = now_utc()
        return StepEvent(
            event_type="step_complete", step_type=step.step_type, step_id=step.step_id, step=step
        )

    def feed(self, event: StreamEvent) -> list[StepEvent]:
        data = event.model_extra or {}
        kind = event.type
        if kind == "response.created":
            self._response_id = data["response"]["id"]
        elif kind in FINAL_EVENTS:
            self.response = ResponseObject.model_validate(data["response"])
            passed = self._input_passed() if kind != "response.failed" else []
            return [*self._close_inference(), *passed]
        elif kind == "response.output_item.added":
            return self._added(data["output_index"], data["item"])
        elif kind == "response.content_part.added" and data["part"]["type"] == "output_text":
            return [*self._input_passed(), *self._open_inference()]
        elif kind == "response.output_text.delta":
            out = self._open_inference()
            assert self._inference is not None
            step_id = self._inference.step_id
            progress = StepEvent(
                event_type="step_progress",
                step_type="inference",
                step_id=step_id,
                delta=data["delta"],
            )
            return [*out, progress]
        elif kind == "response.output_item.done":
            return self._done(data["output_index"], data["item"])
        return []

    def _added(self, index: int, item: dict[str, Any]) -> list[StepEvent]:
        kind = item["type"]
        details: dict[str, Any]
        if kind == "message":
            return []  # its first content part says whether it is an answer or a refusal
        out = self._input_passed()
        if kind == "function_call":
            out += self._open_inference()
            assert self._inference is not None
            call = {"call_id": item["call_id"], "tool_name": item["name"], "arguments": ""}
            self._inference.details["model_response"]["tool_calls"].append(call)
        elif kind == "file_search_call":
            out += self._close_inference()
            details = {"vector_store_ids": self._store_ids, "queries": [], "results": []}
            self._tools[index], started = self.start("memory_retrieval", details)
            out.append(started)
        elif kind == "web_search_call":
            out += self._close_inference()
            call = {"call_id": item["id"], "tool_name": "web_search", "arguments": ""}
            self._tools[index], started = self.start("tool_execution", {"tool_calls": [call]})
            out.append(started)
        elif kind == "mcp_call":
            out += self._close_inference()
            call = {
                "call_id": item["id"],
                "tool_name": item["name"],
                "arguments": item["arguments"],
            }
            details = {"server_label": item["server_label"], "tool_calls": [call]}
            self._tools[index], started = self.start("tool_execution", details)
            out.append(started)
        return out

    def _done(self, index: int, item: dict[str, Any]) -> list[StepEvent]:
        kind = item["type"]
        if kind == "message":
            return self._message_done(item)
        if kind == "function_call" and self._inference is not None:
            for call in self._inference.details["model_response"]["tool_calls"]:
                if call["call_id"] == item["call_id"]:
                    call["arguments"] = item["arguments"]
            return []
        step = self._tools.pop(index, None)
        if step is None:
            return []
        if kind == "web_search_call":
            _web_search_done(step, item)
        elif kind == "file_search_call":
            step.details["queries"] = item.get("queries", [])
            step.details["status"] = item.get("status")
            step.details["results"] = [
                {k: r.get(k) for k in ("file_id", "filename", "score", "text")}
                for r in item.get("results") or []
            ]
        else:
            call_id = item["id"]
            step.details["tool_responses"] = [
                {
                    "call_id": call_id,
                    "tool_name": item["name"],
                    "content": item.get("output"),
                    "error": item.get("error"),
                }
            ]
        return [self.complete(step)]

    def _message_done(self, item: dict[str, Any]) -> list[StepEvent]:
        parts = item.get("content") or []
        refusals = [p["refusal"] for p in parts if p.get("type") == "refusal"]
        if refusals:
            out = self._close_inference()
            self._shield_pending = False
            violation = {"violation_level": "error", "user_message": "".join(refusals)}
            step, started = self.start(
                "shield_call", {"shield_ids": self._shields, "violation": violation}
            )
            return [*out, started, self.complete(step)]
        out = self._open_inference()
        assert self._inference is not None
        text = "".join(p.get("text", "") for p in parts if p.get("type") == "output_text")
        self._inference.details["model_response"]["content"] += text
        return out

    def _input_passed(self) -> list[StepEvent]:
        if not self._shield_pending:
            return []
        self._shield_pending = False
        step, started = self.start("shield_call", {"shield_ids": self._shields, "violation": None})
        return [started, self.complete(step)]

    def _open_inference(self) -> list[StepEvent]:
        if self._inference is not None:
            return []
        response = {"role": "assistant", "content": "", "tool_calls": []}
        details = {"response_id": self._response_id, "model_response": response}
        self._inference, started = self.start("inference", details)
        return [started]

    def _close_inference(self) -> list[StepEvent]:
        step, self._inference = self._inference, None
        return [self.complete(step)] if step is not None else []


# -- helpers


def _web_search_done(step: Step, item: dict[str, Any]) -> None:
    """A web search step: its query, and the pages found (the text went to the model)."""
    action = item.get("action") or {}
    step.details["tool_calls"][0]["arguments"] = json.dumps({"query": action.get("query")})
    failed = item.get("status") != "completed"
    step.details["tool_responses"] = [
        {
            "call_id": item["id"],
            "tool_name": "web_search",
            "content": [s["url"] for s in action.get("sources") or []] or None,
            "error": "the web search failed" if failed else None,
        }
    ]
