"""Tracing of a stack's API calls: a proxy around each API opens one OpenTelemetry span per call."""

from __future__ import annotations

import asyncio
import functools
import inspect
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
)
from opentelemetry.trace import Status, StatusCode
from pydantic import BaseModel

from llama_workbench.apis.inference.models import EmbeddingsResponse
from llama_workbench.core.api_table import TABLE_APIS, public_protocol
from llama_workbench.core.bridge import is_async_iterator
from llama_workbench.core.datatypes import Api
from llama_workbench.core.errors import LlamaWorkbenchError, MissingDependencyError
from llama_workbench.core.protocols import protocol_methods
from llama_workbench.tracking import propagation
from llama_workbench.tracking.attributes import (
    call_content,
    content,
    delta_text,
    error_attributes,
    parameter_names,
    request_attributes,
    usage_of,
)
from llama_workbench.tracking.config import TelemetryConfig
from llama_workbench.tracking.spans import LiveSpan, SpanRecorder, new_context
from llama_workbench.tracking.sqlite_store import ROOT, SqliteSpanExporter, TraceStore
from llama_workbench.version import __version__

_OK = Status(StatusCode.OK)
# Built-ins that describe the stack rather than do work: their calls are not traced.
UNTRACED = frozenset({Api.providers, Api.inspect, Api.telemetry})


class StackTracer:
    """One stack's tracing: the span recorder feeding the configured sinks, and the API proxies."""

    def __init__(
        self,
        config: TelemetryConfig,
        *,
        data_dir: Path,
        distro: str,
        providers: Mapping[Api, Sequence[str]],
    ) -> None:
        self.config = config
        self.capture = config.capture_content
        self.ratio = config.sample_ratio
        name = config.service_name or f"llama_workbench:{distro}"
        resource = Resource.create({"service.name": name, "service.version": __version__})
        self.store: TraceStore | None = None
        exporter = None
        processors = []
        for sink in config.sinks:
            if sink == "sqlite":
                path = config.sqlite_path(data_dir)
                exporter = SqliteSpanExporter(path)
                self.store = TraceStore(path)
            else:
                processors.append(self._processor(sink, data_dir))
        self.recorder = SpanRecorder(resource, exporter, processors)
        # Provider of each API that has exactly one (table APIs share their routed API's).
        single = {api: ids[0] for api, ids in providers.items() if len(ids) == 1}
        single.update({t: single[r] for t, r in TABLE_APIS.items() if r in single})
        self.single = single
        self._raw: dict[Api, Any] = {}
        propagation.enable()

    def _processor(self, sink: str, data_dir: Path) -> SpanProcessor:
        if sink == "otlp":
            try:
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            except ImportError as exc:
                raise MissingDependencyError(
                    "opentelemetry-exporter-otlp-proto-http", "telemetry", needed_by="sink otlp"
                ) from exc
            headers = {k: v.get_secret_value() for k, v in self.config.otlp_headers.items()}
            exporter = OTLPSpanExporter(
                endpoint=self.config.otlp_endpoint, headers=headers, timeout=10
            )
            return BatchSpanProcessor(exporter, schedule_delay_millis=1000)
        if sink == "console":
            return SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stderr, formatter=one_line))
        return self._mlflow_processor(data_dir)

    def _mlflow_processor(self, data_dir: Path) -> SpanProcessor:
        import importlib.util

        if importlib.util.find_spec("mlflow") is None:
            raise MissingDependencyError("mlflow", "eval", needed_by="sink mlflow")
        from llama_workbench.tracking.mlflow_runs import default_tracking_uri
        from llama_workbench.tracking.mlflow_traces import MlflowTraceProcessor

        uri = self.config.mlflow_tracking_uri or default_tracking_uri(data_dir)
        return MlflowTraceProcessor(uri, self.config.mlflow_experiment, data_dir / "mlartifacts")

    # -- the proxies

    def wrap(self, api: Api, impl: Any) -> Any:
        """`impl` behind a proxy that traces every call of its API's Protocol methods."""
        self._raw[api] = impl
        if api in UNTRACED:
            return impl
        label = api.value
        return traced_class(public_protocol(api), label)(impl, ApiCalls(self, api, label))

    def start(self, name: str, attrs: dict[str, Any]) -> LiveSpan:
        """A span under the current one (ours, another tracer's, or a caller's traceparent)."""
        parent = trace.get_current_span()
        if not (isinstance(parent, LiveSpan) and parent.recorder is self.recorder):
            attrs[ROOT] = True  # the first span of the trace in this stack
        context, parent_context = new_context(parent, self.ratio)
        return LiveSpan(name, context, parent_context, attrs, self.recorder)

    async def provider_of(self, api: Api, attrs: Mapping[str, Any]) -> str | None:
        """The provider owning the call's resource (model, vector store, shield), if it has one."""
        try:
            if api is Api.inference and "model_id" in attrs:
                model = await self._raw[Api.models].resolve(attrs["model_id"])
                return str(model.provider_id)
            if api is Api.vector_io and "vector_store_id" in attrs:
                return str(self._raw[Api.vector_io].store(attrs["vector_store_id"]).provider_id)
            if api is Api.safety and "shield_id" in attrs:
                shield = await self._raw[Api.shields].retrieve(attrs["shield_id"])
                return str(shield.provider_id)
        except (LlamaWorkbenchError, KeyError):
            return None
        return None

    # -- lifecycle

    def flush_store(self) -> None:
        """Write the spans queued for SQLite now (the Telemetry API reads its own writes)."""
        self.recorder.flush()

    def force_flush(self, timeout_ms: int = 30_000) -> bool:
        return self.recorder.force_flush(timeout_ms)

    def shutdown(self) -> None:
        self.recorder.shutdown()


