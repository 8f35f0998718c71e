"""`%llama batch`: a DataFrame (or rows, or a JSONL file) of requests in, a batch run with
progress, a DataFrame of results out."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from llama_workbench.jupyter.display import Table
from llama_workbench.jupyter.host import first_model
from llama_workbench.jupyter.parsing import MagicParser, parse, positive_int, split
from llama_workbench.jupyter.parsing import temperature as temperature_type

if TYPE_CHECKING:
    from llama_workbench.jupyter.host import MagicHost

ACTIONS = ("run", "list", "results", "cancel")
ENDPOINTS = {
    "chat": "/v1/chat/completions",
    "completions": "/v1/completions",
    "embeddings": "/v1/embeddings",
    "responses": "/v1/responses",
}
# The column a row's text comes from, per endpoint (the first one present).
_TEXT_COLUMNS = {
    "/v1/chat/completions": ("messages", "prompt", "question", "content", "text", "input"),
    "/v1/completions": ("prompt", "text", "question", "input"),
    "/v1/embeddings": ("input", "text", "content", "prompt"),
    "/v1/responses": ("input", "prompt", "question", "text"),
}
_SAMPLING = ("max_tokens", "temperature", "top_p", "stop", "seed", "instructions")
_ENDED = ("completed", "failed", "expired", "cancelled")
DESCRIPTION = (
    "Batches: `%llama batch <DataFrame|list variable|file.jsonl> [--model M] [--endpoint chat]` "
    "runs every row as one request of a batch (progress shown; Ctrl-C cancels it) and returns a "
    "DataFrame of results, one row per request. A row's text comes from its messages, prompt, "
    "question or input column; custom_id, max_tokens, temperature columns are used when present. "
    "A JSONL file holds request lines as OpenAI's Batch API takes them. `list` shows batches, "
    "`results <batch_id>` reads one's results, `cancel <batch_id>` stops one."
)


def batch_parser() -> MagicParser:
    p = MagicParser(
        prog="%llama batch",
        summary="Run a DataFrame of requests as a batch (progress, a DataFrame of results); list.",
        description=DESCRIPTION,
    )
    p.add_argument("words", nargs="*", help="[run] <variable|file> | list | results ID | cancel ID")
    p.add_argument("--model", "-m", help="run: the model (default: the first that fits).")
    p.add_argument(
        "--endpoint", "-e", default="chat", help=f"run: one of {', '.join(ENDPOINTS)} (or a path)."
    )
    p.add_argument("--max-tokens", "-n", type=positive_int, help="run: answer cap per request.")
    p.add_argument("--temperature", "-t", type=temperature_type, help="run: sampling temperature.")
    p.add_argument("--no-wait", action="store_true", help="run: start the batch and return it.")
    return p


def batch(magic: MagicHost, line: str, cell: str | None) -> Any:
    parser = batch_parser()
    args = parse(parser, split(line, parser))
    words = list(args.words)
    action = words.pop(0) if words and words[0] in ACTIONS else "run"
    stack = magic.session.stack
    if action == "list":
        rows = [_summary_row(b) for b in stack.batches.list_batches(limit=100).data]
        return Table("Batches", ["batch", "endpoint", "status", "requests", "created"], rows)
    if len(words) != 1:
        raise UsageError(f"%llama batch {action}: give one {_WANTED[action]} (%llama batch --help)")
    if action == "cancel":
        cancelled = stack.batches.cancel_batch(words[0])
        print(f"{cancelled.id}: {cancelled.status}")
        return None
    if action == "results":
        return _finish(magic, stack, stack.batches.retrieve_batch(words[0]), {})
    return _run(magic, stack, words[0], args)


_WANTED = {"run": "variable or JSONL file", "results": "batch id", "cancel": "batch id"}


def _summary_row(b: Any) -> tuple[Any, ...]:
    counts = b.request_counts
    done = f"{counts.completed + counts.failed}/{counts.total}" if counts else ""
    return (b.id, b.endpoint, b.status, done, b.created_at)


def _run(magic: MagicHost, stack: Any, source: str, args: Any) -> Any:
    endpoint = ENDPOINTS.get(args.endpoint, args.endpoint)
    if endpoint not in _TEXT_COLUMNS:
        raise UsageError(
            f"%llama batch: unknown endpoint '{args.endpoint}'; use one of {', '.join(ENDPOINTS)}"
        )
    lines, inputs = _request_lines(magic, stack, source, endpoint, args)
    if not lines:
        raise UsageError(f"%llama batch: '{source}' holds no requests")
    endpoint = lines[0].get("url", endpoint)
    content = "\n".join(json.dumps(line) for line in lines).encode()
    uploaded = stack.files.upload_file(content, "batch", "notebook-batch.jsonl")
    created = stack.batches.create_batch(
        input_file_id=uploaded.id, endpoint=endpoint, completion_window="24h"
    )
    if args.no_wait:
        print(f"Started {created.id}; %llama batch results {created.id} reads it when it ends")
        return created
    return _finish(magic, stack, _follow(stack, created), inputs)


def _request_lines(
    magic: MagicHost, stack: Any, source: str, endpoint: str, args: Any
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """The batch's request lines and, by custom_id, the input columns each result row keeps."""
    value = magic.user_ns.get(source)
    if value is None:
        path = Path(source).expanduser()
        if not path.is_file():
            raise UsageError(f"%llama batch: '{source}' is neither a variable nor a file")
        try:
            lines = [json.loads(t) for t in path.read_text().splitlines() if t.strip()]
        except json.JSONDecodeError as exc:
            raise UsageError(f"%llama batch: {source} is not JSONL ({exc})") from None
        return lines, {}
    rows = value.to_dict("records") if hasattr(value, "to_dict") else value
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise UsageError(f"%llama batch: '{source}' must be a DataFrame or a list of dicts")
    model = args.model or _default_model(stack, endpoint)
    lines = [_line(row, i, endpoint, model, args) for i, row in enumerate(rows)]
    inputs = {line["custom_id"]: row for line, row in zip(lines, rows, strict=True)}
    return lines, inputs


