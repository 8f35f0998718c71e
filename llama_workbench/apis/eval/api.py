"""The Eval API protocols: jobs over benchmarks (background, resumable) and quick row evaluations."""

from __future__ import annotations

import builtins
from typing import Any, Protocol, runtime_checkable

from llama_workbench.apis.benchmarks.models import Benchmark
from llama_workbench.apis.eval.models import BenchmarkConfig, EvaluateResponse, Job


@runtime_checkable
class Eval(Protocol):
    """Evaluate a model or an agent on a registered benchmark."""

    async def run_eval(
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
        ...

    async def evaluate_rows(
        self,
        benchmark_id: str,
        input_rows: builtins.list[dict[str, Any]],
        scoring_functions: builtins.list[str],
        benchmark_config: BenchmarkConfig | dict[str, Any],
    ) -> EvaluateResponse:
        """Generate and score the given rows now (no job)."""
        ...

    async def job_status(self, benchmark_id: str, job_id: str) -> Job:
        """A job's status and progress."""
        ...

    async def job_cancel(self, benchmark_id: str, job_id: str) -> None:
        """Stop a running job; the rows it finished are kept."""
        ...

    async def job_result(self, benchmark_id: str, job_id: str) -> EvaluateResponse:
        """A completed job's generations and scores."""
        ...

    async def job_resume(self, benchmark_id: str, job_id: str) -> Job:
        """Continue a cancelled or interrupted job from the rows it had finished."""
        ...

    async def list_jobs(self, benchmark_id: str | None = None) -> builtins.list[Job]:
        """Jobs, newest first (of one benchmark)."""
        ...


@runtime_checkable
class EvalProvider(Protocol):
    """An eval provider: runs jobs for the benchmarks registered with it."""

    async def register_benchmark(self, benchmark: Benchmark) -> None: ...

    async def run_eval(self, benchmark: Benchmark, config: BenchmarkConfig) -> Job: ...

    async def evaluate_rows(
        self,
        benchmark: Benchmark,
        input_rows: builtins.list[dict[str, Any]],
        scoring_functions: builtins.list[str],
        config: BenchmarkConfig,
    ) -> EvaluateResponse: ...

    async def job_status(self, benchmark_id: str, job_id: str) -> Job: ...

    async def job_cancel(self, benchmark_id: str, job_id: str) -> None: ...

    async def job_result(self, benchmark_id: str, job_id: str) -> EvaluateResponse: ...

    async def job_resume(self, benchmark: Benchmark, job_id: str) -> Job: ...

    async def list_jobs(self, benchmark_id: str | None = None) -> builtins.list[Job]: ...

    async def shutdown(self) -> None: ...
