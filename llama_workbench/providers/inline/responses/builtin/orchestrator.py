"""One response in the making: guardrails, the model/tool loop, and OpenAI's typed stream events."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from llama_workbench.apis.responses.models import (
    CreateResponseRequest,
    FileSearchCallItem,
    FunctionCallItem,
    IncompleteDetails,
    Item,
    McpApprovalRequestItem,
    McpApprovalResponseItem,
    McpCallItem,
    McpListToolsItem,
    McpTool,
    MessageItem,
    OutputText,
    Refusal,
    ResponseError,
    ResponseObject,
    ResponseUsage,
    StreamEvent,
    WebSearchCallItem,
    new_id,
)
from llama_workbench.core.errors import error_line
from llama_workbench.providers.inline.responses.builtin.approvals import Approvals, declined
from llama_workbench.providers.inline.responses.builtin.chat_request import chat_request
from llama_workbench.providers.inline.responses.builtin.citations import citations
from llama_workbench.providers.inline.responses.builtin.convert import add_call, withdraw_calls
from llama_workbench.providers.inline.responses.builtin.event_fields import (
    extra_fields,
    obfuscates,
)
from llama_workbench.providers.inline.responses.builtin.guardrails import (
    violation as shield_violation,
)
from llama_workbench.providers.inline.responses.builtin.options import (
    chunk_logprobs,
    error_code,
    truncation_failure,
)
from llama_workbench.providers.inline.responses.builtin.tools import (
    FILE_SEARCH,
    WEB_SEARCH,
    ToolSet,
)


@dataclass
class _Call:
    call_id: str
    name: str = ""
    arguments: str = ""
    index: int | None = None  # output index of its function_call item, once announced


@dataclass
class RunSettings:
    """What a run needs besides the request: the stack APIs and its bounds."""

    inference: Any
    safety: Any
    max_infer_iters: int
    input_shields: list[str] = field(default_factory=list)
    output_shields: list[str] = field(default_factory=list)


class ResponseRun:
    """`events()` makes the response and yields its stream events; `response` is the result."""

    def __init__(
        self,
        request: CreateResponseRequest,
        response: ResponseObject,
        messages: list[dict[str, Any]],
        guard_texts: list[str],
        tools: ToolSet,
        settings: RunSettings,
        approvals: Approvals | None = None,
    ) -> None:
        self.request = request
        self.response = response
        self.messages = messages
        self.failure: BaseException | None = None
        self._guard_texts = guard_texts
        self._tools = tools
        self._settings = settings
        self._approvals = approvals or Approvals()
        self._seq = 0
        self._tool_calls = 0
        self._cut = False  # a model turn ended with finish_reason "length"
        self._last_search: FileSearchCallItem | None = None
        self._logprobs: list[dict[str, Any]] = []  # of this turn's text, when asked for

    # -- events

    def _event(self, type_: str, **fields: Any) -> StreamEvent:
        extra = extra_fields(type_, self.response.id, obfuscates(self.request))
        event = StreamEvent(type=type_, sequence_number=self._seq, **fields, **extra)
        self._seq += 1
        return event

    def _with_response(self, type_: str) -> StreamEvent:
        return self._event(type_, response=self.response.model_dump(mode="json", exclude_none=True))

    def _add(self, item: Item) -> tuple[int, StreamEvent]:
        self.response.output.append(item)
        index = len(self.response.output) - 1
        return index, self._event(
            "response.output_item.added", output_index=index, item=_dump(item)
        )

    def _done(self, index: int, item: Item) -> StreamEvent:
        self.response.output[index] = item
        return self._event("response.output_item.done", output_index=index, item=_dump(item))

    async def events(self) -> AsyncIterator[StreamEvent]:
        yield self._with_response("response.created")
        yield self._with_response("response.in_progress")
        try:
            async for event in self._run():
                yield event
        except Exception as exc:
            self.failure = exc
            self.response.status = "failed"
            self.response.error = ResponseError(code=error_code(exc), message=error_line(exc))
            yield self._with_response("response.failed")
            return
        if self.response.status == "in_progress":
            self.response.status = "completed"
        self.response.completed_at = int(time.time())
        yield self._with_response(f"response.{self.response.status}")

    # -- the loop

    async def _run(self) -> AsyncIterator[StreamEvent]:
        failure = truncation_failure(self.request)
        if failure is not None:
            raise failure
        violation = await shield_violation(
            self._settings.safety, self._settings.input_shields, self._guard_texts, "user"
        )
        if violation is not None:
            async for event in self._refusal(violation):
                yield event
            return
        for server in self._tools.mcp_servers:
            async for event in self._list_mcp(server):
                yield event
        async for event in self._answered():
            yield event
        for iteration in range(self._settings.max_infer_iters):
            calls: list[_Call] = []
            async for event in self._infer(iteration, calls):
                yield event
            if self._cut:  # the model hit max_output_tokens: 0.7.3's reason is "length"
                self.response.status = "incomplete"
                self.response.incomplete_details = IncompleteDetails(reason="length")
                return
            if not calls:
                return
            ready, asked = self._approvals.triage(calls, self._tools)
            # Before any result follows the model's turn: a chat has no call without a result.
            withdraw_calls(self.messages, {c.call_id for c in asked})
            for call, answer in ready:
                async for event in self._run_tool(call, answer):
                    yield event
            async for event in self._ask(asked):
                yield event
            if asked or any(self._tools.is_function(c.name) for c in calls):
                return  # the caller runs its functions or answers the approval requests
        self.response.status = "incomplete"
        self.response.incomplete_details = IncompleteDetails(reason="max_infer_iters")

    async def _infer(self, iteration: int, calls: list[_Call]) -> AsyncIterator[StreamEvent]:
        limit = self.request.max_tool_calls
        limit_reached = limit is not None and self._tool_calls >= limit
        body = chat_request(self.request, self.messages, self._tools, iteration, limit_reached)
        stream = await self._settings.inference.chat_completion(body)
        text: list[str] = []
        message: tuple[int, str] | None = None  # (output index, item id) once announced
        by_index: dict[int, _Call] = {}
        buffer = bool(self._settings.output_shields)  # hold text until it passes the shields
        self._logprobs = []
        try:
            async for chunk in stream:
                self._count(chunk.usage)
                for choice in chunk.choices[:1]:
                    self._cut = self._cut or choice.finish_reason == "length"
                    delta = choice.delta
                    if delta.content:
                        probs = chunk_logprobs(choice)
                        self._logprobs += probs
                        if message is None and not buffer:
                            index, item_id, opened = self._open_message()
                            message = (index, item_id)
                            for event in opened:
                                yield event
                        text.append(delta.content)
                        if message is not None:
                            yield self._text_delta(message, delta.content, probs)
                    for tc in delta.tool_calls or []:
                        async for event in self._call_delta(by_index, tc):
                            yield event
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
        calls.extend(by_index[i] for i in sorted(by_index))
        async for event in self._close_turn("".join(text), message, calls):
            yield event

    def _count(self, usage: Any) -> None:
        if usage is None:
            return
        total = self.response.usage or ResponseUsage()
        total.input_tokens += usage.prompt_tokens
        total.output_tokens += usage.completion_tokens
        total.total_tokens = total.input_tokens + total.output_tokens
        self.response.usage = total

    def _open_message(self) -> tuple[int, str, list[StreamEvent]]:
        item = MessageItem(id=new_id("msg"), role="assistant", content=[], status="in_progress")
        index, added = self._add(item)
        part = self._event(
            "response.content_part.added",
            item_id=item.id,
            output_index=index,
            content_index=0,
            part={"type": "output_text", "text": "", "annotations": []},
        )
        assert item.id is not None
        return index, item.id, [added, part]

    def _text_delta(
        self, message: tuple[int, str], delta: str, logprobs: list[dict[str, Any]]
    ) -> StreamEvent:
        return self._event(
            "response.output_text.delta",
            item_id=message[1],
            output_index=message[0],
            content_index=0,
            delta=delta,
            logprobs=logprobs,
        )

    async def _call_delta(self, by_index: dict[int, _Call], tc: Any) -> AsyncIterator[StreamEvent]:
        call = by_index.get(tc.index)
        if call is None:
            call = by_index[tc.index] = _Call(call_id=tc.id or new_id("call"))
        if tc.function is not None:
            call.name += tc.function.name or ""
            piece = tc.function.arguments or ""
            call.arguments += piece
        else:
            piece = ""
        if call.index is None and call.name and self._tools.is_function(call.name):
            item = FunctionCallItem(
                id=new_id("fc"),
                call_id=call.call_id,
                name=call.name,
                arguments="",
                status="in_progress",
            )
            call.index, added = self._add(item)
            yield added
            piece = call.arguments  # what arrived with the name
        if call.index is not None and piece:
            item_id = self.response.output[call.index].id
            yield self._event(
                "response.function_call_arguments.delta",
                item_id=item_id,
                output_index=call.index,
                delta=piece,
            )

    async def _close_turn(
        self, text: str, message: tuple[int, str] | None, calls: list[_Call]
    ) -> AsyncIterator[StreamEvent]:
        if text:
            violation = await shield_violation(
                self._settings.safety, self._settings.output_shields, [text], "assistant"
            )
            if violation is not None:
                async for event in self._refusal(violation):
                    yield event
                calls.clear()  # a refused turn runs no tools
                return
            if message is None:  # buffered for the output shields: release it now
                index, item_id, opened = self._open_message()
                message = (index, item_id)
                for event in opened:
                    yield event
                yield self._text_delta(message, text, self._logprobs)
            async for event in self._finish_text(message[0], message[1], text):
                yield event
        for call in calls:
            if call.index is not None:
                item = FunctionCallItem(
                    id=self.response.output[call.index].id,
                    call_id=call.call_id,
                    name=call.name,
                    arguments=call.arguments,
                    status="completed",
                )
                yield self._event(
                    "response.function_call_arguments.done",
                    item_id=item.id,
                    output_index=call.index,
                    name=call.name,
                    arguments=call.arguments,
                )
                yield self._done(call.index, item)
        tool_calls = [
            {
                "id": c.call_id,
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments},
            }
            for c in calls
        ]
        assistant: dict[str, Any] = {"role": "assistant", "content": text or None}
        if tool_calls:
            assistant["tool_calls"] = tool_calls
        self.messages.append(assistant)

    async def _finish_text(self, index: int, item_id: str, text: str) -> AsyncIterator[StreamEvent]:
        part = OutputText(
            text=text, annotations=citations(text, self._last_search), logprobs=self._logprobs
        )
        yield self._event(
            "response.output_text.done",
            item_id=item_id,
            output_index=index,
            content_index=0,
            text=text,
            logprobs=self._logprobs,
        )
        yield self._event(  # its part without logprobs, as Llama Stack 0.7.3 sends it
            "response.content_part.done",
            item_id=item_id,
            output_index=index,
            content_index=0,
            part={**part.model_dump(mode="json", exclude_none=True), "logprobs": []},
        )
        item = MessageItem(id=item_id, role="assistant", content=[part], status="completed")
        yield self._done(index, item)

    # -- server-side tools

    async def _run_tool(
        self, call: _Call, answer: McpApprovalResponseItem | None = None
    ) -> AsyncIterator[StreamEvent]:
        if answer is not None and not answer.approve:
            request = self._approvals.requests[answer.approval_request_id]
            self._tool_result(call, declined(request, answer))
            return
        self._tool_calls += 1
        if call.name == FILE_SEARCH or (call.name == WEB_SEARCH and self._tools.has_web_search):
            events = self._search(call)
        elif self._tools.server_label(call.name) is not None:
            events = self._mcp_call(call, answer.approval_request_id if answer else None)
        else:
            self._tool_result(call, f"Error: there is no tool named '{call.name}'.")
            return
        async for event in events:
            yield event

    def _tool_result(self, call: _Call, content: str) -> None:
        self.messages.append({"role": "tool", "tool_call_id": call.call_id, "content": content})

    async def _search(self, call: _Call) -> AsyncIterator[StreamEvent]:
        """A file_search or web_search call: its item and in_progress, searching, completed."""
        kind = call.name
        pending: FileSearchCallItem | WebSearchCallItem
        if kind == FILE_SEARCH:
            pending = FileSearchCallItem(id=new_id("fs"), queries=[], status="in_progress")
        else:
            pending = WebSearchCallItem(id=new_id("ws"), status="in_progress")
        index, added = self._add(pending)
        yield added
        for phase in ("in_progress", "searching"):
            yield self._event(
                f"response.{kind}_call.{phase}", item_id=pending.id, output_index=index
            )
        item: FileSearchCallItem | WebSearchCallItem
        if kind == FILE_SEARCH:
            item, content = await self._tools.run_file_search(call.arguments)
            self._last_search = item
        else:
            sources = "web_search_call.action.sources" in (self.request.include or [])
            item, content = await self._tools.run_web_search(call.arguments, sources)
        item.id = pending.id
        yield self._event(f"response.{kind}_call.completed", item_id=item.id, output_index=index)
        yield self._done(index, item)
        self._tool_result(call, content)

    async def _mcp_call(self, call: _Call, approval: str | None) -> AsyncIterator[StreamEvent]:
        label = self._tools.server_label(call.name) or ""
        item_id = new_id("mcp")
        pending = McpCallItem(
            id=item_id,
            name=call.name,
            arguments=call.arguments,
            server_label=label,
            approval_request_id=approval,
        )
        index, added = self._add(pending)
        yield added
        where = {"item_id": item_id, "output_index": index}  # 0.7.3's event names
        yield self._event("response.mcp_call.arguments.delta", **where, delta=call.arguments)
        yield self._event("response.mcp_call.arguments.done", **where, arguments=call.arguments)
        yield self._event("response.mcp_call.in_progress", item_id=item_id, output_index=index)
        item, content = await self._tools.run_mcp(item_id, call.name, call.arguments)
        item.approval_request_id = approval
        outcome = "failed" if item.error is not None else "completed"
        yield self._event(f"response.mcp_call.{outcome}", item_id=item_id, output_index=index)
        yield self._done(index, item)
        self._tool_result(call, content)

    # -- approvals

    async def _answered(self) -> AsyncIterator[StreamEvent]:
        """Act on the input's answers first: an approved call runs, a declined one is told to
        the model as declined; each becomes a tool call and its result in the chat."""
        for request, answer in self._approvals.new_answers:
            call = _Call(call_id=request.id, name=request.name, arguments=request.arguments)
            add_call(self.messages, call.call_id, call.name, call.arguments)
            if self._tools.server_label(call.name) != request.server_label:
                self._tool_result(
                    call,
                    f"Error: MCP server '{request.server_label}' offers no "
                    f"tool named '{call.name}'.",
                )
                continue
            async for event in self._run_tool(call, answer):
                yield event

    async def _ask(self, asked: list[_Call]) -> AsyncIterator[StreamEvent]:
        """An mcp_approval_request item for each call that waits for approval."""
        for call in asked:
            label = self._tools.server_label(call.name) or ""
            item = McpApprovalRequestItem(
                id=new_id("mcpr"), name=call.name, arguments=call.arguments, server_label=label
            )
            index, added = self._add(item)
            yield added
            yield self._done(index, item)

    async def _list_mcp(self, server: McpTool) -> AsyncIterator[StreamEvent]:
        pending = McpListToolsItem(id=new_id("mcpl"), server_label=server.server_label, tools=[])
        index, added = self._add(pending)
        yield added
        yield self._event(
            "response.mcp_list_tools.in_progress", item_id=pending.id, output_index=index
        )
        try:
            item = await self._tools.list_mcp(server)
        except Exception:
            failed = pending.model_copy(update={"error": "listing the tools failed"})
            self.response.output[index] = failed
            yield self._event(
                "response.mcp_list_tools.failed", item_id=pending.id, output_index=index
            )
            raise
        item.id = pending.id
        yield self._event("response.mcp_list_tools.completed", item_id=item.id, output_index=index)
        yield self._done(index, item)

    # -- guardrails (input and output shields: guardrails.violation)

    async def _refusal(self, text: str) -> AsyncIterator[StreamEvent]:
        item = MessageItem(id=new_id("msg"), role="assistant", content=[], status="in_progress")
        index, added = self._add(item)
        yield added
        common = {"item_id": item.id, "output_index": index, "content_index": 0}
        yield self._event(
            "response.content_part.added", **common, part={"type": "refusal", "refusal": ""}
        )
        yield self._event("response.refusal.delta", **common, delta=text)
        yield self._event("response.refusal.done", **common, refusal=text)
        part = Refusal(refusal=text)
        yield self._event("response.content_part.done", **common, part=part.model_dump(mode="json"))
        done = MessageItem(id=item.id, role="assistant", content=[part], status="completed")
        yield self._done(index, done)
        self.messages.append({"role": "assistant", "content": text})


def _dump(item: Item) -> dict[str, Any]:
    return item.model_dump(mode="json", exclude_none=True)
