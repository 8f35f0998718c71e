"""`stack.eval`: the Eval API as calls that return results.

Generated from llama_workbench/apis/eval/api.py by `python -m llama_workbench.facade._codegen`;
edit the Protocol (or its request models) and run it again, never this file."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from llama_workbench.facade._runtime import SyncFace

if TYPE_CHECKING:
    import builtins
    from typing import Any

    from llama_workbench.apis.eval.models import BenchmarkConfig, EvaluateResponse, Job


class EvalApi(SyncFace):
    """Evaluate a model or an agent on a registered benchmark."""

    __slots__ = ()

    def run_eval(
        self,
        benchmark_id: str,
        benchmark_config: BenchmarkConfig | dict[str, Any],
        *,
        wait_s: float = 0.0,
    ) -> Job:
        """Start a job in the background; poll job_status, then read job_result.

        `wait_s`: return once the job has ended or this many seconds have passed, whichever is
        first (the job goes on either way). The REST route waits, as Llama Stack 0.7.3 answers
        once its evaluation has run.
        """
        return cast("Job", self._call("run_eval", locals()))

    def evaluate_rows(
        self,
        benchmark_id: str,
        input_rows: builtins.list[dict[str, Any]],
        scoring_functions: builtins.list[str],
        benchmark_config: BenchmarkConfig | dict[str, Any],
    ) -> EvaluateResponse:
        """Generate and score the given rows now (no job)."""
        return cast("EvaluateResponse", self._call("evaluate_rows", locals()))

    def job_status(self, benchmark_id: str, job_id: str) -> Job:
        """A job's status and progress."""
        return cast("Job", self._call("job_status", locals()))

    def job_cancel(self, benchmark_id: str, job_id: str) -> None:
        """Stop a running job; the rows it finished are kept."""
        self._call("job_cancel", locals())

    def job_result(self, benchmark_id: str, job_id: str) -> EvaluateResponse:
        """A completed job's generations and scores."""
        return cast("EvaluateResponse", self._call("job_result", locals()))

    def job_resume(self, benchmark_id: str, job_id: str) -> Job:
        """Continue a cancelled or interrupted job from the rows it had finished."""
        return cast("Job", self._call("job_resume", locals()))

    def list_jobs(self, benchmark_id: str | None = None) -> builtins.list[Job]:
        """Jobs, newest first (of one benchmark)."""
        return cast("builtins.list[Job]", self._call("list_jobs", locals()))
