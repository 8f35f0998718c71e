"""The SQLite sink: spans written in batches by an exporter thread, and the queries that read them."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import StatusCode

from llama_workbench.apis.telemetry.models import QueryCondition
from llama_workbench.core.errors import BadRequestError, NotFoundError

ROOT = "root"  # the attribute marking the first span of a trace in this stack

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spans (
    span_id TEXT PRIMARY KEY,
    trace_id TEXT NOT NULL,
    parent_span_id TEXT,
    name TEXT NOT NULL,
    start_ns INTEGER NOT NULL,
    end_ns INTEGER,
    status TEXT NOT NULL,
    attributes TEXT NOT NULL,
    api TEXT,
    method TEXT,
    model_id TEXT,
    provider_id TEXT,
    duration_ms REAL,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    total_tokens INTEGER
);
CREATE INDEX IF NOT EXISTS spans_trace ON spans (trace_id);
CREATE INDEX IF NOT EXISTS spans_parent ON spans (parent_span_id);
CREATE INDEX IF NOT EXISTS spans_start ON spans (start_ns);
CREATE TABLE IF NOT EXISTS traces (
    trace_id TEXT PRIMARY KEY,
    root_span_id TEXT NOT NULL,
    name TEXT NOT NULL,
    start_ns INTEGER NOT NULL,
    end_ns INTEGER,
    status TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS traces_start ON traces (start_ns);
"""
_SPAN_COLUMNS = (
    "span_id, trace_id, parent_span_id, name, start_ns, end_ns, status, attributes, api, method, "
    "model_id, provider_id, duration_ms, prompt_tokens, completion_tokens, total_tokens"
)
_INSERT_SPAN = f"INSERT OR REPLACE INTO spans ({_SPAN_COLUMNS}) VALUES ({', '.join('?' * 16)})"
_INSERT_TRACE = (
    "INSERT INTO traces (trace_id, root_span_id, name, start_ns, end_ns, status) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (trace_id) DO UPDATE SET "
    "end_ns = max(coalesce(end_ns, 0), coalesce(excluded.end_ns, 0))"
)
_OPS = {"eq": "=", "ne": "IS NOT", "gt": ">", "lt": "<"}
_COLUMN_KEYS = {"name", "status", "span_id", "parent_span_id"}
_ORDER = {
    "start_time": "start_ns",
    "end_time": "end_ns",
    "duration": "(end_ns - start_ns)",
    "name": "name",
}
METRIC_COLUMNS = (
    "start_ns",
    "api",
    "method",
    "model_id",
    "provider_id",
    "status",
    "duration_ms",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
)


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    return conn


