"""Types of the Telemetry API (Llama Stack's telemetry names: traces, spans, span trees, metrics)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from llama_workbench.apis.base import ApiModel


class _Strict(ApiModel):
    model_config = ConfigDict(extra="forbid")


class SpanStatus(StrEnum):
    OK = "ok"
    ERROR = "error"
    CANCELLED = "cancelled"


class Span(ApiModel):
    """One traced call: `<api>.<method>`, its parent, timing and attributes."""

    span_id: str
    trace_id: str
    parent_span_id: str | None = None
    name: str
    start_time: datetime
    end_time: datetime | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


class SpanWithStatus(Span):
    status: SpanStatus | None = None


class Trace(ApiModel):
    """A call from outside the stack and everything it caused (its root span's tree)."""

    trace_id: str
    root_span_id: str
    start_time: datetime
    end_time: datetime | None = None
    name: str | None = None
    status: SpanStatus | None = None


class QueryConditionOp(StrEnum):
    EQ = "eq"
    NE = "ne"
    GT = "gt"
    LT = "lt"


Int64 = Annotated[int, Field(ge=-(2**63), lt=2**63)]


class QueryCondition(_Strict):
    """`{key: "model_id", op: "eq", value: "llama3"}` on a span attribute (or `name`, `status`)."""

    key: str = Field(min_length=1, pattern=r'^[^"]+$')
    op: QueryConditionOp
    value: bool | Int64 | float | str | None


# A moment: an ISO date, or seconds since 1970.
TimeValue = datetime | float
OrderField = Annotated[str, Field(pattern=r"^-?(start_time|end_time|duration|name)$")]


class QueryTracesRequest(_Strict):
    attribute_filters: list[QueryCondition] | None = Field(
        None, description="Traces with a span matching every condition."
    )
    limit: int | None = Field(100, ge=1, le=10_000)
    offset: int | None = Field(0, ge=0, lt=2**63)
    order_by: list[OrderField] | None = Field(
        None,
        description="start_time, end_time, duration or name; a leading '-' sorts descending "
        "(default: -start_time, newest first).",
    )
    start_time: TimeValue | None = Field(None, description="Traces that started at or after.")
    end_time: TimeValue | None = Field(None, description="Traces that started at or before.")


class QueryTracesResponse(ApiModel):
    data: list[Trace]


class QuerySpansRequest(_Strict):
    attribute_filters: list[QueryCondition] = Field(default_factory=list)
    attributes_to_return: list[str] = Field(default_factory=list)
    max_depth: int | None = Field(None, ge=0, le=1000)
    limit: int | None = Field(100, ge=1, le=10_000, description="How many traces to read.")


class QuerySpansResponse(ApiModel):
    data: list[Span]


class GetSpanTreeRequest(_Strict):
    attributes_to_return: list[str] | None = None
    max_depth: int | None = Field(
        None, ge=0, le=1000, description="0: the span alone; 1: and its children..."
    )


class QuerySpanTreeResponse(ApiModel):
    data: dict[str, SpanWithStatus]


class MetricQueryType(StrEnum):
    RANGE = "range"
    INSTANT = "instant"


class MetricLabelOperator(StrEnum):
    EQUALS = "="
    NOT_EQUALS = "!="
    REGEX_MATCH = "=~"
    REGEX_NOT_MATCH = "!~"


MetricLabelName = Literal["api", "method", "model_id", "provider_id"]


class MetricLabelMatcher(_Strict):
    name: MetricLabelName
    value: str
    operator: MetricLabelOperator = MetricLabelOperator.EQUALS


MetricName = Literal[
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "requests",
    "errors",
    "latency_p50_ms",
    "latency_p95_ms",
]


class QueryMetricsBody(_Strict):
    """A metrics query without its metric (the REST body; the name is in the path)."""

    start_time: TimeValue | None = Field(None, description="Default: everything recorded.")
    end_time: TimeValue | None = Field(None, description="Default: now.")
    granularity: str | None = Field(
        None,
        pattern=r"^\s*0*[1-9][0-9]*\s*[smhd]\s*$",
        description="Bucket size for range queries: 30s, 1m, 5m, 1h, 1d (default: 1 bucket).",
    )
    query_type: MetricQueryType = MetricQueryType.RANGE
    label_matchers: list[MetricLabelMatcher] | None = None


class QueryMetricsRequest(QueryMetricsBody):
    metric_name: MetricName


class MetricLabel(ApiModel):
    name: str
    value: str


class MetricDataPoint(ApiModel):
    timestamp: int  # the bucket's start, seconds since the epoch
    value: float
    unit: str


class MetricSeries(ApiModel):
    metric: str
    labels: list[MetricLabel]
    values: list[MetricDataPoint]


class QueryMetricsResponse(ApiModel):
    data: list[MetricSeries]
