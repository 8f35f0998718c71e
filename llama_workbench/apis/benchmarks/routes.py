"""REST routes of the Benchmarks API (Llama Stack 0.7 paths)."""

from __future__ import annotations

from fastapi import APIRouter

from llama_workbench.apis.benchmarks.api import Benchmarks
from llama_workbench.apis.benchmarks.models import (
    Benchmark,
    ListBenchmarksResponse,
    RegisterBenchmarkRequest,
)


def create_router(impl: Benchmarks) -> APIRouter:
    router = APIRouter(tags=["benchmarks"])

    @router.get(
        "/v1alpha/eval/benchmarks",
        response_model=ListBenchmarksResponse,
        summary="List all benchmarks.",
    )
    async def list_benchmarks() -> ListBenchmarksResponse:
        return ListBenchmarksResponse(data=await impl.list())

    @router.get(
        "/v1alpha/eval/benchmarks/{benchmark_id}",
        response_model=Benchmark,
        summary="Get a benchmark by its ID.",
    )
    async def get_benchmark(benchmark_id: str) -> Benchmark:
        return await impl.retrieve(benchmark_id)

    @router.post(
        "/v1alpha/eval/benchmarks",
        response_model=Benchmark,
        summary="Register a benchmark.",
        deprecated=True,
    )
    async def register_benchmark(request: RegisterBenchmarkRequest) -> Benchmark:
        return await impl.register(request)

    @router.delete(
        "/v1alpha/eval/benchmarks/{benchmark_id}",
        summary="Unregister a benchmark.",
        deprecated=True,
    )
    async def unregister_benchmark(benchmark_id: str) -> None:
        await impl.unregister(benchmark_id)

    return router