def create_schema(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(_SCHEMA)
    conn.close()


def _status(span: ReadableSpan, attrs: dict[str, Any]) -> str:
    status = attrs.get("status")
    if isinstance(status, str):
        return status
    return "error" if span.status.status_code is StatusCode.ERROR else "ok"


def span_rows(spans: Sequence[ReadableSpan]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(span rows, trace rows) of finished spans; a trace row comes from its root span."""
    rows, traces = [], []
    for span in spans:
        ctx, parent = span.context, span.parent
        attrs = dict(span.attributes or {})
        span_id, trace_id = f"{ctx.span_id:016x}", f"{ctx.trace_id:032x}"
        status = _status(span, attrs)
        start, end = span.start_time or 0, span.end_time
        duration = attrs.get("latency_ms")
        if duration is None and end is not None:
            duration = (end - start) / 1e6
        rows.append(
            (
                span_id,
                trace_id,
                f"{parent.span_id:016x}" if parent is not None else None,
                span.name,
                start,
                end,
                status,
                json.dumps(attrs, default=str),
                attrs.get("api"),
                attrs.get("method"),
                attrs.get("model_id"),
                attrs.get("provider_id"),
                duration,
                attrs.get("prompt_tokens"),
                attrs.get("completion_tokens"),
                attrs.get("total_tokens"),
            )
        )
        if attrs.get(ROOT):
            traces.append((trace_id, span_id, span.name, start, end, status))
    return rows, traces


class SqliteSpanExporter(SpanExporter):
    """Writes each batch in one transaction (called from the batch processor's thread)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        create_schema(path)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        rows, traces = span_rows(spans)
        with self._lock:
            if self._conn is None:
                self._conn = connect(self.path)
            with self._conn:
                self._conn.executemany(_INSERT_SPAN, rows)
                self._conn.executemany(_INSERT_TRACE, traces)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _conditions(filters: Iterable[QueryCondition], alias: str) -> tuple[list[str], list[Any]]:
    """SQL conditions (and their parameters) for span filters; keys are always parameters."""
    clauses: list[str] = []
    params: list[Any] = []
    for f in filters:
        value = int(f.value) if isinstance(f.value, bool) else f.value
        if not isinstance(value, str | int | float) and value is not None:
            raise BadRequestError(f"attribute_filters: '{f.key}' compares with a string or number")
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            raise BadRequestError(f"attribute_filters: '{f.key}': {value} is out of range")
        if f.key in _COLUMN_KEYS:
            clauses.append(f"{alias}.{f.key} {_OPS[f.op.value]} ?")
        else:
            if '"' in f.key:
                raise BadRequestError(f"attribute_filters: invalid key {f.key!r}")
            clauses.append(f"json_extract({alias}.attributes, ?) {_OPS[f.op.value]} ?")
            params.append(f'$."{f.key}"')
        params.append(value)
    return clauses, params


def _order(order_by: Sequence[str] | None) -> str:
    parts = []
    for item in order_by or ["-start_time"]:
        field, desc = item.lstrip("-"), item.startswith("-")
        if field not in _ORDER:
            raise BadRequestError(
                f"order_by: '{item}' is not a field; use {', '.join(sorted(_ORDER))} "
                "(a leading '-' sorts descending)"
            )
        parts.append(f"{_ORDER[field]} {'DESC' if desc else 'ASC'}")
    return ", ".join(parts)


def _time(ns: int | None) -> datetime | None:
    return None if ns is None else datetime.fromtimestamp(ns / 1e9, UTC)


def trace_dict(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "trace_id": row["trace_id"],
        "root_span_id": row["root_span_id"],
        "name": row["name"],
        "status": row["status"],
        "start_time": _time(row["start_ns"]),
        "end_time": _time(row["end_ns"]),
    }


def span_dict(row: sqlite3.Row, keep: Sequence[str] | None = None) -> dict[str, Any]:
    attributes = json.loads(row["attributes"])
    if keep:
        attributes = {k: v for k, v in attributes.items() if k in keep}
    return {
        "span_id": row["span_id"],
        "trace_id": row["trace_id"],
        "parent_span_id": row["parent_span_id"],
        "name": row["name"],
        "start_time": _time(row["start_ns"]),
        "end_time": _time(row["end_ns"]),
        "attributes": attributes,
        "status": row["status"],
    }


class TraceStore:
    """Read queries over the spans file (blocking: the Telemetry API runs them in a thread)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def traces(
        self,
        filters: Sequence[QueryCondition],
        limit: int,
        offset: int,
        order_by: Sequence[str] | None,
        window: tuple[int | None, int | None],
    ) -> list[dict[str, Any]]:
        where, params = [], []
        if window[0] is not None:
            where.append("t.start_ns >= ?")
            params.append(window[0])
        if window[1] is not None:
            where.append("t.start_ns <= ?")
            params.append(window[1])
        if filters:
            clauses, values = _conditions(filters, "s")
            where.append(
                "EXISTS (SELECT 1 FROM spans s WHERE s.trace_id = t.trace_id AND "
                + " AND ".join(clauses)
                + ")"
            )
            params.extend(values)
        sql = "SELECT * FROM traces t" + (" WHERE " + " AND ".join(where) if where else "")
        sql += f" ORDER BY {_order(order_by)} LIMIT ? OFFSET ?"
        return [trace_dict(r) for r in self._query(sql, [*params, limit, offset])]

    def trace(self, trace_id: str) -> dict[str, Any]:
        rows = self._query("SELECT * FROM traces WHERE trace_id = ?", [trace_id])
        if not rows:
            raise NotFoundError("Trace", trace_id, hint="Traces are kept by the sqlite sink.")
        return trace_dict(rows[0])

    def span(self, trace_id: str, span_id: str) -> dict[str, Any]:
        rows = self._query(
            "SELECT * FROM spans WHERE trace_id = ? AND span_id = ?", [trace_id, span_id]
        )
        if not rows:
            raise NotFoundError("Span", span_id, hint=f"(in trace {trace_id})")
        return span_dict(rows[0])

    def tree(
        self, span_id: str, keep: Sequence[str] | None, max_depth: int | None
    ) -> list[dict[str, Any]]:
        """The span and its descendants (depth 0 is the span), in start order."""
        sql = (
            "WITH RECURSIVE tree(span_id, trace_id, depth) AS ("
            " SELECT span_id, trace_id, 0 FROM spans WHERE span_id = ?"
            " UNION ALL SELECT s.span_id, s.trace_id, tree.depth + 1 FROM spans s"
            " JOIN tree ON s.parent_span_id = tree.span_id AND s.trace_id = tree.trace_id"
            " WHERE ? IS NULL OR tree.depth < ?)"
            " SELECT spans.* FROM tree JOIN spans ON spans.span_id = tree.span_id"
            " ORDER BY spans.start_ns"
        )
        rows = self._query(sql, [span_id, max_depth, max_depth])
        if not rows:
            raise NotFoundError("Span", span_id, hint="Spans are kept by the sqlite sink.")
        return [span_dict(r, keep) for r in rows]

    def metric_rows(self, window: tuple[int | None, int | None]) -> list[tuple[Any, ...]]:
        sql = f"SELECT {', '.join(METRIC_COLUMNS)} FROM spans WHERE api IS NOT NULL"
        params = []
        if window[0] is not None:
            sql += " AND start_ns >= ?"
            params.append(window[0])
        if window[1] is not None:
            sql += " AND start_ns <= ?"
            params.append(window[1])
        return [tuple(r) for r in self._query(sql + " ORDER BY start_ns", params)]

    def _query(self, sql: str, params: Sequence[Any]) -> list[sqlite3.Row]:
        conn = connect(self.path)
        try:
            return conn.execute(sql, list(params)).fetchall()
        finally:
            conn.close()
