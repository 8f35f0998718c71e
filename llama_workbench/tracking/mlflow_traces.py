"""The MLflow sink: chat, RAG, tool and agent traces written to an MLflow tracking store by a thread."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace import Span as SdkSpan

from llama_workbench.tracking.attributes import SPAN_TYPES
from llama_workbench.tracking.sqlite_store import ROOT

logger = logging.getLogger(__name__)
_MAX_PENDING_TRACES = 1000  # traces whose root has not ended yet (an abandoned stream's, say)
_PREVIEW_CHARS = 1000


class MlflowTraceProcessor(SpanProcessor):
    """Keeps a trace's spans until its root ends, then hands the trace to a writer thread.

    Only traces whose root is a chat, embedding, retrieval, tool, agent (Responses) or shield
    call are written: listing models is not worth a trace in MLflow.
    """

    def __init__(self, tracking_uri: str, experiment: str, artifacts_dir: Path) -> None:
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self._artifacts_dir = artifacts_dir
        self._pending: dict[int, list[ReadableSpan]] = {}
        self._queue: list[list[ReadableSpan] | None] = []
        self._cond = threading.Condition()
        self._busy = False
        self._thread: threading.Thread | None = None
        self._experiment_id: str | None = None

    def on_start(self, span: SdkSpan, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        trace_id = span.context.trace_id
        with self._cond:
            spans = self._pending.setdefault(trace_id, [])
            spans.append(span)
            if not (span.attributes or {}).get(ROOT):
                if len(self._pending) > _MAX_PENDING_TRACES:
                    self._pending.pop(next(iter(self._pending)))
                return
            del self._pending[trace_id]
            if span.name not in SPAN_TYPES:
                return
            self._queue.append(spans)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._work, name="llama-workbench-mlflow-traces", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        with self._cond:
            return self._cond.wait_for(
                lambda: not self._queue and not self._busy, timeout=timeout_millis / 1000
            )

    def shutdown(self) -> None:
        self.force_flush(60_000)
        with self._cond:
            self._queue.append(None)
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=10)

    def _work(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._queue))
                spans = self._queue.pop(0)
                if spans is None:
                    return
                self._busy = True
            try:
                self._write(spans)
            except Exception as exc:
                # A tracking store that can't be written must not break the stack's calls.
                logger.warning("could not write a trace to MLflow (%s): %s", self.tracking_uri, exc)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _write(self, spans: Sequence[ReadableSpan]) -> None:
        from mlflow.entities import Span, TraceInfo, TraceLocation, TraceState
        from mlflow.tracing.client import TracingClient

        from llama_workbench.tracking.mlflow_runs import _quiet

        root = next(s for s in spans if (s.attributes or {}).get(ROOT))
        request_id = f"tr-{root.context.trace_id:032x}"
        with _quiet():
            experiment_id = self._experiment()
            converted = [Span(_mlflow_span(s, request_id)) for s in spans]
            attrs = dict(root.attributes or {})
            start, end = root.start_time or 0, root.end_time or root.start_time or 0
            info = TraceInfo(
                trace_id=request_id,
                trace_location=TraceLocation.from_experiment_id(experiment_id),
                request_time=start // 1_000_000,
                state=TraceState.ERROR if attrs.get("status") == "error" else TraceState.OK,
                execution_duration=(end - start) // 1_000_000,
                request_preview=_preview(attrs.get("input")),
                response_preview=_preview(attrs.get("output")),
                trace_metadata={"llama_workbench.api": str(attrs.get("api", ""))},
                tags={"mlflow.traceName": root.name},
            )
            client = TracingClient(self.tracking_uri)
            client.start_trace(info)
            client.log_spans(experiment_id, converted)

    def _experiment(self) -> str:
        if self._experiment_id is None:
            from mlflow import MlflowClient

            client = MlflowClient(self.tracking_uri)
            found = client.get_experiment_by_name(self.experiment)
            if found is None:
                location = self._artifacts_dir.resolve().as_uri()
                try:
                    self._experiment_id = client.create_experiment(
                        self.experiment, artifact_location=location
                    )
                except Exception:
                    # Another process (or stack) created it first.
                    found = client.get_experiment_by_name(self.experiment)
                    if found is None:
                        raise
            if found is not None:
                self._experiment_id = str(found.experiment_id)
        assert self._experiment_id is not None
        return self._experiment_id


def _mlflow_span(span: ReadableSpan, request_id: str) -> ReadableSpan:
    """The span with MLflow's attributes (JSON-encoded values, as MLflow stores them)."""
    attrs: dict[str, Any] = dict(span.attributes or {})
    extra: dict[str, Any] = {
        "mlflow.traceRequestId": request_id,
        "mlflow.spanType": SPAN_TYPES.get(span.name, "UNKNOWN"),
    }
    if "input" in attrs:
        extra["mlflow.spanInputs"] = _json_or_text(attrs["input"])
    if "output" in attrs:
        extra["mlflow.spanOutputs"] = _json_or_text(attrs["output"])
    if "prompt_tokens" in attrs:
        extra["mlflow.chat.tokenUsage"] = {
            "input_tokens": attrs["prompt_tokens"],
            "output_tokens": attrs.get("completion_tokens", 0),
            "total_tokens": attrs.get("total_tokens", 0),
        }
    if "model_id" in attrs:
        extra["mlflow.llm.model"] = attrs["model_id"]
    if "provider_id" in attrs:
        extra["mlflow.llm.provider"] = attrs["provider_id"]
    encoded = {k: json.dumps(v, default=str) for k, v in {**attrs, **extra}.items()}
    return ReadableSpan(
        name=span.name,
        context=span.context,
        # The trace's first span here is MLflow's root, even under a caller's remote span.
        parent=None if attrs.get(ROOT) else span.parent,
        start_time=span.start_time,
        end_time=span.end_time,
        attributes=encoded,
        status=span.status,
        resource=Resource.get_empty(),
    )


def _json_or_text(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value  # cut at max_content_chars
    return value


def _preview(value: Any) -> str | None:
    return value[:_PREVIEW_CHARS] if isinstance(value, str) else None
