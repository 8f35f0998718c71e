"""Job results shaped for people, for the magics and the widgets: an eval's rows as a DataFrame,
a fine-tune's loss per step."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def eval_results_frame(stack: Any, benchmark_id: str, job_id: str) -> Any:
    """One row per example: its input, expected and generated answers, each function's score."""
    import pandas as pd

    result = stack.eval.job_result(benchmark_id, job_id)
    benchmark = stack.benchmarks.retrieve(benchmark_id)
    inputs = stack.datasetio.iterrows(
        benchmark.dataset_id, start_index=0, limit=len(result.generations)
    ).data
    rows = []
    for i, generation in enumerate(result.generations):
        row = {k: v for k, v in (inputs[i] if i < len(inputs) else {}).items()}
        row.update(generation)
        for fn_id, scored in result.scores.items():
            row[fn_id] = scored.score_rows[i].get("score") if i < len(scored.score_rows) else None
        rows.append(row)
    return pd.DataFrame(rows)


def loss_history(status: Any, seen: Sequence[tuple[int, float]]) -> list[tuple[int, float]]:
    """The job's loss per step: from its MLflow run when it has one (every step, also those
    before a restart), else the points seen while following it."""
    points = dict(seen)
    if status.mlflow_run_id and status.mlflow_tracking_uri:
        from llama_workbench.tracking.mlflow_runs import metric_history

        points.update(metric_history(status.mlflow_tracking_uri, status.mlflow_run_id, "loss"))
    return sorted(points.items())
