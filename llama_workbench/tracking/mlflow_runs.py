"""MLflow runs for the stack's jobs: params, flattened metrics and a per-row table, in a local store."""

from __future__ import annotations

import contextlib
import logging
import math
import time
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from llama_workbench.core.errors import MissingDependencyError


def default_tracking_uri(data_dir: Path) -> str:
    """A local SQLite store under the stack's data dir: no server, `mlflow ui` reads it."""
    return f"sqlite:///{(data_dir / 'mlflow.db').resolve()}"


def ui_command(tracking_uri: str) -> str:
    """How to see the runs: a tracking server's address as is, else the `mlflow ui` command."""
    if tracking_uri.startswith(("http://", "https://", "databricks")):
        return f"open {tracking_uri} (the MLflow tracking server)"
    return f"mlflow ui --backend-store-uri {tracking_uri}"


def flatten_metrics(scores: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    """{fn: {accuracy: 0.5, categorical_count: {a: 2}}} -> {"fn/accuracy": 0.5, "fn/categorical_count/a": 2}."""
    out: dict[str, float] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                # Llama Stack nests {"accuracy": {"accuracy": ...}}: the metric is "fn/accuracy".
                walk(prefix if prefix.rsplit("/", 1)[-1] == key else f"{prefix}/{key}", inner)
        elif isinstance(value, bool | int | float) and not (
            isinstance(value, float) and math.isnan(value)
        ):
            out[_metric_name(prefix)] = float(value)

    for fn_id, aggregates in scores.items():
        walk(fn_id, aggregates)
    return out


def _metric_name(name: str) -> str:
    # MLflow allows letters, digits, _ - . space / and :
    return "".join(c if c.isalnum() or c in "_-. /:" else "_" for c in name)


def metric_history(tracking_uri: str, run_id: str, key: str) -> list[tuple[int, float]]:
    """A run's values of one metric as (step, value), in step order."""
    from mlflow import MlflowClient

    with _quiet():
        history = MlflowClient(tracking_uri).get_metric_history(run_id, key)
    return sorted((int(m.step), float(m.value)) for m in history)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """MLflow logs its store migrations at INFO: keep the host's output clean while we write."""
    logger = logging.getLogger("mlflow")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            # Deprecation notices from MLflow's own dependencies (SQLAlchemy, pandas).
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        logger.setLevel(level)


def log_run(
    tracking_uri: str,
    experiment_name: str,
    run_name: str,
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    rows: list[dict[str, Any]] | None = None,
    tags: Mapping[str, str] | None = None,
    artifacts_dir: Path | None = None,
) -> str:
    """Record one finished run (blocking; call it in a thread); returns the run id."""
    try:
        from mlflow import MlflowClient
    except ImportError as exc:
        raise MissingDependencyError("mlflow", "eval") from exc
    with _quiet():
        client = MlflowClient(tracking_uri)
        experiment = client.get_experiment_by_name(experiment_name)
        if experiment is None:
            location = artifacts_dir.resolve().as_uri() if artifacts_dir else None
            experiment_id = client.create_experiment(experiment_name, artifact_location=location)
        else:
            experiment_id = experiment.experiment_id
        run = client.create_run(experiment_id, run_name=run_name, tags=dict(tags or {}))
        run_id = run.info.run_id
        for key, value in params.items():
            client.log_param(run_id, key, str(value)[:6000])
        for key, value in metrics.items():
            client.log_metric(run_id, key, value)
        if rows:
            import pandas as pd

            client.log_table(run_id, data=pd.DataFrame(rows), artifact_file="eval_rows.json")
        client.set_terminated(run_id)
    return str(run_id)


class StepRun:
    """An MLflow run written while a job progresses: per-step metrics buffered, logged in batches.

    Blocking: use it from the job's worker thread. `open` starts a run or reopens one (a
    resumed job keeps its run and its metric history).
    """

    def __init__(self, client: Any, run_id: str, flush_every: int) -> None:
        self._client = client
        self.run_id = run_id
        self._flush_every = max(1, flush_every)
        self._pending: list[Any] = []
        self._steps_since_flush = 0

    @classmethod
    def open(
        cls,
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
        try:
            from mlflow import MlflowClient
        except ImportError as exc:
            raise MissingDependencyError("mlflow", "finetune") from exc
        with _quiet():
            client = MlflowClient(tracking_uri)
            if run_id is not None:
                client.update_run(run_id, status="RUNNING")
                return cls(client, run_id, flush_every)
            experiment = client.get_experiment_by_name(experiment_name)
            if experiment is None:
                location = artifacts_dir.resolve().as_uri() if artifacts_dir else None
                experiment_id = client.create_experiment(
                    experiment_name, artifact_location=location
                )
            else:
                experiment_id = experiment.experiment_id
            run = client.create_run(experiment_id, run_name=run_name, tags=dict(tags or {}))
            new_id = str(run.info.run_id)
            for key, value in params.items():
                client.log_param(new_id, key, str(value)[:6000])
        return cls(client, new_id, flush_every)

    def log_step(self, step: int, metrics: Mapping[str, float]) -> None:
        """Buffer one step's metrics; every `flush_every` steps they are written in one batch."""
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self._pending.extend(
            Metric(_metric_name(key), float(value), now, step)
            for key, value in metrics.items()
            if not math.isnan(float(value))
        )
        self._steps_since_flush += 1
        if self._steps_since_flush >= self._flush_every:
            self.flush()

    def flush(self) -> None:
        self._steps_since_flush = 0
        pending, self._pending = self._pending, []
        with _quiet():
            for start in range(0, len(pending), 1000):  # MLflow takes 1000 metrics per batch
                self._client.log_batch(self.run_id, metrics=pending[start : start + 1000])

    def log_artifacts(self, local_dir: Path, artifact_path: str) -> None:
        with _quiet():
            self._client.log_artifacts(self.run_id, str(local_dir), artifact_path)

    def set_tag(self, key: str, value: str) -> None:
        with _quiet():
            self._client.set_tag(self.run_id, key, value)

    def finish(self, status: str = "FINISHED") -> None:
        """Write what is buffered and end the run: FINISHED, FAILED or KILLED."""
        self.flush()
        with _quiet():
            self._client.set_terminated(self.run_id, status=status)


class MlflowRunTracker:
    """The stack's run tracker (core/run_tracking.py's RunTracker): MLflow, the functions above.

    Stateless, so a job may carry it to another process (a Ray worker) and open its run there.
    """

    default_uri = staticmethod(default_tracking_uri)
    flatten_metrics = staticmethod(flatten_metrics)
    log_run = staticmethod(log_run)
    open_step_run = staticmethod(StepRun.open)
