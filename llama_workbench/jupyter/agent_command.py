"""`%llama agent`: an agent session in the notebook (tools, shields, memory), its steps shown live."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from llama_workbench.jupyter.context import interpolate
from llama_workbench.jupyter.display import Streamer, Table, in_frontend
from llama_workbench.jupyter.host import first_model
from llama_workbench.jupyter.parsing import MagicParser, parse, positive_int, split_options
from llama_workbench.jupyter.parsing import temperature as temperature_type

if TYPE_CHECKING:
    from llama_workbench.agents import AgentSession, StepEvent, Turn
    from llama_workbench.jupyter.host import MagicHost

ACTIONS = ("new", "ask", "sessions", "resume", "history", "approve", "deny")
DESCRIPTION = (
    "Agents: `new` starts an agent session (model, instructions, tools, shields), `ask` runs a "
    "turn (the default: `%llama agent <message>`), `sessions` lists the agent's sessions, "
    "`resume <session_id>` continues one (after a kernel restart too), `history` shows its items, "
    "`approve [request_id]` / `deny [request_id]` answer the MCP tool calls a turn waits for."
)


def agent_parser() -> MagicParser:
    p = MagicParser(
        prog="%llama agent",
        summary="Agent sessions: new (tools, shields), ask (a turn, steps shown), sessions, resume, history.",
        description=DESCRIPTION,
    )
    p.add_argument("action", nargs="?", choices=ACTIONS, default="ask")
    p.add_argument(
        "session_id", nargs="?", help="resume: the session to continue; approve/deny: a request id."
    )
    p.add_argument("--model", "-m", help="new: the model (default: the first chat model).")
    p.add_argument("--instructions", "-i", help="new: the system instructions.")
    p.add_argument(
        "--tool",
        action="append",
        default=[],
        help="new: a tool group, `builtin::rag` (with --store) or `mcp::<name>` (repeatable).",
    )
    p.add_argument(
        "--store", action="append", default=[], help="new: vector store for builtin::rag."
    )
    p.add_argument(
        "--function",
        action="append",
        default=[],
        help="new: a Python function of the notebook, run as a tool (repeatable).",
    )
    p.add_argument("--shield", action="append", default=[], help="new: a shield (repeatable).")
    p.add_argument(
        "--require-approval",
        choices=("always", "never"),
        default="never",
        help="new: whether calls of the --tool mcp::<name> servers' tools wait for your approval.",
    )
    p.add_argument("--name", help="new: the agent's name (sessions are kept per name).")
    p.add_argument("--max-tokens", "-n", type=positive_int, help="new: answer length cap.")
    p.add_argument("--temperature", "-t", type=temperature_type, help="new: 0..2.")
    p.add_argument("--out", "-o", help="ask: also store the Turn in this variable.")
    return p


def agent(magic: MagicHost, line: str, cell: str | None) -> Any:
    parser = agent_parser()
    tokens, text = split_options(line, parser)
    first, _, rest = text.partition(" ")
    if first in ACTIONS:
        tokens, more = split_options(rest, parser)
        tokens = [first, *tokens]
        text = more
    else:
        tokens = ["ask", *tokens]
    if tokens[0] in ("resume", "approve", "deny"):
        if text.strip():
            tokens.append(text.strip())
        text = ""
    args = parse(parser, tokens)
    if args.action == "new":
        return _new(magic, args)
    if args.action == "resume":
        return _resume(magic, args.session_id)
    session = _current(magic)
    if args.action == "sessions":
        rows = [(s.session_id, s.session_name, len(s.turns)) for s in session.agent.sessions()]
        return Table(
            f"Sessions of agent '{session.agent.name}'", ["session", "name", "turns"], rows
        )
    if args.action in ("approve", "deny"):
        answers = session.approval_answers(args.session_id, approve=args.action == "approve")
        turn = _ask(session, answers)
        _report(turn)
        magic.result(turn)
        return None
    if args.action == "history":
        return Table(f"Session {session.session_id}", ["type", "role", "content"], _items(session))
    message = interpolate((cell if cell is not None else text).strip(), magic.user_ns)
    if not message:
        raise UsageError("%llama agent: give a message after the options, or in the cell's body")
    turn = _ask(session, message)
    _report(turn)
    if args.out:
        magic.user_ns[args.out] = turn
    magic.result(turn)
    return None


def _new(magic: MagicHost, args: Any) -> None:
    from llama_workbench.agents import Agent

    stack = magic.session.stack
    tools: list[Any] = []
    for group in args.tool:
        if group == "builtin::rag":
            if not args.store:
                raise UsageError("%llama agent new: builtin::rag needs --store NAME")
            ids = [_store_id(stack, name) for name in args.store]
            tools.append({"name": "builtin::rag", "args": {"vector_store_ids": ids}})
        elif group.startswith("mcp::"):
            label = group.removeprefix("mcp::")
            tools.append(
                {"type": "mcp", "server_label": label, "require_approval": args.require_approval}
            )
        else:
            tools.append(group)
    for name in args.function:
        fn = magic.user_ns.get(name)
        if not callable(fn):
            raise UsageError(f"%llama agent new: '{name}' is not a function of this notebook")
        tools.append(fn)
    created = Agent(
        stack,
        model=args.model or first_model(stack, "llm"),
        instructions=args.instructions,
        tools=tools,
        shields=args.shield,
        name=args.name,
        max_output_tokens=args.max_tokens,
        temperature=args.temperature,
    )
    magic.session.agent_session = created.create_session()
    print(
        f"Agent '{created.name}' ({created.model}), session {magic.session.agent_session.session_id}"
    )


def _resume(magic: MagicHost, session_id: str | None) -> None:
    if not session_id:
        raise UsageError(
            "%llama agent resume: give a session id (%llama agent sessions lists them)"
        )
    current = magic.session.agent_session
    if current is None:
        raise UsageError(
            "%llama agent resume: create the agent first with %llama agent new (the same "
            "--name, model and instructions find its sessions)"
        )
    magic.session.agent_session = current.agent.resume_session(session_id)
    print(f"Resumed session {session_id} ({len(magic.session.agent_session.turns)} turns)")


def _current(magic: MagicHost) -> AgentSession:
    session = magic.session.agent_session
    if session is None:
        raise UsageError("%llama agent: no agent yet; start one with %llama agent new [--tool ...]")
    return session


def _ask(session: AgentSession, message: str | list[dict[str, Any]]) -> Any:
    streamer: Streamer | None = None
    events = session.turn(message, stream=True)
    try:
        for event in events:
            if event.event_type == "step_progress" and event.delta:
                streamer = streamer or Streamer(markdown=in_frontend())
                streamer.add(event.delta)
            elif event.event_type == "step_complete" and event.step is not None:
                if streamer is not None and event.step_type == "inference":
                    streamer.finish()
                    streamer = None
                line = _step_line(event)
                if line:
                    print(line, flush=True)
            elif event.event_type == "turn_complete":
                return event.turn
    finally:
        # Ctrl-C lands here too: closing the stream stops the response before the cell ends.
        events.close()
    raise UsageError("%llama agent: the turn ended without a result")


def _report(turn: Turn) -> None:
    """A turn that waits for approval: what waits, and how to answer (one line)."""
    if turn.status != "awaiting_approval":
        return
    from llama_workbench.agents.approvals import describe_item

    waiting = "; ".join(describe_item(r) for r in turn.pending_approvals)
    print(
        f"[approval] {waiting} waits for your approval: `%llama agent approve` runs it, "
        "`%llama agent deny` declines it.",
        flush=True,
    )


def _step_line(event: StepEvent) -> str | None:
    assert event.step is not None
    details = event.step.details
    if event.step_type == "shield_call":
        violation = details.get("violation")
        shields = ", ".join(details.get("shield_ids", []))
        return f"[shield {shields}] " + (violation["user_message"] if violation else "passed")
    if event.step_type == "tool_execution":
        lines = []
        for call, result in zip(
            details.get("tool_calls", []), details.get("tool_responses", []), strict=False
        ):
            outcome = result.get("error") or result.get("content")
            lines.append(
                f"[tool] {call.get('tool_name') or call.get('name')}({call.get('arguments', '')}) -> {outcome}"
            )
        return "\n".join(lines) or None
    if event.step_type == "memory_retrieval":
        files = ", ".join(r["filename"] for r in details.get("results", []))
        return f"[search] {details.get('queries')} -> {files or 'nothing found'}"
    return None


def _items(session: AgentSession) -> list[tuple[str, str, str]]:
    rows = []
    for item in session.history():
        data = item.model_dump(exclude_none=True)
        content = data.get("content", data.get("output", data.get("arguments", "")))
        if isinstance(content, list):
            content = " ".join(p.get("text") or p.get("refusal") or "" for p in content)
        rows.append((data["type"], data.get("role", ""), json.dumps(content)[1:-1][:160]))
    return rows


def _store_id(stack: Any, name: str) -> str:
    for store in stack.vector_io.list_vector_stores(limit=100).data:
        if name in (store.id, store.name):
            return str(store.id)
    raise UsageError(f"%llama agent new: no vector store named '{name}' (%llama rag stores)")
