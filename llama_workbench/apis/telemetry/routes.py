"""REST routes of the Telemetry API (Llama Stack's v1alpha telemetry paths)."""

from __future__ import annotations

from fastapi import APIRouter

from llama_workbench.apis.telemetry.api import Telemetry
from llama_workbench.apis.telemetry.models import (
    GetSpanTreeRequest,
    MetricName,
    QueryMetricsBody,
    QueryMetricsRequest,
    QueryMetricsResponse,
    QuerySpansRequest,
    QuerySpansResponse,
    QuerySpanTreeResponse,
    QueryTracesRequest,
    QueryTracesResponse,
    Span,
    Trace,
)

PREFIX = "/v1alpha/telemetry"


def create_router(impl: Telemetry) -> APIRouter:
    router = APIRouter(tags=["telemetry"])

    @router.post(f"{PREFIX}/traces", response_model=QueryTracesResponse, summary="Query traces.")
    async def query_traces(request: QueryTracesRequest) -> QueryTracesResponse:
        return await impl.query_traces(request)

    @router.get(f"{PREFIX}/traces/{{trace_id}}", response_model=Trace, summary="Get a trace.")
    async def get_trace(trace_id: str) -> Trace:
        return await impl.get_trace(trace_id)

    @router.get(
        f"{PREFIX}/traces/{{trace_id}}/spans/{{span_id}}",
        response_model=Span,
        summary="Get a span.",
    )
    async def get_span(trace_id: str, span_id: str) -> Span:
        return await impl.get_span(trace_id, span_id)

    @router.post(
        f"{PREFIX}/spans/{{span_id}}/tree",
        response_model=QuerySpanTreeResponse,
        summary="Get a span tree.",
    )
    async def get_span_tree(
        span_id: str, request: GetSpanTreeRequest | None = None
    ) -> QuerySpanTreeResponse:
        body = request or GetSpanTreeRequest()
        return await impl.get_span_tree(span_id, body.attributes_to_return, body.max_depth)

    @router.post(f"{PREFIX}/spans", response_model=QuerySpansResponse, summary="Query spans.")
    async def query_spans(request: QuerySpansRequest) -> QuerySpansResponse:
        return await impl.query_spans(request)

    @router.post(
        f"{PREFIX}/metrics/{{metric_name}}",
        response_model=QueryMetricsResponse,
        summary="Query metrics.",
    )
    async def query_metrics(
        metric_name: MetricName, request: QueryMetricsBody | None = None
    ) -> QueryMetricsResponse:
        body = dict(request or QueryMetricsBody())
        return await impl.query_metrics(QueryMetricsRequest(metric_name=metric_name, **body))

    return router
