"""The Telemetry API protocol: query the traces of the stack's own calls, and metrics over them."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from llama_workbench.apis.telemetry.models import (
    QueryMetricsRequest,
    QueryMetricsResponse,
    QuerySpansRequest,
    QuerySpansResponse,
    QuerySpanTreeResponse,
    QueryTracesRequest,
    QueryTracesResponse,
    Span,
    TimeValue,
    Trace,
)


@runtime_checkable
class Telemetry(Protocol):
    """Traces of every API call (enable with `telemetry: {enabled: true}` in the run config)."""

    async def query_traces(self, request: QueryTracesRequest) -> QueryTracesResponse:
        """Traces, newest first: filter by span attributes and start time; page with limit/offset."""
        ...

    async def get_trace(self, trace_id: str) -> Trace:
        """One trace by id."""
        ...

    async def get_span(self, trace_id: str, span_id: str) -> Span:
        """One span of a trace."""
        ...

    async def get_span_tree(
        self,
        span_id: str,
        attributes_to_return: list[str] | None = None,
        max_depth: int | None = None,
    ) -> QuerySpanTreeResponse:
        """A span and its descendants by span id (max_depth 0: the span alone)."""
        ...

    async def query_spans(self, request: QuerySpansRequest) -> QuerySpansResponse:
        """The spans of the traces matching the filters, down to max_depth below each root."""
        ...

    async def query_metrics(self, request: QueryMetricsRequest) -> QueryMetricsResponse:
        """Token usage, request counts, errors or latency percentiles per api, method, model
        and provider, over a time window (in buckets of `granularity`)."""
        ...

    async def metrics_frame(
        self,
        start_time: TimeValue | None = None,
        end_time: TimeValue | None = None,
        group_by: list[str] | None = None,
    ) -> Any:
        """A pandas DataFrame for a notebook dashboard: one row per api/method/model/provider with
        requests, errors, tokens and latency p50/p95 (a Python helper, not a REST route)."""
        ...
