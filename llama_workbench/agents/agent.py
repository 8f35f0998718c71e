"""The notebook Agent: sessions and turns over the Responses API, with client-side function tools."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator, Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

from pydantic import BaseModel, TypeAdapter, ValidationError

from llama_workbench.agents.approvals import Approver, decide, response_item
from llama_workbench.agents.specs import resolve_tools, store_ids, validation_summary
from llama_workbench.agents.steps import (
    SessionInfo,
    StepEvent,
    StepMaker,
    Turn,
    now_utc,
)
from llama_workbench.apis.responses.models import (
    CreateResponseRequest,
    FunctionCallItem,
    Item,
    McpApprovalRequestItem,
    MessageItem,
    Refusal,
    ResponseObject,
)
from llama_workbench.core import errors
from llama_workbench.core.bridge import AsyncStream, SyncStream, run_async, run_sync
from llama_workbench.core.errors import (
    BadRequestError,
    ConflictError,
    LlamaWorkbenchError,
    NotFoundError,
    error_line,
)

if TYPE_CHECKING:
    from llama_workbench.core.stack import Stack

Message = str | Sequence[Mapping[str, Any] | BaseModel]
_ITEMS = TypeAdapter(list[Item])


def default_agent_name(model: str, instructions: str | None) -> str:
    """A name that stays the same across kernel restarts for the same model and instructions."""
    digest = hashlib.sha256(f"{model}\n{instructions or ''}".encode()).hexdigest()[:12]
    return f"agent-{digest}"


class Agent:
    """A model with instructions, tools and shields; its sessions are stored conversations.

    `tools` entries: a `@tool` FunctionTool or a plain function (run here, in the kernel),
    `{"name": "builtin::rag", "args": {"vector_store_ids": [...]}}` (file_search),
    `"mcp::<label>"` (an MCP server the stack configures), or a Responses tool dict.
    A call of an MCP tool that needs approval (the tool dict's `require_approval`) is put to
    `approve(request) -> bool` (sync or async) when given, else to the user at a prompt where
    one can answer; otherwise the turn stops, awaiting `session.approve()` / `session.deny()`.
    """

    def __init__(
        self,
        stack: Stack,
        model: str,
        instructions: str | None = None,
        tools: Sequence[Any] = (),
        shields: Sequence[str] = (),
        name: str | None = None,
        max_infer_iters: int = 10,
        temperature: float | None = None,
        max_output_tokens: int | None = None,
        approve: Approver | None = None,
    ) -> None:
        self.stack = stack
        self.approve = approve
        self.model = model
        self.instructions = instructions
        self.name = name if name is not None else default_agent_name(model, instructions)
        if not self.name.strip() or "/" in self.name:
            raise BadRequestError(f"Agent name {self.name!r} must be non-empty and hold no '/'.")
        if isinstance(shields, str) or not all(isinstance(s, str) for s in shields):
            raise BadRequestError("shields: give a list of shield ids (strings).")
        self.shields = list(shields)
        if max_infer_iters < 1:
            raise BadRequestError("max_infer_iters must be at least 1.")
        self.max_infer_iters = max_infer_iters
        self.temperature = temperature
        self.max_output_tokens = max_output_tokens
        self.tools, self.functions = resolve_tools(tools)
        try:
            self._impl = stack.impl("responses")
        except NotFoundError:
            raise BadRequestError(
                "Agents need the responses API: add 'responses' (inline::builtin) to the run config."
            ) from None
        self.request("conv_check", "check")  # bad settings fail here, not at the first turn
        self._check_resources()

    def _check_resources(self) -> None:
        """An unknown model or shield is an error now (NotFoundError lists what exists)."""
        if "models" in {a.value for a in self.stack.apis}:
            self.stack.models.retrieve(self.model)
        if self.shields:
            if "shields" not in {a.value for a in self.stack.apis}:
                raise BadRequestError("shields need the safety API in the stack's run config.")
            for shield_id in self.shields:
                self.stack.shields.retrieve(shield_id)

    def __repr__(self) -> str:
        names = [t.get("name") or t.get("server_label") or t["type"] for t in self.tools]
        return f"Agent(name={self.name!r}, model={self.model!r}, tools={names})"

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self.stack.loop

    def request(self, session_id: str, input_: str | list[dict[str, Any]]) -> CreateResponseRequest:
        """The streamed response request of one round of a turn."""
        body = {
            "model": self.model,
            "input": input_,
            "conversation": session_id,
            "instructions": self.instructions,
            "tools": self.tools or None,
            "guardrails": self.shields or None,
            "stream": True,
            "max_infer_iters": self.max_infer_iters,
            "temperature": self.temperature,
            "max_output_tokens": self.max_output_tokens,
        }
        try:
            return CreateResponseRequest.model_validate(
                {k: v for k, v in body.items() if v is not None}
            )
        except ValidationError as exc:
            raise BadRequestError(f"Agent '{self.name}': {validation_summary(exc)}") from None

    # -- sessions (sync faces run on the stack's loop: they work inside a running notebook loop)

    def create_session(self, session_name: str | None = None) -> AgentSession:
        return run_sync(self._create_session(session_name), self.loop)

    async def acreate_session(self, session_name: str | None = None) -> AgentSession:
        return await run_async(self._create_session(session_name), self.loop)

    def sessions(self) -> list[SessionInfo]:
        """This agent's sessions, oldest first (they survive kernel restarts)."""
        return run_sync(self._sessions(), self.loop)

    async def asessions(self) -> list[SessionInfo]:
        return await run_async(self._sessions(), self.loop)

    def resume_session(self, session_id: str) -> AgentSession:
        return run_sync(self._resume(session_id), self.loop)

    async def aresume_session(self, session_id: str) -> AgentSession:
        return await run_async(self._resume(session_id), self.loop)

    def delete_session(self, session_id: str) -> None:
        """Delete the session's record and its conversation."""
        run_sync(self._delete(session_id), self.loop)

    async def adelete_session(self, session_id: str) -> None:
        await run_async(self._delete(session_id), self.loop)

    async def _create_session(self, session_name: str | None) -> AgentSession:
        existing = await self._impl.agent_sessions.list(self.name)
        session_name = session_name or f"session-{len(existing) + 1}"
        conversation = await self._impl.conversations.create_conversation(
            metadata={"agent": self.name, "session_name": session_name}
        )
        info = SessionInfo(
            session_id=conversation.id,
            session_name=session_name,
            agent=self.name,
            conversation_id=conversation.id,
            created_at=now_utc(),
        )
        await self._impl.agent_sessions.save(self.name, info.session_id, _record(info))
        return AgentSession(self, info)

    async def _sessions(self) -> list[SessionInfo]:
        return [
            SessionInfo.model_validate(r) for r in await self._impl.agent_sessions.list(self.name)
        ]

    async def _resume(self, session_id: str) -> AgentSession:
        record = await self._impl.agent_sessions.get(self.name, session_id)
        return AgentSession(self, SessionInfo.model_validate(record))

    async def _delete(self, session_id: str) -> None:
        await self._impl.agent_sessions.get(self.name, session_id)  # NotFoundError lists them
        with contextlib.suppress(NotFoundError):  # a conversation already gone: the record goes
            await self._impl.conversations.delete_conversation(session_id)
        await self._impl.agent_sessions.delete(self.name, session_id)


class AgentSession:
    """One conversation with an agent: `turn(message)` streams StepEvents, or returns the Turn."""

    def __init__(self, agent: Agent, info: SessionInfo) -> None:
        self.agent = agent
        self.info = info
        self._busy = False

    def __repr__(self) -> str:
        return (
            f"AgentSession(session_id={self.session_id!r}, name={self.session_name!r}, "
            f"turns={len(self.info.turns)})"
        )

    @property
    def session_id(self) -> str:
        return self.info.session_id

    @property
    def session_name(self) -> str:
        return self.info.session_name

    @property
    def turns(self) -> list[Turn]:
        """The session's turns as recorded (kept across kernel restarts)."""
        return list(self.info.turns)

    def history(self) -> list[Item]:
        """The conversation's items, oldest first."""
        return run_sync(self.agent._impl.conversations.all_items(self.session_id), self.agent.loop)

    async def ahistory(self) -> list[Item]:
        items: list[Item] = await run_async(
            self.agent._impl.conversations.all_items(self.session_id), self.agent.loop
        )
        return items

    @overload
    def turn(
        self, message: Message, stream: Literal[True] = True
    ) -> Generator[StepEvent, None, None]: ...

    @overload
    def turn(self, message: Message, stream: Literal[False]) -> Turn: ...

    def turn(
        self, message: Message, stream: bool = True
    ) -> Generator[StepEvent, None, None] | Turn:
        """Send a message; stream=True yields StepEvents (the last carries the Turn)."""
        input_ = _as_input(message)
        if stream:
            return self._iterate(input_)
        return run_sync(self._collect(input_), self.agent.loop)

    def approve(self, request_id: str | None = None) -> Turn:
        """Approve a call the last turn waits for (all of them without an id); the turn goes on."""
        return self.turn(self.approval_answers(request_id, True), stream=False)

    def deny(self, request_id: str | None = None, reason: str | None = None) -> Turn:
        """Decline a call the last turn waits for (all without an id); the model is told why."""
        return self.turn(self.approval_answers(request_id, False, reason), stream=False)

    def approval_answers(
        self, request_id: str | None, approve: bool, reason: str | None = None
    ) -> list[dict[str, Any]]:
        """mcp_approval_response items for the calls the last turn waits for (a turn's input)."""
        pending = (
            [r["id"] for r in self.info.turns[-1].pending_approvals] if self.info.turns else []
        )
        ids = [request_id] if request_id is not None else pending
        if not ids:
            raise BadRequestError(f"Session {self.session_id}: no tool call waits for approval.")
        return [response_item(i, approve, reason) for i in ids]

    async def aturn(self, message: Message) -> Turn:
        """The async face of `turn(message, stream=False)`."""
        return await run_async(self._collect(_as_input(message)), self.agent.loop)

    def astream(self, message: Message) -> AsyncIterator[StepEvent]:
        """The async face of `turn(message)`: an async iterator of StepEvents."""
        events = self._events(_as_input(message))
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        return events if running is self.agent.loop else AsyncStream(events, self.agent.loop)

    def _iterate(self, input_: str | list[dict[str, Any]]) -> Generator[StepEvent, None, None]:
        with SyncStream(self._events(input_), self.agent.loop) as events:
            yield from events

    async def _collect(self, input_: str | list[dict[str, Any]]) -> Turn:
        turn: Turn | None = None
        async for event in self._events(input_):
            turn = event.turn or turn
        assert turn is not None  # the last event of every turn carries it
        return turn

    # -- one turn (runs on the stack's loop)

    async def _events(self, input_: str | list[dict[str, Any]]) -> AsyncIterator[StepEvent]:
        if self._busy:
            raise ConflictError(f"Session {self.session_id} is already running a turn.")
        self._busy = True
        try:
            async for event in self._run_turn(input_):
                yield event
        finally:
            self._busy = False

    async def _run_turn(self, input_: str | list[dict[str, Any]]) -> AsyncIterator[StepEvent]:
        agent = self.agent
        turn = Turn(turn_id="", session_id=self.session_id, input=input_, started_at=now_utc())
        steps = StepMaker(agent.shields, store_ids(agent.tools))
        request_input: str | list[dict[str, Any]] = input_
        for round_ in range(1, agent.max_infer_iters + 1):
            async for event in self._respond(request_input, steps):
                yield event
            response = steps.response
            assert response is not None  # every response stream ends with its final event
            turn.response_ids.append(response.id)
            turn.turn_id = turn.turn_id or response.id
            if response.status == "failed":
                await self._finish(turn, steps, response, "failed")
                raise _failure(response)
            calls = [i for i in response.output if isinstance(i, FunctionCallItem)]
            asks = [i for i in response.output if isinstance(i, McpApprovalRequestItem)]
            status: Literal["completed", "incomplete", "awaiting_approval"] = (
                "incomplete" if response.status == "incomplete" else "completed"
            )
            if not calls and not asks:
                break
            outputs: list[dict[str, Any]] = []
            async for event in self._run_functions(calls, steps, outputs):
                yield event
            if asks and not await self._approvals(asks, turn, outputs):
                status = "awaiting_approval"
                await self._keep(outputs)
                break
            if round_ == agent.max_infer_iters:  # out of rounds: keep the history answerable
                await self._keep(outputs)
                status = "incomplete"
                break
            request_input = outputs
        assert response is not None
        await self._finish(turn, steps, response, status)
        yield StepEvent(event_type="turn_complete", turn=turn)

    async def _respond(
        self, input_: str | list[dict[str, Any]], steps: StepMaker
    ) -> AsyncIterator[StepEvent]:
        steps.response = None
        request = self.agent.request(self.session_id, input_)
        stream = await self.agent._impl.create_response(request)
        try:
            async for event in stream:
                for step_event in steps.feed(event):
                    yield step_event
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()

    async def _approvals(
        self, asks: list[McpApprovalRequestItem], turn: Turn, outputs: list[dict[str, Any]]
    ) -> bool:
        """Answer the approval requests into `outputs`; False when nobody can answer now (the
        turn then waits, its pending_approvals set)."""
        answers = await decide(self.agent.approve, asks)
        if answers is None:
            turn.pending_approvals = [a.model_dump(mode="json") for a in asks]
            return False
        outputs.extend(answers)
        return True

    async def _keep(self, outputs: list[dict[str, Any]]) -> None:
        """Store input items no response will carry (the turn ends before the next round)."""
        if outputs:
            items = _ITEMS.validate_python(outputs)
            await self.agent._impl.conversations.create_items(self.session_id, items)

    async def _run_functions(
        self, calls: list[FunctionCallItem], steps: StepMaker, outputs: list[dict[str, Any]]
    ) -> AsyncIterator[StepEvent]:
        """Run the model's function calls here (concurrently); their outputs go to `outputs`."""
        if not calls:
            return
        tool_calls = [
            {"call_id": c.call_id, "tool_name": c.name, "arguments": c.arguments} for c in calls
        ]
        step, started = steps.start("tool_execution", {"tool_calls": tool_calls})
        yield started
        results = await asyncio.gather(*(self._call(c) for c in calls))
        step.details["tool_responses"] = [
            {"call_id": c.call_id, "tool_name": c.name, "content": content, "error": error}
            for c, (content, error) in zip(calls, results, strict=True)
        ]
        for c, (content, _) in zip(calls, results, strict=True):
            outputs.append(
                {"type": "function_call_output", "call_id": c.call_id, "output": content}
            )
        yield steps.complete(step)

    async def _call(self, call: FunctionCallItem) -> tuple[str, str | None]:
        function = self.agent.functions.get(call.name)
        if function is None:
            error = f"no Python function is given for the tool '{call.name}'"
            return f"Error: {error}.", error
        try:
            return await function.ainvoke(call.arguments), None
        except Exception as exc:
            error = error_line(exc)
            return f"Error: {error}", error

    async def _finish(
        self,
        turn: Turn,
        steps: StepMaker,
        response: ResponseObject,
        status: Literal["completed", "incomplete", "failed", "awaiting_approval"],
    ) -> None:
        turn.status = status
        turn.output_text = _answer(response)
        turn.steps = steps.steps
        turn.completed_at = now_utc()
        sessions = self.agent._impl.agent_sessions
        record = await sessions.get(self.agent.name, self.session_id)
        record["turns"] = [*record.get("turns", []), turn.model_dump(mode="json")]
        await sessions.save(self.agent.name, self.session_id, record)
        self.info = SessionInfo.model_validate(record)


def _record(info: SessionInfo) -> dict[str, Any]:
    """The stored form: created_at as epoch seconds (the session store sorts by it)."""
    record = info.model_dump(mode="json")
    record["created_at"] = info.created_at.timestamp()
    return record


def _answer(response: ResponseObject) -> str:
    """The response's text, or its refusal when a shield blocked it."""
    if response.output_text:
        return response.output_text
    return "".join(
        part.refusal
        for item in response.output
        if isinstance(item, MessageItem) and not isinstance(item.content, str)
        for part in item.content
        if isinstance(part, Refusal)
    )


def _failure(response: ResponseObject) -> LlamaWorkbenchError:
    """The error of a failed response, as the package error class it names where that fits."""
    code = response.error.code if response.error else "LlamaWorkbenchError"
    message = response.error.message if response.error else f"Response {response.id} failed."
    details = {"response_id": response.id, "code": code}
    cls = getattr(errors, code, None)
    if (
        isinstance(cls, type)
        and issubclass(cls, LlamaWorkbenchError)
        and cls.__init__ is LlamaWorkbenchError.__init__
    ):
        return cls(message.removeprefix(f"{code}: "), details=details)
    return LlamaWorkbenchError(message, details=details)


def _as_input(message: Message) -> str | list[dict[str, Any]]:
    """A turn's input: text, or Responses items (dicts or models), checked before anything runs."""
    if isinstance(message, str):
        if not message.strip():
            raise BadRequestError("turn: the message is empty.")
        return message
    if not isinstance(message, Sequence) or not message:
        raise BadRequestError("turn: give a message (str) or a non-empty list of input items.")
    raw = [
        m.model_dump(mode="json", exclude_none=True) if isinstance(m, BaseModel) else m
        for m in message
    ]
    try:
        items = _ITEMS.validate_python(raw)
    except ValidationError as exc:
        raise BadRequestError(f"turn: invalid input items: {validation_summary(exc)}") from None
    return [item.model_dump(mode="json", exclude_none=True) for item in items]
