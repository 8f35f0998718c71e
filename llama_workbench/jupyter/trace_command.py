"""`%llama trace`: the stack's last traces as span trees, with durations, models and tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from llama_workbench.jupyter.display import Table
from llama_workbench.jupyter.parsing import MagicParser, parse, positive_int, split

if TYPE_CHECKING:
    from llama_workbench.jupyter.host import MagicHost

DESCRIPTION = (
    "Traces of the stack's calls (telemetry on in the run config): `%llama trace` shows the last "
    "traces as span trees with durations, status, model, provider and tokens; `--metrics` gives "
    "a DataFrame of requests, errors, tokens and latency per api/method/model/provider."
)
OFF = (
    "%llama trace: this stack does not trace its calls; add `telemetry: {enabled: true}` to its "
    "run config and load it with %llama config <run.yaml>"
)
HEADERS = ["trace", "span", "ms", "status", "model", "provider", "tokens in/out"]


def trace_parser() -> MagicParser:
    p = MagicParser(
        prog="%llama trace",
        summary="The last traces of the stack's calls (span trees, latency, tokens) and metrics.",
        description=DESCRIPTION,
    )
    p.add_argument("trace_id", nargs="?", help="one trace by id (default: the last ones)")
    p.add_argument("--last", "-n", type=positive_int, default=5, help="how many traces (5)")
    p.add_argument(
        "--where",
        "-w",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="only traces with a span whose attribute KEY is VALUE, e.g. model_id=... (repeatable)",
    )
    p.add_argument("--depth", "-d", type=int, help="levels under each root (default: all)")
    p.add_argument("--metrics", "-m", action="store_true", help="a metrics DataFrame instead")
    return p


def trace(magic: MagicHost, line: str, cell: str | None) -> Any:
    """`%llama trace [trace_id] [--last N] [--where k=v] [--depth D] [--metrics]`."""
    parser = trace_parser()
    args = parse(parser, split(line, parser))
    stack = magic.session.stack
    if "telemetry" not in {api.value for api in stack.apis}:
        raise UsageError(OFF)
    if args.depth is not None and args.depth < 0:
        raise UsageError("%llama trace: --depth is 0 or more (0: the root spans alone)")
    if args.metrics:
        return stack.telemetry.metrics_frame()
    if args.trace_id:
        traces = [stack.telemetry.get_trace(args.trace_id)]
    else:
        filters = [_condition(text) for text in args.where]
        traces = stack.telemetry.query_traces(attribute_filters=filters, limit=args.last).data
    rows: list[list[str]] = []
    for found in traces:
        tree = stack.telemetry.get_span_tree(found.root_span_id, max_depth=args.depth).data
        rows += _rows(found.trace_id, list(tree.values()))
    what = f"trace {args.trace_id}" if args.trace_id else f"last {len(traces)} traces, newest first"
    return Table(f"Traces ({what})", HEADERS, rows)


def _condition(text: str) -> dict[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise UsageError(f"%llama trace: --where takes KEY=VALUE, got '{text}'")
    return {"key": key.strip(), "op": "eq", "value": value}


def _rows(trace_id: str, spans: list[Any]) -> list[list[str]]:
    """The spans depth first, names indented by depth; the trace id on its first row."""
    children: dict[str | None, list[Any]] = {}
    ids = {s.span_id for s in spans}
    for span in spans:
        parent = span.parent_span_id if span.parent_span_id in ids else None
        children.setdefault(parent, []).append(span)
    rows: list[list[str]] = []

    def walk(parent: str | None, depth: int) -> None:
        for span in sorted(children.get(parent, []), key=lambda s: s.start_time):
            rows.append(_row(trace_id if not rows else "", span, depth))
            walk(span.span_id, depth + 1)

    walk(None, 0)
    return rows


def _row(trace_id: str, span: Any, depth: int) -> list[str]:
    a = span.attributes or {}
    ms = ""
    if span.end_time is not None:
        ms = f"{(span.end_time - span.start_time).total_seconds() * 1000:.1f}"
    tokens = ""
    if "prompt_tokens" in a:
        tokens = f"{a['prompt_tokens']}/{a.get('completion_tokens', 0)}"
    status = span.status.value if span.status is not None else ""
    if a.get("error.type"):
        status += f" ({a['error.type']})"
    return [
        trace_id,
        "  " * depth + span.name,
        ms,
        status,
        str(a.get("model_id", "")),
        str(a.get("provider_id", "")),
        tokens,
    ]
