"""inline::builtin responses: create (plain, streamed, background), chaining, conversations, storage."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

from llama_workbench.apis.responses.models import (
    CreateResponseRequest,
    InputItemList,
    InputText,
    Item,
    McpTool,
    ResponseDeleted,
    ResponseList,
    ResponseObject,
    ResponsePrompt,
    StreamEvent,
    TextConfig,
)
from llama_workbench.core.datatypes import Api, ProviderDeps
from llama_workbench.core.errors import BadRequestError, ConflictError, NotFoundError
from llama_workbench.providers.inline.responses.builtin.approvals import Approvals
from llama_workbench.providers.inline.responses.builtin.config import BuiltinResponsesConfig
from llama_workbench.providers.inline.responses.builtin.convert import (
    input_items,
    items_to_messages,
    user_texts,
)
from llama_workbench.providers.inline.responses.builtin.options import check_options, echoed
from llama_workbench.providers.inline.responses.builtin.orchestrator import (
    ResponseRun,
    RunSettings,
)
from llama_workbench.providers.inline.responses.builtin.sessions import AgentSessions
from llama_workbench.providers.inline.responses.builtin.store import ResponsesStore
from llama_workbench.providers.inline.responses.builtin.tools import ToolDeps, ToolSet
from llama_workbench.storage.config import SqlStoreRef

_FINAL = ("response.completed", "response.incomplete", "response.failed")
_ITEMS_PER_WRITE = 20  # the Conversations API's bound on items per request


@dataclass
class _Prepared:
    run: ResponseRun
    new_items: list[Item]
    history: list[dict[str, Any]]  # chat messages before this response, without instructions
    lead: int  # how many system messages (the prompt, instructions) come before the history


class BuiltinResponses:
    """The Responses API over the stack's inference, vector_io, tool_runtime and safety APIs."""

    def __init__(self, config: BuiltinResponsesConfig, deps: ProviderDeps) -> None:
        from llama_workbench.core.conversations import ConversationsStore

        self._config = config
        self._inference = deps.apis[Api.inference]
        self._models = deps.apis.get(Api.models)
        self._safety = deps.apis.get(Api.safety)
        self._shields = deps.apis.get(Api.shields)
        self._prompts = deps.apis.get(Api.prompts)
        self._tool_deps = ToolDeps(
            vector_io=deps.apis.get(Api.vector_io),
            tool_runtime=deps.apis.get(Api.tool_runtime),
            connectors=deps.apis.get(Api.connectors),
            timeout_s=config.tool_timeout_s,
        )
        self._store = ResponsesStore(deps.storage, config.persistence.responses)
        ref = deps.storage.config.stores.get("conversations")
        if not isinstance(ref, SqlStoreRef):
            ref = SqlStoreRef(backend="sql_default", table_name="openai_conversations")
        self.conversations = ConversationsStore(deps.storage, ref)
        # For llama_workbench.agents (not a REST API): agent session records.
        self.agent_sessions = AgentSessions(deps.storage, config.persistence.agent_state)
        self._background: dict[str, asyncio.Task[None]] = {}

    # -- create

    async def create_response(
        self, request: CreateResponseRequest
    ) -> ResponseObject | AsyncIterator[StreamEvent]:
        prepared = await self._prepare(request)
        if request.background:
            return await self._start_background(prepared)
        if request.stream:
            return self._streamed(prepared)
        async for _ in prepared.run.events():
            pass
        await self._finish(prepared)
        if prepared.run.failure is not None:
            raise prepared.run.failure
        return prepared.run.response

    async def _prepare(self, request: CreateResponseRequest) -> _Prepared:
        self._check_options(request)
        check_options(request)
        await self._check_resources(request)
        tools = ToolSet(list(request.tools or []), self._tool_deps)
        await tools.check()
        new_items = input_items(request.input)
        history, earlier = await self._history(request)
        approvals = Approvals.of(earlier, new_items, list(request.tools or []))
        lead = await self._lead(request)
        messages = lead + history + items_to_messages(new_items)
        response = ResponseObject(
            model=request.model,
            instructions=request.instructions,
            prompt=request.prompt,
            previous_response_id=request.previous_response_id,
            conversation={"id": request.conversation} if request.conversation else None,
            tools=request.tools,
            tool_choice=request.tool_choice,
            parallel_tool_calls=request.parallel_tool_calls,
            temperature=request.temperature,
            top_p=request.top_p,
            max_output_tokens=request.max_output_tokens,
            max_tool_calls=request.max_tool_calls,
            text=request.text or TextConfig(),
            metadata=request.metadata,
            background=bool(request.background),
            store=request.store is not False,
            **echoed(request),
        )
        shields = request.shield_ids()
        settings = RunSettings(
            inference=self._inference,
            safety=self._safety,
            max_infer_iters=request.max_infer_iters or self._config.max_infer_iters,
            input_shields=shields,
            output_shields=shields,
        )
        guard_texts = user_texts(new_items)
        run = ResponseRun(request, response, messages, guard_texts, tools, settings, approvals)
        return _Prepared(run, new_items, history, len(lead))

    @staticmethod
    def _check_options(request: CreateResponseRequest) -> None:
        if request.previous_response_id and request.conversation:
            raise BadRequestError(
                "Give previous_response_id or conversation, not both: a conversation already "
                "carries the earlier turns."
            )
        if request.background and request.store is False:
            raise BadRequestError("background responses must be stored: drop store=false.")
        if request.background and request.stream:
            raise BadRequestError(
                "background responses are not streamed here: create it with background=true and "
                "poll GET /v1/responses/{response_id}."
            )
        for tool in request.tools or []:
            if not isinstance(tool, McpTool):
                continue
            for key in tool.headers or {}:
                if key.lower() == "authorization":  # as Llama Stack 0.7.3 words it
                    raise BadRequestError(
                        f"Invalid value for 'tools[server_label={tool.server_label!r}].headers': "
                        f"{key}. Authorization credentials must be passed via the "
                        "'authorization' parameter, not 'headers'."
                    )

    async def _check_resources(self, request: CreateResponseRequest) -> None:
        """Unknown models, shields and conversations are errors before any work starts."""
        if self._models is not None:
            await _check_model(self._models, request.model)
        shields = request.shield_ids()
        if shields:
            if self._safety is None or self._shields is None:
                raise BadRequestError(
                    "guardrails need the safety API: add a safety provider and shields to the run config."
                )
            for shield_id in shields:
                await self._shields.retrieve(shield_id)
        if request.conversation:
            await self.conversations.retrieve_conversation(request.conversation)

    async def _lead(self, request: CreateResponseRequest) -> list[dict[str, Any]]:
        """The system messages before the conversation: the rendered prompt, then instructions
        (Llama Stack 0.7's order); neither is carried to a later response."""
        prompt = await self._render_prompt(request.prompt) if request.prompt else None
        return [{"role": "system", "content": t} for t in (prompt, request.instructions) if t]

    async def _render_prompt(self, ref: ResponsePrompt) -> str:
        values: dict[str, str] = {}
        for name, value in (ref.variables or {}).items():
            if isinstance(value, InputText):
                value = value.text
            if not isinstance(value, str):
                raise BadRequestError(
                    f"prompt.variables.{name}: {value.type} values are not supported here; give "
                    "text (a string or an input_text part)."
                )
            values[name] = value
        if ref.version is not None and not ref.version.isdigit():
            raise BadRequestError(f"prompt.version: '{ref.version}' is not a version number.")
        if self._prompts is None:
            raise BadRequestError("prompt: this stack has no Prompts API.")
        version = int(ref.version) if ref.version else None
        try:
            return str(await self._prompts.render(ref.id, values, version))
        except (NotFoundError, BadRequestError) as exc:
            raise BadRequestError(f"prompt: {exc.message}") from None

    async def _history(
        self, request: CreateResponseRequest
    ) -> tuple[list[dict[str, Any]], list[Item]]:
        """The chat messages before this response, and the items they came from."""
        if request.previous_response_id:
            stored = await self._store.get(request.previous_response_id)
            items = [*stored.response.input, *stored.response.output]
            return list(stored.messages), items
        if request.conversation:
            items = await self.conversations.all_items(request.conversation)
            return items_to_messages(items), items
        return [], []

    async def _streamed(self, prepared: _Prepared) -> AsyncIterator[StreamEvent]:
        async for event in prepared.run.events():
            if event.type in _FINAL:
                await self._finish(prepared)  # stored before the client hears it is done
            yield event

    async def _finish(self, prepared: _Prepared) -> None:
        run = prepared.run
        response = run.response
        if response.conversation and response.status != "failed":
            items = [*prepared.new_items, *response.output]
            for start in range(0, len(items), _ITEMS_PER_WRITE):
                batch = items[start : start + _ITEMS_PER_WRITE]
                await self.conversations.create_items(response.conversation["id"], batch)
        if response.store:
            history = run.messages[prepared.lead :]
            await self._store.put(response, prepared.new_items, history)

    # -- background

    async def _start_background(self, prepared: _Prepared) -> ResponseObject:
        response = prepared.run.response
        response.status = "queued"
        await self._store.put(response, prepared.new_items, prepared.history)
        snapshot = response.model_copy(deep=True)
        response.status = "in_progress"
        task = asyncio.get_running_loop().create_task(self._run_background(prepared))
        self._background[response.id] = task
        task.add_done_callback(lambda _: self._background.pop(response.id, None))
        return snapshot

    async def _run_background(self, prepared: _Prepared) -> None:
        run = prepared.run
        try:
            await self._store.put(run.response, prepared.new_items, prepared.history)
            async for _ in run.events():
                pass
            await self._finish(prepared)
        except asyncio.CancelledError:
            run.response.status = "cancelled"
            run.response.output = []  # nothing of a cancelled run is kept, as in 0.7.3
            await asyncio.shield(
                self._store.put(run.response, prepared.new_items, prepared.history)
            )

    async def cancel_response(self, response_id: str) -> ResponseObject:
        stored = (await self._store.get(response_id, "update")).response
        if not stored.background:  # a 409, as in Llama Stack 0.7.3
            raise ConflictError(
                f"Cannot cancel response '{response_id}': only background responses can be "
                "cancelled (it was not created with background=true)."
            )
        task = self._background.get(response_id)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        elif stored.status in ("queued", "in_progress"):  # its server stopped mid-way
            held = await self._store.get(response_id)
            stored.status = "cancelled"
            await self._store.put(stored, list(held.response.input), held.messages)
        else:
            if stored.status != "cancelled":
                raise ConflictError(f"Response {response_id} is already {stored.status}.")
        return await self.retrieve_response(response_id)

    # -- read and delete

    async def retrieve_response(self, response_id: str) -> ResponseObject:
        stored = (await self._store.get(response_id)).response
        return ResponseObject.model_validate(stored.model_dump(exclude={"input"}))

    async def list_responses(
        self,
        after: str | None = None,
        limit: int = 50,
        model: str | None = None,
        order: Literal["asc", "desc"] = "desc",
    ) -> ResponseList:
        return await self._store.list(after, limit, model, order)

    async def list_input_items(
        self,
        response_id: str,
        after: str | None = None,
        before: str | None = None,
        limit: int = 20,
        order: Literal["asc", "desc"] = "desc",
    ) -> InputItemList:
        return await self._store.input_items(response_id, after, before, limit, order)

    async def delete_response(self, response_id: str) -> ResponseDeleted:
        task = self._background.get(response_id)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._store.delete(response_id)
        return ResponseDeleted(id=response_id)

    async def shutdown(self) -> None:
        tasks: builtins.list[asyncio.Task[None]] = list(self._background.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        close = getattr(self.conversations, "close", None)
        if close is not None:
            await close()


async def _check_model(models: Any, model: str) -> None:
    """An unknown model is a 404 worded as Llama Stack 0.7.3 words it, then what exists."""
    try:
        await models.retrieve(model)
    except NotFoundError as exc:
        if exc.kind != "Model":
            raise
        shown = ", ".join(exc.available[:20])
        raise NotFoundError(
            "Model",
            model,
            list_command="models.list()",
            plural="Models",
            hint=f"Available: {shown}." if shown else "",
        ) from exc
