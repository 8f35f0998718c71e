"""MLflow runs for the stack's jobs: params, flattened metrics and a per-row table, in a local store."""

from __future__ import annotations

import contextlib
import logging
import math
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from llama_workbench.core.errors import MissingDependencyError


def default_tracking_uri(data_dir: Path) -> str:
    """A local SQLite store under the stack's data dir: no server, `mlflow ui` reads it."""
    return f"sqlite:///{(data_dir / 'mlflow.db').resolve()}"


def ui_command(tracking_uri: str) -> str:
    return f"mlflow ui --backend-store-uri {tracking_uri}"


def flatten_metrics(scores: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    """{fn: {accuracy: 0.5, categorical_count: {a: 2}}} -> {"fn/accuracy": 0.5, "fn/categorical_count/a": 2}."""
    out: dict[str, float] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                walk(f"{prefix}/{key}", inner)
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