class ApiCalls:
    """What one API's proxy shares: the tracer, the API's name and how to finish its spans."""

    def __init__(self, tracing: StackTracer, api: Api, label: str) -> None:
        self.tracing = tracing
        self.api = api
        self.label = label
        self.limit = tracing.config.max_content_chars
        # A sub-protocol's methods are named after it: `tool_runtime.rag.query` -> "rag.query".
        self.prefix = label[len(api.value) + 1 :] + "." if label != api.value else ""
        self.provider = tracing.single.get(api)  # known before the call when the API has one

    async def run(
        self,
        method: str,
        names: tuple[str, ...],
        bound: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        tracing = self.tracing
        attrs: dict[str, Any] = {"api": self.api.value, "method": self.prefix + method}
        request_attributes(attrs, names, args, kwargs)
        if self.provider is not None:
            attrs["provider_id"] = self.provider
        if tracing.capture:
            attrs["input"] = content(call_content(names, args, kwargs), self.limit)
        span = tracing.start(f"{self.label}.{method}", attrs)
        context = trace.set_span_in_context(span)
        token = otel_context.attach(context)
        try:
            result = bound(*args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
        except BaseException as exc:
            self.failed(span, exc)
            raise
        finally:
            otel_context.detach(token)
        if self.provider is None and span.is_recording():
            provider = await tracing.provider_of(self.api, attrs)
            if provider is not None:
                attrs["provider_id"] = provider
        if not isinstance(result, BaseModel) and is_async_iterator(result):
            return TracedStream(result, span, context, self)
        self.succeeded(span, result, usage_of(result))
        return result

    def succeeded(self, span: LiveSpan, result: Any, usage: tuple[int, int, int] | None) -> None:
        # Straight into the span's dict: this runs once per call, on the caller's time.
        attrs = span.attributes
        attrs["status"] = "ok"
        if usage is not None:
            attrs["prompt_tokens"], attrs["completion_tokens"], attrs["total_tokens"] = usage
        if self.tracing.capture and result is not None and not _vectors(result):
            attrs["output"] = content(result, self.limit)
        span.status = _OK
        span.end()

    def failed(self, span: LiveSpan, exc: BaseException) -> None:
        if isinstance(exc, GeneratorExit | KeyboardInterrupt | asyncio.CancelledError):
            # Stopped by the caller (a closed stream, Ctrl-C): not the call's failure.
            span.set_attribute("status", "cancelled")
        else:
            span.set_attributes({"status": "error", **error_attributes(exc)})
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        span.end()


_EMPTY: dict[str, Any] = {}
# The Responses API's last stream events: they carry the response with its usage.
_FINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})


def _vectors(result: Any) -> bool:
    """Embeddings are numbers, not message contents: they are never recorded."""
    return isinstance(result, EmbeddingsResponse)


