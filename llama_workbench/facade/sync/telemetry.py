"""`stack.telemetry`: the Telemetry API as calls that return results.

Generated from llama_workbench/apis/telemetry/api.py by `python -m llama_workbench.facade._codegen`;
edit the Protocol (or its request models) and run it again, never this file."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from llama_workbench.apis.telemetry.models import (
    MetricQueryType,
    QueryMetricsRequest,
    QuerySpansRequest,
    QueryTracesRequest,
)
from llama_workbench.facade._runtime import SyncFace, fields_of

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from llama_workbench.apis.telemetry.models import (
        MetricLabelMatcher,
        MetricName,
        OrderField,
        QueryCondition,
        QueryMetricsResponse,
        QuerySpansResponse,
        QuerySpanTreeResponse,
        QueryTracesResponse,
        Span,
        TimeValue,
        Trace,
    )


class TelemetryApi(SyncFace):
    """Traces of every API call (enable with `telemetry: {enabled: true}` in the run config)."""

    __slots__ = ()

    @fields_of(QueryTracesRequest)
    def query_traces(
        self,
        *,
        attribute_filters: Sequence[QueryCondition | dict[str, Any]] | None = None,
        limit: int | None = 100,
        offset: int | None = 0,
        order_by: Sequence[OrderField] | None = None,
        start_time: TimeValue | None = None,
        end_time: TimeValue | None = None,
    ) -> QueryTracesResponse:
        """Traces, newest first: filter by span attributes and start time; page with limit/offset.

        Keyword arguments: the fields of `QueryTracesRequest`.
            attribute_filters: Traces with a span matching every condition.
            order_by: start_time, end_time, duration or name; a leading '-' sorts descending
                (default: -start_time, newest first).
            start_time: Traces that started at or after.
            end_time: Traces that started at or before.
        """
        return cast("QueryTracesResponse", self._send(QueryTracesRequest, "query_traces", locals()))

    def get_trace(self, trace_id: str) -> Trace:
        """One trace by id."""
        return cast("Trace", self._call("get_trace", locals()))

    def get_span(self, trace_id: str, span_id: str) -> Span:
        """One span of a trace."""
        return cast("Span", self._call("get_span", locals()))

    def get_span_tree(
        self,
        span_id: str,
        attributes_to_return: list[str] | None = None,
        max_depth: int | None = None,
    ) -> QuerySpanTreeResponse:
        """A span and its descendants by span id (max_depth 0: the span alone)."""
        return cast("QuerySpanTreeResponse", self._call("get_span_tree", locals()))

    @fields_of(QuerySpansRequest)
    def query_spans(
        self,
        *,
        attribute_filters: Sequence[QueryCondition | dict[str, Any]] | None = None,
        attributes_to_return: Sequence[str] | None = None,
        max_depth: int | None = None,
        limit: int | None = 100,
    ) -> QuerySpansResponse:
        """The spans of the traces matching the filters, down to max_depth below each root.

        Keyword arguments: the fields of `QuerySpansRequest`.
            limit: How many traces to read.
        """
        return cast("QuerySpansResponse", self._send(QuerySpansRequest, "query_spans", locals()))

    @fields_of(QueryMetricsRequest)
    def query_metrics(
        self,
        *,
        metric_name: MetricName,
        start_time: TimeValue | None = None,
        end_time: TimeValue | None = None,
        granularity: str | None = None,
        query_type: MetricQueryType | str = MetricQueryType.RANGE,
        label_matchers: Sequence[MetricLabelMatcher | dict[str, Any]] | None = None,
    ) -> QueryMetricsResponse:
        """Token usage, request counts, errors or latency percentiles per api, method, model
        and provider, over a time window (in buckets of `granularity`).

        Keyword arguments: the fields of `QueryMetricsRequest`.
            start_time: Default: everything recorded.
            end_time: Default: now.
            granularity: Bucket size for range queries: 30s, 1m, 5m, 1h, 1d (default: 1 bucket).
        """
        return cast(
            "QueryMetricsResponse", self._send(QueryMetricsRequest, "query_metrics", locals())
        )

    def metrics_frame(
        self,
        start_time: TimeValue | None = None,
        end_time: TimeValue | None = None,
        group_by: list[str] | None = None,
    ) -> Any:
        """A pandas DataFrame for a notebook dashboard: one row per api/method/model/provider with
        requests, errors, tokens and latency p50/p95 (a Python helper, not a REST route).
        """
        return cast("Any", self._call("metrics_frame", locals()))
