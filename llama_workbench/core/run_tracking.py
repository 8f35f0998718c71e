"""The run tracker as providers see it: where jobs (eval, fine-tuning) log their MLflow runs.

A leaf (typing only). Providers get one in their dependencies, `deps.tracker`, which the stack
builds (`tracking/mlflow_runs.py`: `MlflowRunTracker`); they never import the tracking package
(tests/unit/test_architecture.py forbids the arrow).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

__all__ = ["RunTracker", "StepRun"]


class StepRun(Protocol):
    """A run written while a job progresses (blocking: use it from the job's worker thread)."""

    run_id: str

    def log_step(self, step: int, metrics: Mapping[str, float]) -> None:
        """Record one step's metrics (buffered, written in batches)."""
        ...

    def flush(self) -> None:
        """Write what is buffered."""
        ...

    def log_artifacts(self, local_dir: Path, artifact_path: str) -> None:
        """Copy a folder into the run's artifacts under `artifact_path`."""
        ...

    def set_tag(self, key: str, value: str) -> None:
        """Tag the run."""
        ...

    def finish(self, status: str = "FINISHED") -> None:
        """Write what is buffered and end the run: FINISHED, FAILED or KILLED."""
        ...


class RunTracker(Protocol):
    """Logs jobs' runs to a tracking store (blocking calls: run them in a thread)."""

    def default_uri(self, data_dir: Path) -> str:
        """The store a provider uses when its config names none (one under the data dir)."""
        ...

    def flatten_metrics(self, scores: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
        """Nested aggregate scores as flat metric names the store takes ("fn/accuracy")."""
        ...

    def log_run(
        self,
        tracking_uri: str,
        experiment_name: str,
        run_name: str,
        params: Mapping[str, Any],
        metrics: Mapping[str, float],
        rows: list[dict[str, Any]] | None = None,
        tags: Mapping[str, str] | None = None,
        artifacts_dir: Path | None = None,
    ) -> str:
        """Record one finished run (params, metrics, a per-row table); its run id."""
        ...

    def open_step_run(
        self,
        tracking_uri: str,
        experiment_name: str,
        run_name: str,
        params: Mapping[str, Any],
        tags: Mapping[str, str] | None = None,
        artifacts_dir: Path | None = None,
        run_id: str | None = None,
        flush_every: int = 10,
    ) -> StepRun:
        """A new run with `params` and `tags`, or the run `run_id` set running again."""
        ...