class TracedStream(AsyncIterator[Any]):
    """A streamed result whose span stays open until the stream ends, fails or is closed.

    Each step runs with the span as the current one, so calls made while producing the stream
    (a Responses turn's inference and tools) are its children. Usage comes from the item that
    reports it (the final chunk with include_usage, or response.completed).
    """

    def __init__(self, inner: Any, span: LiveSpan, context: Context, calls: ApiCalls) -> None:
        self._inner = inner
        self._span = span
        self._context = context
        self._calls = calls
        self._capture = calls.tracing.capture
        # Model output streams call no other API while they run: only the others (a Responses
        # turn's) need the span made current for each step.
        self._nests = calls.api is not Api.inference
        self._open = True
        self._first = True
        self._usage: tuple[int, int, int] | None = None
        self._text: list[str] = []

    def __aiter__(self) -> TracedStream:
        return self

    async def __anext__(self) -> Any:
        token = otel_context.attach(self._context) if self._nests else None
        try:
            item = await self._inner.__anext__()
        except StopAsyncIteration:
            self._finish()
            raise
        except BaseException as exc:
            self._fail(exc)
            raise
        finally:
            if token is not None:
                otel_context.detach(token)
        if self._first:
            self._first = False
            ttfc = (time.time_ns() - self._span.start_ns) / 1e6
            self._span.attributes["time_to_first_chunk_ms"] = round(ttfc, 3)
        # Only the items that can carry usage are looked into (most chunks don't).
        fields = getattr(item, "__dict__", _EMPTY)
        if fields.get("usage") is not None or fields.get("type") in _FINAL_EVENTS:
            self._usage = usage_of(item) or self._usage
        if self._capture:
            self._text.append(delta_text(item))
        return item

    def _finish(self) -> None:
        if self._open:
            self._open = False
            text = "".join(self._text) if self._capture else None
            self._calls.succeeded(self._span, text, self._usage)

    def _fail(self, exc: BaseException) -> None:
        if self._open:
            self._open = False
            self._calls.failed(self._span, exc)

    async def aclose(self) -> None:
        try:
            aclose = getattr(self._inner, "aclose", None)
            if aclose is not None:
                await aclose()
        finally:
            self._fail(GeneratorExit())

    def __del__(self) -> None:
        # An abandoned stream (never read to its end nor closed) still ends its span.
        if getattr(self, "_open", False):
            self._fail(GeneratorExit())


class TracedApi:
    """Base of the generated proxies: traced Protocol methods, everything else passed through."""

    def __init__(self, impl: Any, calls: ApiCalls) -> None:
        self._impl = impl
        self._calls = calls

    def __getattr__(self, name: str) -> Any:
        if name in ("_impl", "_calls"):  # not set yet (a copy): no recursion
            raise AttributeError(name)
        # Plain attributes and helpers outside the Protocol: `provider.conversations`, ...
        return getattr(self._impl, name)

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *dir(self._impl)})

    def __repr__(self) -> str:
        return f"<traced {self._impl!r}>"


@functools.cache
def traced_class(protocol: type, label: str) -> type[TracedApi]:
    """A proxy class with one traced method per method of `protocol` (and its sub-protocols)."""
    namespace: dict[str, Any] = {
        name: _traced_method(name, fn) for name, fn in protocol_methods(protocol).items()
    }
    for sub, sub_protocol in getattr(protocol, "__sub_protocols__", {}).items():
        namespace[sub] = _sub_property(sub, sub_protocol, f"{label}.{sub}")
    return type(f"Traced{protocol.__name__}", (TracedApi,), namespace)


def _traced_method(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    names = parameter_names(fn)

    async def method(self: TracedApi, *args: Any, **kwargs: Any) -> Any:
        return await self._calls.run(name, names, getattr(self._impl, name), args, kwargs)

    method.__name__ = name
    method.__qualname__ = name
    method.__doc__ = fn.__doc__
    return method


def _sub_property(name: str, protocol: type, label: str) -> property:
    def get(self: TracedApi) -> TracedApi:
        calls = ApiCalls(self._calls.tracing, self._calls.api, label)
        return traced_class(protocol, label)(getattr(self._impl, name), calls)

    return property(get)


def one_line(span: ReadableSpan) -> str:
    """The console sink's format: ids, name, duration, status, model, provider and tokens."""
    a = span.attributes or {}
    duration = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
    parent = f" <- {span.parent.span_id:016x}" if span.parent is not None else ""
    parts = [
        f"[trace {span.context.trace_id:032x} span {span.context.span_id:016x}{parent}]",
        span.name,
        f"{duration:.1f} ms",
        str(a.get("status", "")),
    ]
    parts += [f"{k}={a[k]!s}" for k in ("model_id", "provider_id", "error.type") if k in a]
    if "total_tokens" in a:
        parts.append(f"tokens={a.get('prompt_tokens')}+{a.get('completion_tokens')}")
    return " ".join(parts) + "\n"
