"""W3C trace context across process boundaries: `traceparent` out to remote providers, in from clients."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llama_workbench.core.outbound_headers import add_source

# Set once a stack with telemetry on is built: until then, remote calls skip the lookup entirely
# (and opentelemetry is never imported).
_enabled = False


def enable() -> None:
    """Trace context from now on: out with every provider request, in from clients."""
    global _enabled
    _enabled = True
    add_source(trace_headers)


def trace_headers() -> dict[str, str] | None:
    """`traceparent` (and `tracestate`) of the current span, for an outgoing HTTP request."""
    if not _enabled:
        return None
    from opentelemetry import trace

    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    headers = {"traceparent": f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{ctx.trace_flags:02x}"}
    if ctx.trace_state:
        headers["tracestate"] = ctx.trace_state.to_header()
    return headers


def context_from_headers(headers: Mapping[str, str]) -> Any:
    """The OTel context a request's `traceparent` names (None without a valid one)."""
    if not _enabled or "traceparent" not in headers:
        return None
    from opentelemetry import trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    context = TraceContextTextMapPropagator().extract(dict(headers))
    return context if trace.get_current_span(context).get_span_context().is_valid else None
