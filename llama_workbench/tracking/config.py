"""The run config's `telemetry:` section: whether calls are traced, and where the spans go."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

Sink = Literal["sqlite", "otlp", "console", "mlflow"]
# Llama Stack's names of the same sinks.
_SINK_ALIASES = {"otel": "otlp", "otel_trace": "otlp", "opentelemetry": "otlp"}


class TelemetryConfig(BaseModel):
    """`telemetry: {enabled: true, sinks: [sqlite, otlp, console, mlflow], ...}`; off by default."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(False, description="Trace every API call of the stack.")
    sinks: list[Sink] = Field(
        default_factory=lambda: list[Sink](["sqlite"]),
        description="Where spans go; sqlite is what the Telemetry API queries.",
    )
    sqlite_db_path: str | None = Field(
        None, description="The spans' SQLite file (default: <data_dir>/trace_store.db)."
    )
    otlp_endpoint: str = Field(
        "http://127.0.0.1:4318/v1/traces", description="An OTLP/HTTP collector's traces URL."
    )
    otlp_headers: dict[str, SecretStr] = Field(
        default_factory=dict, description="Headers sent to the collector (e.g. an API key)."
    )
    service_name: str | None = Field(
        None, description="The OTel service.name (default: llama_workbench:<distro>)."
    )
    capture_content: bool = Field(
        False, description="Record message contents in spans (passed through the redactor)."
    )
    max_content_chars: int = Field(4000, ge=64, description="Longer contents are cut.")
    sample_ratio: float = Field(1.0, ge=0.0, le=1.0, description="Share of traces kept.")
    mlflow_tracking_uri: str | None = Field(
        None, description="Where MLflow traces go (default: sqlite:///<data_dir>/mlflow.db)."
    )
    mlflow_experiment: str = Field("llama_workbench-traces", min_length=1)

    @field_validator("sinks", mode="before")
    @classmethod
    def _aliases(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            return list(dict.fromkeys(_SINK_ALIASES.get(v, v) for v in value))
        return value

    def sqlite_path(self, data_dir: Path) -> Path:
        if self.sqlite_db_path is None:
            return data_dir / "trace_store.db"
        path = Path(self.sqlite_db_path).expanduser()
        return path if path.is_absolute() else data_dir / path
