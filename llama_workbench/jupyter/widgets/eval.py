"""`EvalDashboard`: run a benchmark job, watch its progress, read the per-row table and scores."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import traitlets

from llama_workbench.core.errors import BadRequestError, NotFoundError
from llama_workbench.jupyter.widgets._base import JS_DIR, StackWidget, jsonable, llm_ids, short

if TYPE_CHECKING:
    from llama_workbench.core.stack import Stack

_RUNNING = ("scheduled", "in_progress")


class EvalDashboard(StackWidget):
    """Pick a benchmark and a model, run: `job` shows progress, `rows` and `aggregates` the result.

    `job` is {} before a run, then {job_id, status, completed_rows, total_rows, mlflow_run_id,
    mlflow_command}; `rows` holds one dict per example (input, expected and generated answers,
    each scoring function's score); `aggregates` is {function: {metric: value}}. `frame()`
    gives the rows as a pandas DataFrame. Cancel stops the job; its finished rows are kept.
    """

    _esm = JS_DIR / "eval.js"
    _css = JS_DIR / "eval.css"
    _actions = {"run": "run", "cancel": "cancel", "refresh": "refresh"}

    benchmarks = traitlets.List(traitlets.Unicode()).tag(sync=True)
    benchmark_id = traitlets.Unicode("").tag(sync=True)
    models = traitlets.List(traitlets.Unicode()).tag(sync=True)
    model = traitlets.Unicode("").tag(sync=True)
    num_examples = traitlets.Int(0).tag(sync=True)  # 0: every row
    max_tokens = traitlets.Int(64).tag(sync=True)
    job = traitlets.Dict().tag(sync=True)
    rows = traitlets.List(traitlets.Dict()).tag(sync=True)
    aggregates = traitlets.Dict().tag(sync=True)

    def __init__(
        self, stack: Stack, benchmark: str | None = None, model: str | None = None
    ) -> None:
        if "eval" not in {a.value for a in stack.apis}:
            raise BadRequestError("This stack has no eval API: add datasetio, scoring and eval.")
        benchmarks = [b.identifier for b in stack.benchmarks.list()]
        if benchmark and benchmark not in benchmarks:
            raise NotFoundError("Benchmark", benchmark, benchmarks)
        models = llm_ids(stack)
        if model and model not in models:
            raise NotFoundError("Model", model, models)
        super().__init__(
            stack,
            benchmarks=benchmarks,
            benchmark_id=benchmark or (benchmarks[0] if benchmarks else ""),
            models=models,
            model=model or (models[0] if models else ""),
        )
        self._cancel = threading.Event()

    def run(
        self,
        benchmark_id: str | None = None,
        model: str | None = None,
        num_examples: int | None = None,
    ) -> None:
        """Start a job on the benchmark with the model, in the background."""
        if benchmark_id is not None:
            self.benchmark_id = benchmark_id
        if model is not None:
            self.model = model
        if num_examples is not None:
            self.num_examples = int(num_examples)
        if not self.benchmark_id or not self.model:
            raise BadRequestError("Pick a benchmark and a model first.")
        if self.job.get("status") in _RUNNING:
            raise BadRequestError(f"Job {self.job['job_id']} is still running; cancel it first.")
        self.error, self.rows, self.aggregates = "", [], {}
        config: dict[str, Any] = {
            "eval_candidate": {
                "type": "model",
                "model": self.model,
                "sampling_params": {"max_tokens": self.max_tokens},
            }
        }
        if self.num_examples > 0:
            config["num_examples"] = self.num_examples
        job = self._stack.eval.run_eval(self.benchmark_id, config)
        self._cancel.clear()
        self._show(job)
        self._submit(lambda: self._follow(self.benchmark_id, job.job_id))

    def cancel(self) -> None:
        """Stop the running job (the rows it finished are kept)."""
        if self.job.get("status") in _RUNNING:
            self._stack.eval.job_cancel(self.job["benchmark_id"], self.job["job_id"])
            self._cancel.set()

    def refresh(self) -> None:
        """Reload the benchmarks and models."""
        self.benchmarks = [b.identifier for b in self._stack.benchmarks.list()]
        self.models = llm_ids(self._stack)

    def frame(self) -> Any:
        """The last job's rows as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.rows)

    def _follow(self, benchmark_id: str, job_id: str) -> None:
        job = self._stack.eval.job_status(benchmark_id, job_id)
        while job.status in _RUNNING:
            self._cancel.wait(0.2)
            job = self._stack.eval.job_status(benchmark_id, job_id)
            self._show(job)
        if job.status == "completed":
            self._results(benchmark_id, job_id)

    def _show(self, job: Any) -> None:
        from llama_workbench.tracking.mlflow_runs import ui_command

        info = job.model_dump(mode="json")
        if job.mlflow_run_id and job.mlflow_tracking_uri:
            info["mlflow_command"] = ui_command(job.mlflow_tracking_uri)
        self.job = info

    def _results(self, benchmark_id: str, job_id: str) -> None:
        from llama_workbench.jupyter.results import eval_results_frame
        from llama_workbench.providers.utils.scoring import flat_aggregates

        frame = eval_results_frame(self._stack, benchmark_id, job_id)
        self.rows = jsonable(frame.to_dict("records"))
        result = self._stack.eval.job_result(benchmark_id, job_id)
        self.aggregates = jsonable(
            {k: flat_aggregates(v.aggregated_results) for k, v in result.scores.items()}
        )

    def summary(self) -> str:
        lines = [
            f"EvalDashboard(benchmark={self.benchmark_id or '(none)'}, model={self.model or '(none)'})"
        ]
        job = self.job
        if job:
            lines.append(
                f"  job {job['job_id']}: {job['status']}, "
                f"{job.get('completed_rows', 0)}/{job.get('total_rows')} rows"
            )
        for fn_id, metrics in self.aggregates.items():
            shown = ", ".join(f"{k}={v}" for k, v in metrics.items() if not isinstance(v, dict))
            lines.append(f"  {fn_id}: {short(shown, 100)}")
        if job.get("mlflow_command"):
            lines.append(f"  MLflow run {job['mlflow_run_id']}: {job['mlflow_command']}")
        return "\n".join(lines)
