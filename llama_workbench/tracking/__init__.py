"""Tracking: OpenTelemetry traces of the stack's calls, MLflow runs and traces."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from llama_workbench.core.errors import MissingDependencyError

if TYPE_CHECKING:
    from llama_workbench.core.config import StackConfig
    from llama_workbench.core.datatypes import Api
    from llama_workbench.tracking.tracing import StackTracer


def stack_tracer(config: StackConfig, providers: Mapping[Api, Sequence[str]]) -> StackTracer:
    """The tracing of a stack whose run config enables telemetry (OpenTelemetry is imported here)."""
    try:
        from llama_workbench.tracking.tracing import StackTracer
    except ImportError as exc:
        if not (exc.name or "").startswith("opentelemetry"):
            raise
        raise MissingDependencyError(
            "opentelemetry-sdk", "telemetry", needed_by="telemetry"
        ) from exc
    return StackTracer(
        config.telemetry,
        data_dir=config.resolved_data_dir(),
        distro=config.distro_name,
        providers=providers,
    )
