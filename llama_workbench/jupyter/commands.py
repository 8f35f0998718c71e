"""What each `%llama` subcommand does (the magic parses, these call the stack and display)."""

from __future__ import annotations

import glob
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from llama_workbench.jupyter.context import interpolate
from llama_workbench.jupyter.display import Streamer, Table, in_frontend
from llama_workbench.jupyter.host import first_model, parse_json
from llama_workbench.jupyter.parsers import (
    chat_parser,
    config_parser,
    history_parser,
    models_parser,
    rag_parser,
    reset_parser,
    shield_parser,
    stack_parser,
    status_parser,
    widget_parser,
)
from llama_workbench.jupyter.parsing import parse, split, split_options

if TYPE_CHECKING:
    from llama_workbench.jupyter.host import MagicHost


def chat(magic: MagicHost, line: str, cell: str | None) -> None:
    parser = chat_parser()
    tokens, text = split_options(line, parser)
    args = parse(parser, tokens)
    prompt = interpolate((cell if cell is not None else text).strip(), magic.user_ns)
    if not prompt:
        raise UsageError("%llama chat: give a prompt after the options, or in the cell's body")
    stack = magic.session.stack
    model = args.model or first_model(stack, "llm")
    for shield in args.shield:
        _guard(stack, shield, "user", prompt)
    messages = [] if args.no_history else list(magic.session.history)
    if args.system:
        messages = [{"role": "system", "content": args.system}, *messages]
    messages.append({"role": "user", "content": prompt})
    fmt = args.format or ("markdown" if in_frontend() else "text")
    answer = _stream(stack, model, messages, args, markdown=fmt == "markdown")
    for shield in args.shield:
        _guard(stack, shield, "assistant", answer)
    if not args.no_history:
        magic.session.history += [messages[-1], {"role": "assistant", "content": answer}]
    value: Any = answer
    if fmt == "json":
        value = parse_json(answer)
    elif fmt == "code":
        magic.next_cell(_code_of(answer))
    if args.out:
        magic.user_ns[args.out] = value
    magic.result(value)


def _stream(stack: Any, model: str, messages: list[Any], args: Any, markdown: bool) -> str:
    streamer = Streamer(markdown)
    stream = stack.inference.chat_completion(
        model=model,
        messages=messages,
        temperature=args.temperature,
        max_tokens=args.max_tokens,
        stream=True,
    )
    try:
        for chunk in stream:
            for choice in chunk.choices:
                streamer.add(choice.delta.content or "")
    finally:
        # Ctrl-C lands here too: closing the stream stops generation before the cell ends.
        stream.close()
    return streamer.finish()


def _guard(stack: Any, shield: str, role: str, text: str) -> None:
    verdict = stack.safety.run_shield(shield_id=shield, messages=[{"role": role, "content": text}])
    if verdict.violation is not None and verdict.violation.violation_level == "error":
        what = "prompt" if role == "user" else "answer"
        raise UsageError(
            f"%llama chat: shield '{shield}' stopped the {what}: {verdict.violation.user_message}"
        )


def _code_of(answer: str) -> str:
    blocks = re.findall(r"```[\w+-]*\n(.*?)```", answer, re.DOTALL)
    return "\n\n".join(b.rstrip() for b in blocks) if blocks else answer.strip()


def history(magic: MagicHost, line: str, cell: str | None) -> Table:
    parser = history_parser()
    parse(parser, split(line, parser))
    rows = [(i, m["role"], m["content"]) for i, m in enumerate(magic.session.history)]
    return Table("Chat history", ["#", "role", "content"], rows)


def reset(magic: MagicHost, line: str, cell: str | None) -> None:
    parser = reset_parser()
    parse(parser, split(line, parser))
    magic.session.history.clear()
    print("Chat history cleared.")


def models(magic: MagicHost, line: str, cell: str | None) -> Table:
    parser = models_parser()
    parse(parser, split(line, parser))
    rows = [
        (m.identifier, m.model_type.value, m.provider_id, m.provider_resource_id)
        for m in magic.session.stack.models.list()
    ]
    return Table("Models", ["id", "type", "provider", "provider model"], rows)


def stack(magic: MagicHost, line: str, cell: str | None) -> Any:
    """The kernel's Stack itself (`stack = %llama stack`), for the Python API."""
    parser = stack_parser()
    parse(parser, split(line, parser))
    return magic.session.stack


def status(magic: MagicHost, line: str, cell: str | None) -> None:
    parser = status_parser()
    parse(parser, split(line, parser))
    stack = magic.session.stack
    print(
        f"Stack '{stack.config.distro_name}' ({magic.session.describe}), data in {stack.data_dir}"
    )
    for note in stack.compat_notes:
        print(f"Not served as written: {note}")
    from llama_workbench.execution.engine import stack_engine_info

    print(f"Jobs run: {stack_engine_info(stack).line()}")
    providers = stack.providers.list()
    magic.show(
        Table(
            "Providers",
            ["api", "id", "type", "health"],
            [(p.api, p.provider_id, p.provider_type, _health(p.health)) for p in providers],
        )
    )
    magic.show(models(magic, "", None))
    apis = {a.value for a in stack.apis}
    if "shields" in apis:
        shields = stack.shields.list()
        magic.show(
            Table("Shields", ["id", "provider"], [(s.identifier, s.provider_id) for s in shields])
        )
    if "vector_io" in apis:
        stores = stack.vector_io.list_vector_stores(limit=100).data
        rows = [
            (s.id, s.name, s.file_counts.completed, s.metadata.get("provider_id")) for s in stores
        ]
        magic.show(Table("Vector stores", ["id", "name", "files", "provider"], rows))