def _default_model(stack: Any, endpoint: str) -> str:
    return first_model(stack, "embedding" if endpoint == "/v1/embeddings" else "llm")


def _line(row: dict[str, Any], index: int, endpoint: str, model: str, args: Any) -> dict[str, Any]:
    if isinstance(row.get("body"), dict):
        body = dict(row["body"])
    else:
        column = next((c for c in _TEXT_COLUMNS[endpoint] if c in row), None)
        if column is None:
            wanted = ", ".join(_TEXT_COLUMNS[endpoint])
            raise UsageError(f"%llama batch: row {index} has none of the columns {wanted}")
        text = row[column]
        if endpoint == "/v1/chat/completions" and column != "messages":
            text = [{"role": "user", "content": str(text)}]
        field = {"/v1/chat/completions": "messages", "/v1/completions": "prompt"}.get(
            endpoint, "input"
        )
        body = {field: text, **{k: row[k] for k in _SAMPLING if _present(row.get(k))}}
    body.setdefault("model", model)
    if args.max_tokens:
        key = "max_output_tokens" if endpoint == "/v1/responses" else "max_tokens"
        body.setdefault(key, args.max_tokens)
    if args.temperature is not None:
        body.setdefault("temperature", args.temperature)
    custom_id = str(row["custom_id"]) if _present(row.get("custom_id")) else f"row-{index}"
    return {"custom_id": custom_id, "method": "POST", "url": endpoint, "body": body}


def _present(value: Any) -> bool:
    return value is not None and value == value  # NaN (a DataFrame's missing cell) is absent


def _follow(stack: Any, created: Any) -> Any:
    """Progress until the batch ends; Ctrl-C cancels it (what finished is kept)."""
    from tqdm.auto import tqdm

    batch = created
    bar = tqdm(total=None, desc=created.id, unit="req")
    try:
        while batch.status not in _ENDED:
            threading.Event().wait(0.2)
            batch = stack.batches.retrieve_batch(created.id)
            counts = batch.request_counts
            if counts is not None:
                bar.total = counts.total
                bar.update(counts.completed + counts.failed - bar.n)
    except KeyboardInterrupt:
        batch = stack.batches.cancel_batch(created.id)
        print(f"%llama batch: cancelled {created.id}; the finished requests are kept")
    finally:
        bar.close()
    return batch


def _finish(magic: MagicHost, stack: Any, batch: Any, inputs: dict[str, dict[str, Any]]) -> Any:
    if batch.status == "failed":
        errors = batch.errors.data if batch.errors else []
        shown = "; ".join(
            f"line {e.line}: {e.message}" if e.line else str(e.message) for e in errors[:3]
        )
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        raise UsageError(f"%llama batch: {batch.id} failed: {shown}{more}")
    if batch.status not in _ENDED:
        raise UsageError(
            f"%llama batch: {batch.id} is {batch.status}; its results come when it ends"
        )
    frame = results_frame(stack, batch, inputs)
    magic.result(frame)
    return frame


def results_frame(stack: Any, batch: Any, inputs: dict[str, dict[str, Any]]) -> Any:
    """One row per request, in input order: its input columns, the answer (or embedding), the
    error if it failed, and the whole response body."""
    import pandas as pd

    lines: list[dict[str, Any]] = []
    for file_id in (batch.output_file_id, batch.error_file_id):
        if file_id:
            text = stack.files.retrieve_file_content(file_id).decode()
            lines.extend(json.loads(t) for t in text.splitlines() if t.strip())
    lines.sort(key=lambda line: int(str(line["id"]).rsplit("_", 1)[-1]))
    rows = [_result_row(line, inputs.get(line["custom_id"], {})) for line in lines]
    return pd.DataFrame(rows)


def _result_row(line: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"custom_id": line["custom_id"], **given}
    response = line.get("response") or {}
    body = response.get("body")
    body = json.loads(body) if isinstance(body, str) else body
    row.update(answer=_answer(body) if body else None, error=None, response=body)
    if line.get("error"):
        row["error"] = line["error"].get("message")
    return row


def _answer(body: dict[str, Any]) -> Any:
    if body.get("object") == "list":  # embeddings
        vectors = [d["embedding"] for d in body.get("data", [])]
        return vectors[0] if len(vectors) == 1 else vectors
    if "output_text" in body or body.get("object") == "response":
        return body.get("output_text") or _output_text(body)
    choice = (body.get("choices") or [{}])[0]
    return choice["message"].get("content") if "message" in choice else choice.get("text")


def _output_text(body: dict[str, Any]) -> str:
    parts = [
        c.get("text", "")
        for item in body.get("output", [])
        if item.get("type") == "message"
        for c in item.get("content", [])
    ]
    return "".join(parts)
