"""REST routes of the Eval API (Llama Stack 0.7 paths under /v1alpha/eval)."""

from __future__ import annotations

from fastapi import APIRouter

from llama_workbench.apis.eval.api import Eval
from llama_workbench.apis.eval.models import (
    EvaluateResponse,
    EvaluateRowsRequest,
    Job,
    ListJobsResponse,
    RunEvalRequest,
)

_JOB = "/v1alpha/eval/benchmarks/{benchmark_id}/jobs/{job_id}"
RUN_EVAL_WAIT_S = 60.0


def create_router(impl: Eval) -> APIRouter:
    router = APIRouter(tags=["eval"])

    @router.post(
        "/v1alpha/eval/benchmarks/{benchmark_id}/jobs", response_model=Job, summary="Run Eval"
    )
    async def run_eval(benchmark_id: str, request: RunEvalRequest) -> Job:
        # Llama Stack 0.7.3 answers once the evaluation has run: a job that ends within
        # RUN_EVAL_WAIT_S answers completed, a longer one in_progress (it goes on; poll it).
        return await impl.run_eval(benchmark_id, request.benchmark_config, wait_s=RUN_EVAL_WAIT_S)

    @router.get(
        "/v1alpha/eval/benchmarks/{benchmark_id}/jobs",
        response_model=ListJobsResponse,
        summary="List the eval jobs of a benchmark.",
    )
    async def list_jobs(benchmark_id: str) -> ListJobsResponse:
        return ListJobsResponse(data=await impl.list_jobs(benchmark_id))

    @router.post(
        "/v1alpha/eval/benchmarks/{benchmark_id}/evaluations",
        response_model=EvaluateResponse,
        summary="Evaluate Rows",
    )
    async def evaluate_rows(benchmark_id: str, request: EvaluateRowsRequest) -> EvaluateResponse:
        return await impl.evaluate_rows(
            benchmark_id, request.input_rows, request.scoring_functions, request.benchmark_config
        )

    @router.get(_JOB, response_model=Job, summary="Job Status")
    async def job_status(benchmark_id: str, job_id: str) -> Job:
        return await impl.job_status(benchmark_id, job_id)

    @router.delete(_JOB, summary="Job Cancel")
    async def job_cancel(benchmark_id: str, job_id: str) -> None:
        await impl.job_cancel(benchmark_id, job_id)

    @router.get(f"{_JOB}/result", response_model=EvaluateResponse, summary="Job Result")
    async def job_result(benchmark_id: str, job_id: str) -> EvaluateResponse:
        return await impl.job_result(benchmark_id, job_id)

    @router.post(
        f"{_JOB}/resume", response_model=Job, summary="Resume a cancelled or interrupted job."
    )
    async def job_resume(benchmark_id: str, job_id: str) -> Job:
        return await impl.job_resume(benchmark_id, job_id)

    return router
