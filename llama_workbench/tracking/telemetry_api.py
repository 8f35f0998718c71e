"""The Telemetry API over the SQLite sink: traces, spans, span trees and metrics of the stack's calls."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from llama_workbench.apis.telemetry.models import (
    QueryMetricsRequest,
    QueryMetricsResponse,
    QuerySpansRequest,
    QuerySpansResponse,
    QuerySpanTreeResponse,
    QueryTracesRequest,
    QueryTracesResponse,
    Span,
    SpanWithStatus,
    TimeValue,
    Trace,
)
from llama_workbench.core.errors import BadRequestError
from llama_workbench.tracking import metrics
from llama_workbench.tracking.sqlite_store import TraceStore

if TYPE_CHECKING:
    from llama_workbench.tracking.tracing import StackTracer

T = TypeVar("T")


class TelemetryImpl:
    """Reads run in a thread after the queued spans are written, so a call just made is found."""

    def __init__(self, tracer: StackTracer) -> None:
        self._tracer = tracer

    async def query_traces(self, request: QueryTracesRequest) -> QueryTracesResponse:
        window = (metrics.to_ns(request.start_time), metrics.to_ns(request.end_time))
        rows = await self._read(
            lambda store: store.traces(
                request.attribute_filters or [],
                request.limit or 100,
                request.offset or 0,
                request.order_by,
                window,
            )
        )
        return QueryTracesResponse(data=[Trace(**r) for r in rows])

    async def get_trace(self, trace_id: str) -> Trace:
        return Trace(**await self._read(lambda store: store.trace(trace_id)))

    async def get_span(self, trace_id: str, span_id: str) -> Span:
        return Span(**await self._read(lambda store: store.span(trace_id, span_id)))

    async def get_span_tree(
        self,
        span_id: str,
        attributes_to_return: list[str] | None = None,
        max_depth: int | None = None,
    ) -> QuerySpanTreeResponse:
        if max_depth is not None and not 0 <= max_depth <= 1000:
            raise BadRequestError("max_depth: 0 to 1000 (0 is the span alone)")
        rows = await self._read(lambda store: store.tree(span_id, attributes_to_return, max_depth))
        return QuerySpanTreeResponse(data={r["span_id"]: SpanWithStatus(**r) for r in rows})

    async def query_spans(self, request: QuerySpansRequest) -> QuerySpansResponse:
        def read(store: TraceStore) -> list[dict[str, Any]]:
            found = store.traces(
                request.attribute_filters, request.limit or 100, 0, None, (None, None)
            )
            spans = []
            for trace in found:
                spans += store.tree(
                    trace["root_span_id"], request.attributes_to_return, request.max_depth
                )
            return spans

        return QuerySpansResponse(data=[Span(**r) for r in await self._read(read)])

    async def query_metrics(self, request: QueryMetricsRequest) -> QueryMetricsResponse:
        window = (metrics.to_ns(request.start_time), metrics.to_ns(request.end_time))
        rows = await self._read(lambda store: store.metric_rows(window))
        return QueryMetricsResponse(data=metrics.series(rows, request))

    async def metrics_frame(
        self,
        start_time: TimeValue | None = None,
        end_time: TimeValue | None = None,
        group_by: list[str] | None = None,
    ) -> Any:
        window = (metrics.to_ns(start_time), metrics.to_ns(end_time))
        rows = await self._read(lambda store: store.metric_rows(window))
        return metrics.frame(rows, group_by)

    async def _read(self, query: Callable[[TraceStore], T]) -> T:
        store = self._tracer.store
        if store is None:
            raise BadRequestError(
                "Traces are queried from the sqlite sink: add 'sqlite' to telemetry.sinks in the "
                "run config."
            )

        def work() -> T:
            self._tracer.flush_store()
            return query(store)

        return await asyncio.to_thread(work)
