"""Metrics over recorded spans: token usage, request and error counts, latency percentiles."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from llama_workbench.apis.telemetry.models import (
    MetricDataPoint,
    MetricLabel,
    MetricLabelMatcher,
    MetricLabelOperator,
    MetricQueryType,
    MetricSeries,
    QueryMetricsRequest,
    TimeValue,
)
from llama_workbench.core.errors import BadRequestError, MissingDependencyError

LABELS = ("api", "method", "model_id", "provider_id")
_UNITS = {"requests": "count", "errors": "count", "latency_p50_ms": "ms", "latency_p95_ms": "ms"}
_STEP = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# Columns of a metric row (tracking.sqlite_store.METRIC_COLUMNS).
_START, _STATUS, _DURATION, _PROMPT, _COMPLETION, _TOTAL = 0, 5, 6, 7, 8, 9
_TOKENS = {"prompt_tokens": _PROMPT, "completion_tokens": _COMPLETION, "total_tokens": _TOTAL}
Row = tuple[Any, ...]


def to_ns(value: TimeValue | None) -> int | None:
    """A datetime (a naive one is local time, as Python reads it) or epoch seconds, in ns."""
    if value is None:
        return None
    seconds = value.timestamp() if isinstance(value, datetime) else float(value)
    if math.isnan(seconds):
        raise BadRequestError("time: seconds since 1970 (or an ISO date) expected, got NaN")
    # Nothing was recorded before 1970 or after 2262 (the last nanosecond an int64 holds).
    return int(min(max(seconds, 0.0), 9.2e9) * 1e9)


def granularity_s(text: str | None) -> int | None:
    if text is None:
        return None
    match = re.fullmatch(r"(\d+)\s*([smhd])", text.strip())
    if match is None or int(match.group(1)) == 0:
        raise BadRequestError(f"granularity: '{text}' is not a duration like 30s, 1m, 5m, 1h, 1d")
    return int(match.group(1)) * _STEP[match.group(2)]


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation, as numpy computes it by default."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _aggregate(metric: str, rows: Sequence[Row]) -> float | None:
    if metric in _TOKENS:
        counted = [r[_TOKENS[metric]] for r in rows if r[_TOKENS[metric]] is not None]
        return float(sum(counted)) if counted else None
    if metric == "requests":
        return float(len(rows))
    if metric == "errors":
        return float(sum(1 for r in rows if r[_STATUS] == "error"))
    durations = [r[_DURATION] for r in rows if r[_DURATION] is not None]
    if not durations:
        return None
    return percentile(durations, 50 if metric == "latency_p50_ms" else 95)


def _matches(labels: dict[str, str], matchers: Iterable[MetricLabelMatcher]) -> bool:
    for m in matchers:
        if m.name not in LABELS:
            raise BadRequestError(
                f"label_matchers: '{m.name}' is not a label; use {', '.join(LABELS)}"
            )
        value = labels.get(m.name, "")
        try:
            hit = re.fullmatch(m.value, value) is not None
        except re.error as exc:
            raise BadRequestError(f"label_matchers: bad pattern {m.value!r}: {exc}") from None
        ok = {
            MetricLabelOperator.EQUALS: value == m.value,
            MetricLabelOperator.NOT_EQUALS: value != m.value,
            MetricLabelOperator.REGEX_MATCH: hit,
            MetricLabelOperator.REGEX_NOT_MATCH: not hit,
        }[m.operator]
        if not ok:
            return False
    return True


def _labels(row: Row) -> dict[str, str]:
    return {name: row[i + 1] for i, name in enumerate(LABELS) if row[i + 1] is not None}


def series(rows: Sequence[Row], request: QueryMetricsRequest) -> list[MetricSeries]:
    """One series per (api, method, model_id, provider_id), in buckets of the granularity."""
    step = (
        None
        if request.query_type is MetricQueryType.INSTANT
        else granularity_s(request.granularity)
    )
    groups: dict[tuple[str, ...], list[Row]] = defaultdict(list)
    for row in rows:
        labels = _labels(row)
        if _matches(labels, request.label_matchers or []):
            groups[tuple(labels.get(n, "") for n in LABELS)].append(row)
    start_ns = to_ns(request.start_time)
    first_s = (
        start_ns if start_ns is not None else min((r[_START] for r in rows), default=0)
    ) // 10**9
    unit = _UNITS.get(request.metric_name, "tokens")
    out = []
    for key, members in sorted(groups.items()):
        buckets: dict[int, list[Row]] = defaultdict(list)
        for row in members:
            seconds = row[_START] // 10**9
            buckets[first_s if step is None else seconds - seconds % step].append(row)
        points = []
        for at, bucket in sorted(buckets.items()):
            value = _aggregate(request.metric_name, bucket)
            if value is not None:
                points.append(MetricDataPoint(timestamp=at, value=value, unit=unit))
        if points:
            named = [MetricLabel(name=n, value=v) for n, v in zip(LABELS, key, strict=True) if v]
            out.append(MetricSeries(metric=request.metric_name, labels=named, values=points))
    return out


def frame(rows: Sequence[Row], group_by: Sequence[str] | None) -> Any:
    """A DataFrame: one row per group with requests, errors, tokens and latency percentiles."""
    try:
        import pandas as pd
    except ImportError as exc:
        raise MissingDependencyError("pandas", "eval", needed_by="metrics_frame") from exc
    by = list(group_by) if group_by is not None else list(LABELS)
    unknown = [g for g in by if g not in LABELS]
    if unknown:
        raise BadRequestError(f"group_by: {unknown} not among {', '.join(LABELS)}")
    groups: dict[tuple[str, ...], list[Row]] = defaultdict(list)
    for row in rows:
        labels = _labels(row)
        groups[tuple(labels.get(n, "") for n in by)].append(row)
    metrics = ("requests", "errors", *_TOKENS, "latency_p50_ms", "latency_p95_ms")
    records = []
    for key, members in groups.items():
        record: dict[str, Any] = dict(zip(by, key, strict=True))
        for metric in metrics:
            value = _aggregate(metric, members)
            record[metric] = 0 if value is None and metric in _TOKENS else value
        records.append(record)
    columns = [*by, *metrics]
    table = pd.DataFrame.from_records(records, columns=columns)
    for name in ("requests", "errors", *_TOKENS):
        table[name] = table[name].astype("int64")
    return table.sort_values("requests", ascending=False, kind="stable").reset_index(drop=True)
