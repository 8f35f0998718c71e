"""Spans kept cheap on the hot path: OTel API spans recorded as plain data, exported by a thread.

The OpenTelemetry SDK validates and locks on every attribute of every span (about 25 us a call
here, 50 us or more inside a real request); a stack call must stay within a few percent of an
untraced one. A `LiveSpan` is an OpenTelemetry API span (code running inside a call sees it as
the current span, and may add attributes or events to it) that only fills a dict; the recorder
turns finished spans into SDK `ReadableSpan`s in its own thread and hands them to the sinks.
"""

from __future__ import annotations

import collections
import logging
import random
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanProcessor
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, Status, StatusCode, TraceFlags
from opentelemetry.util import types

from llama_workbench.core.redact import scrub

logger = logging.getLogger(__name__)
SAMPLED = TraceFlags(TraceFlags.SAMPLED)
NOT_SAMPLED = TraceFlags(TraceFlags.DEFAULT)
_UNSET = Status(StatusCode.UNSET)
_MAX_QUEUE = 100_000  # spans waiting for the recorder thread; beyond this they are dropped
_BATCH = 2048  # a queue this long wakes the recorder before its interval


class LiveSpan(trace.Span):
    """A span being recorded: its data, and the recorder it goes to when it ends."""

    def __init__(
        self,
        name: str,
        context: SpanContext,
        parent: SpanContext | None,
        attributes: dict[str, Any],
        recorder: SpanRecorder,
    ) -> None:
        self.name = name
        self.context = context
        self.parent = parent
        self.attributes = attributes
        self.recorder = recorder
        self.start_ns = time.time_ns()
        self.end_ns: int | None = None
        self.status = _UNSET
        self.events: list[Event] = []

    # -- the OpenTelemetry API

    def get_span_context(self) -> SpanContext:
        return self.context

    def is_recording(self) -> bool:
        return self.end_ns is None and self.context.trace_flags.sampled

    def set_attribute(self, key: str, value: types.AnyValue) -> None:
        if self.end_ns is None and _valid(value):
            self.attributes[key] = value

    def set_attributes(self, attributes: Mapping[str, types.AnyValue]) -> None:
        for key, value in attributes.items():
            self.set_attribute(key, value)

    def add_event(
        self,
        name: str,
        attributes: types.Attributes = None,
        timestamp: int | None = None,
    ) -> None:
        if self.end_ns is None:
            self.events.append(Event(name, attributes, timestamp))

    def update_name(self, name: str) -> None:
        self.name = name

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        self.status = status if isinstance(status, Status) else Status(status, description)

    def record_exception(
        self,
        exception: BaseException,
        attributes: types.Attributes = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        # The type and a scrubbed message; no stack trace (its frames may hold secrets).
        event = {
            "exception.type": type(exception).__name__,
            "exception.message": scrub(str(exception)),
        }
        self.add_event("exception", {**event, **dict(attributes or {})}, timestamp)

    def end(self, end_time: int | None = None) -> None:
        if self.end_ns is None:
            self.end_ns = end_time or time.time_ns()
            if self.context.trace_flags.sampled:
                self.recorder.emit(self)

    # -- export

    def readable(self, resource: Resource, scope: InstrumentationScope) -> ReadableSpan:
        """The finished span as the SDK's (its latency added here, off the caller's time)."""
        attributes = self.attributes
        if self.end_ns is not None:
            attributes["latency_ms"] = round((self.end_ns - self.start_ns) / 1e6, 3)
        return ReadableSpan(
            name=self.name,
            context=self.context,
            parent=self.parent,
            resource=resource,
            attributes=attributes,
            events=tuple(self.events),
            status=self.status,
            start_time=self.start_ns,
            end_time=self.end_ns,
            instrumentation_scope=scope,
        )


def _valid(value: Any) -> bool:
    """OpenTelemetry's attribute types: a primitive, or a sequence of one primitive type."""
    if isinstance(value, str | bool | int | float):
        return True
    return isinstance(value, list | tuple) and all(
        isinstance(v, str | bool | int | float) for v in value
    )


def new_context(parent: trace.Span, ratio: float) -> tuple[SpanContext, SpanContext | None]:
    """(the new span's context, its parent's) under `parent`, the current span (any tracer's).

    A new trace is sampled with probability `ratio` (by its id, so every process agrees); a
    child follows its parent's decision.
    """
    span_id = random.getrandbits(64) or 1
    parent_context = parent.get_span_context()
    if parent_context.is_valid:
        flags = parent_context.trace_flags
        return SpanContext(parent_context.trace_id, span_id, False, flags), parent_context
    trace_id = random.getrandbits(128) or 1
    sampled = ratio >= 1.0 or (trace_id & 0xFFFFFFFFFFFFFFFF) < ratio * 2**64
    return SpanContext(trace_id, span_id, False, SAMPLED if sampled else NOT_SAMPLED), None


class SpanRecorder:
    """Finished spans queue here; a thread hands them to the sinks every `interval_s`.

    The SQLite exporter runs in this thread (or in the caller's on `flush`); sinks that may be
    slow (an OTLP collector, MLflow) are span processors with threads of their own.
    """

    def __init__(
        self,
        resource: Resource,
        exporter: Any | None,
        processors: Sequence[SpanProcessor],
        interval_s: float = 0.5,
    ) -> None:
        self.resource = resource
        self.scope = InstrumentationScope("llama_workbench")
        self.exporter = exporter  # a SpanExporter (SQLite) or None
        self.processors = list(processors)
        self.dropped = 0
        self._queue: collections.deque[LiveSpan] = collections.deque()
        self._lock = threading.Lock()  # one export at a time
        self._wake = threading.Event()
        self._stopped = False
        self._interval = interval_s
        self._thread = threading.Thread(target=self._run, name="llama-workbench-spans", daemon=True)
        self._thread.start()

    def emit(self, span: LiveSpan) -> None:
        if len(self._queue) >= _MAX_QUEUE:
            self.dropped += 1
            return
        self._queue.append(span)
        if len(self._queue) >= _BATCH:
            self._wake.set()

    def _run(self) -> None:
        while not self._stopped:
            self._wake.wait(self._interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception as exc:
                # A sink that fails (a full disk) must not stop the ones after it, nor the stack.
                logger.warning("could not export spans: %s", exc)

    def flush(self) -> None:
        """Export every queued span now, in the calling thread."""
        with self._lock:
            batch = []
            while self._queue:
                batch.append(self._queue.popleft().readable(self.resource, self.scope))
            if not batch:
                return
            if self.exporter is not None:
                self.exporter.export(batch)
            for processor in self.processors:
                for span in batch:
                    processor.on_end(span)

    def force_flush(self, timeout_ms: int = 30_000) -> bool:
        self.flush()
        return all(p.force_flush(timeout_ms) for p in self.processors)

    def shutdown(self) -> None:
        self._stopped = True
        self._wake.set()
        self._thread.join(timeout=10)
        self.flush()
        if self.exporter is not None:
            self.exporter.shutdown()
        for processor in self.processors:
            processor.shutdown()