def _health(health: dict[str, Any]) -> str:
    """The status, then what else the provider says: "OK; engine: ctranslate2; ..."."""
    parts = [str(health.get("status", "?"))]
    for key, value in health.items():
        if isinstance(value, dict):
            parts += [f"{k}: {v}" for k, v in value.items()]
        elif key != "status" and value:
            parts.append(f"{key}: {value}")
    return "; ".join(parts)


def config(magic: MagicHost, line: str, cell: str | None) -> None:
    parser = config_parser()
    args = parse(parser, split(line, parser))
    if args.source:
        stack = magic.session.switch(args.source)
        print(f"Now using '{args.source}': APIs {', '.join(a.value for a in stack.apis)}")
    else:
        print(f"Using '{magic.session.describe}' (switch with %llama config <path|distribution>)")


def rag(magic: MagicHost, line: str, cell: str | None) -> Any:
    parser = rag_parser()
    args = parse(parser, split(line, parser))
    stack = magic.session.stack
    if args.action == "stores":
        return Table(
            "Vector stores",
            ["id", "name", "files"],
            [
                (s.id, s.name, s.file_counts.completed)
                for s in stack.vector_io.list_vector_stores(limit=100).data
            ],
        )
    if not args.store:
        raise UsageError(f"%llama rag {args.action}: --store NAME is required")
    if args.action == "ingest":
        return _ingest(stack, args.store, args.args)
    question = interpolate(" ".join(args.args) if cell is None else cell.strip(), magic.user_ns)
    if not question:
        raise UsageError("%llama rag ask: give a question")
    return _ask(magic, stack, args, question)


def _store_id(stack: Any, name: str, create: bool) -> str:
    for store in stack.vector_io.list_vector_stores(limit=100).data:
        if name in (store.id, store.name):
            return str(store.id)
    if not create:
        raise UsageError(
            f"%llama rag: no vector store named '{name}' (%llama rag stores lists them)"
        )
    return str(stack.vector_io.create_vector_store(name=name).id)


def _ingest(stack: Any, store: str, patterns: list[str]) -> Table:
    paths = sorted(
        {Path(p) for pattern in patterns for p in glob.glob(str(Path(pattern).expanduser()))}
    )
    files = [p for p in paths if p.is_file()]
    if not files:
        raise UsageError(
            f"%llama rag ingest: no files match {' '.join(patterns) or '(nothing given)'}"
        )
    store_id = _store_id(stack, store, create=True)
    rows = []
    for path in files:
        uploaded = stack.files.upload_file(str(path))
        done = stack.vector_io.attach_file(store_id, uploaded.id)
        error = done.last_error.message if done.last_error else ""
        print(f"{path.name}: {done.status}", flush=True)
        rows.append((path.name, done.status, error))
    return Table(f"Ingested into '{store}' ({store_id})", ["file", "status", "error"], rows)


def _ask(magic: MagicHost, stack: Any, args: Any, question: str) -> Any:
    store_id = _store_id(stack, args.store, create=False)
    found = stack.tool_runtime.rag.query(
        content=question,
        vector_store_ids=[store_id],
        query_config={"max_chunks": args.top_k, "mode": args.mode},
    )
    cites = found.metadata.get("citations", [])
    magic.show(
        Table(
            "Retrieved",
            ["#", "file", "page", "score", "text"],
            [
                (c["index"], c["filename"], c["page"] or "", f"{c['score']:.3f}", _short(chunk))
                for c, chunk in zip(cites, found.metadata.get("chunks", []), strict=False)
            ],
        )
    )
    if args.no_answer or not cites:
        return None if cites else print("No relevant chunks found.")
    context = "\n\n".join(
        f"[{c['index']}] {chunk}" for c, chunk in zip(cites, found.metadata["chunks"], strict=False)
    )
    messages = [
        {
            "role": "system",
            "content": "Answer from the numbered context; cite as [n].\n\n" + context,
        },
        {"role": "user", "content": question},
    ]
    model = args.model or first_model(stack, "llm")
    ns = type("Args", (), {"temperature": 0.0, "max_tokens": 256})
    magic.result(_stream(stack, model, messages, ns, markdown=in_frontend()))
    return None


def _short(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def shield(magic: MagicHost, line: str, cell: str | None) -> None:
    parser = shield_parser()
    tokens, text = split_options(line, parser) if cell is None else (split(line, parser), "")
    if cell is None:
        shield_id, _, text = text.partition(" ")
        args = parse(parser, [*tokens, shield_id] if shield_id else tokens)
    else:
        args = parse(parser, tokens)
        text = cell
    text = interpolate(text.strip().strip("\"'"), magic.user_ns)
    if not text:
        raise UsageError("%llama shield: give the text to check")
    verdict = magic.session.stack.safety.run_shield(
        shield_id=args.shield_id, messages=[{"role": args.role, "content": text}]
    )
    v = verdict.violation
    if v is None:
        print(f"{args.shield_id}: no violation")
    else:
        print(f"{args.shield_id}: {v.violation_level.value}: {v.user_message}")


def widget(magic: MagicHost, line: str, cell: str | None) -> Any:
    parser = widget_parser()
    args = parse(parser, split(line, parser))
    from llama_workbench.jupyter.widgets import show

    options: dict[str, Any] = {}
    if args.model and args.name == "chat":
        options["model"] = args.model
    if args.job and args.name == "finetune":
        options["job_uuid"] = args.job
    return show(args.name, magic.session.stack, **options)
