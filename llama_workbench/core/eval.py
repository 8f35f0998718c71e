"""The Benchmarks registry (a routing table) and the Eval API routed over it to eval providers."""

from __future__ import annotations

import asyncio
import builtins
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from llama_workbench.apis.benchmarks.models import Benchmark, RegisterBenchmarkRequest
from llama_workbench.apis.eval.api import EvalProvider
from llama_workbench.apis.eval.models import BenchmarkConfig, EvaluateResponse, Job
from llama_workbench.core.access import (
    BENCHMARK,
    can_access,
    check_access,
    check_create,
    owner_for_new_resource,
)
from llama_workbench.core.datatypes import Api
from llama_workbench.core.errors import BadRequestError, ConfigError, ConflictError, NotFoundError
from llama_workbench.core.resource_table import ResourceTable
from llama_workbench.storage.kv import KVStore

if TYPE_CHECKING:
    from llama_workbench.core.build_context import BuildContext


async def build_eval(ctx: BuildContext) -> dict[Api, Any]:
    kv = await ctx.storage.kv("metadata")
    table = BenchmarksRoutingTable(
        ctx.providers,
        kv,
        ctx.config.registered_resources.benchmarks,
        ctx.apis.get(Api.datasets),
        ctx.apis.get(Api.scoring_functions),
    )
    await table.initialize()
    return {Api.eval: EvalRouter(table, ctx.providers), Api.benchmarks: table}


_WAIT_STEP_S = 0.1  # how often run_eval(wait_s=...) looks at its job


class BenchmarksRoutingTable:
    """The Benchmarks API: benchmarks declared in the run config plus those users register."""

    def __init__(
        self,
        providers: Mapping[str, EvalProvider],
        kv: KVStore,
        declared: list[dict[str, Any]],
        datasets: Any,
        scoring_functions: Any,
    ) -> None:
        self._providers = dict(providers)
        self._table: ResourceTable[Benchmark] = ResourceTable("benchmark", Benchmark, kv)
        self._declared = declared
        self._datasets = datasets
        self._scoring_functions = scoring_functions

    async def initialize(self) -> None:
        await self._table.load()
        for index, raw in enumerate(self._declared):
            try:
                request = RegisterBenchmarkRequest.model_validate(raw)
            except ValueError as exc:
                raise ConfigError(f"registered_resources.benchmarks[{index}]: {exc}") from None
            benchmark = self._benchmark_from(request, "config")
            await self._provider(benchmark).register_benchmark(benchmark)
            await self._table.put(benchmark, persist=False)
        for benchmark in self._table.all():
            if benchmark.source == "user" and benchmark.provider_id in self._providers:
                await self._providers[benchmark.provider_id].register_benchmark(benchmark)

    async def list(self) -> builtins.list[Benchmark]:
        return sorted(
            (b for b in self._table.all() if can_access(b.owner, BENCHMARK, b.identifier)),
            key=lambda b: b.identifier,
        )

    async def retrieve(self, benchmark_id: str) -> Benchmark:
        benchmark = self._table.get(benchmark_id)
        if benchmark is None or not can_access(benchmark.owner, BENCHMARK, benchmark_id):
            raise NotFoundError(
                "Benchmark", benchmark_id, [b.identifier for b in await self.list()]
            )
        return benchmark

    async def register(self, request: RegisterBenchmarkRequest) -> Benchmark:
        existing = self._table.get(request.benchmark_id)
        if existing is not None and (
            existing.source != "user"
            or not can_access(existing.owner, BENCHMARK, existing.identifier)
        ):
            raise ConflictError(
                f"Benchmark id '{request.benchmark_id}' is taken; choose another id."
            )
        if existing is not None:
            check_access(existing.owner, BENCHMARK, existing.identifier, "update")
        else:
            check_create(BENCHMARK, request.benchmark_id)
        if self._datasets is not None:
            await self._datasets.retrieve(request.dataset_id)
        if self._scoring_functions is not None:
            for fn_id in request.scoring_functions:
                await self._scoring_functions.retrieve(fn_id)
        benchmark = self._benchmark_from(request, "user")
        await self._provider(benchmark).register_benchmark(benchmark)
        await self._table.put(benchmark, persist=True)
        return benchmark

    async def unregister(self, benchmark_id: str) -> None:
        benchmark = await self.retrieve(benchmark_id)
        if benchmark.source != "user":
            raise BadRequestError(
                f"Benchmark '{benchmark_id}' comes from the run config; remove it there instead."
            )
        check_access(benchmark.owner, BENCHMARK, benchmark_id, "delete")
        await self._table.remove(benchmark_id)

    def _benchmark_from(self, request: RegisterBenchmarkRequest, source: str) -> Benchmark:
        provider_id = request.provider_id or self._only_provider()
        if provider_id not in self._providers:
            raise NotFoundError("Eval provider", provider_id, list(self._providers))
        return Benchmark(
            identifier=request.benchmark_id,
            provider_id=provider_id,
            provider_resource_id=request.provider_benchmark_id or request.benchmark_id,
            dataset_id=request.dataset_id,
            scoring_functions=request.scoring_functions,
            metadata=request.metadata or {},
            owner=owner_for_new_resource() if source == "user" else None,
            source="user" if source == "user" else "config",
        )

    def _only_provider(self) -> str:
        if len(self._providers) != 1:
            raise BadRequestError(
                f"Several eval providers ({', '.join(self._providers)}): give provider_id."
            )
        return next(iter(self._providers))

    def _provider(self, benchmark: Benchmark) -> EvalProvider:
        return self._providers[benchmark.provider_id]


class EvalRouter:
    """Routes each call to the provider that owns the benchmark."""

    def __init__(
        self, table: BenchmarksRoutingTable, providers: Mapping[str, EvalProvider]
    ) -> None:
        self._table = table
        self._providers = dict(providers)

    async def _owner(self, benchmark_id: str) -> tuple[Benchmark, EvalProvider]:
        benchmark = await self._table.retrieve(benchmark_id)
        return benchmark, self._providers[benchmark.provider_id]

    async def run_eval(
        self,
        benchmark_id: str,
        benchmark_config: BenchmarkConfig | dict[str, Any],
        *,
        wait_s: float = 0.0,
    ) -> Job:
        benchmark, provider = await self._owner(benchmark_id)
        job = await provider.run_eval(benchmark, _config(benchmark_config))
        deadline = time.monotonic() + wait_s
        while job.status in ("scheduled", "in_progress") and time.monotonic() < deadline:
            await asyncio.sleep(_WAIT_STEP_S)
            job = await provider.job_status(benchmark_id, job.job_id)
        return job

    async def evaluate_rows(
        self,
        benchmark_id: str,
        input_rows: builtins.list[dict[str, Any]],
        scoring_functions: builtins.list[str],
        benchmark_config: BenchmarkConfig | dict[str, Any],
    ) -> EvaluateResponse:
        if not input_rows:
            raise BadRequestError("evaluate_rows: give at least one input row.")
        benchmark, provider = await self._owner(benchmark_id)
        return await provider.evaluate_rows(
            benchmark,
            input_rows,
            scoring_functions or benchmark.scoring_functions,
            _config(benchmark_config),
        )

    async def job_status(self, benchmark_id: str, job_id: str) -> Job:
        _, provider = await self._owner(benchmark_id)
        return await provider.job_status(benchmark_id, job_id)

    async def job_cancel(self, benchmark_id: str, job_id: str) -> None:
        _, provider = await self._owner(benchmark_id)
        await provider.job_cancel(benchmark_id, job_id)

    async def job_result(self, benchmark_id: str, job_id: str) -> EvaluateResponse:
        _, provider = await self._owner(benchmark_id)
        return await provider.job_result(benchmark_id, job_id)

    async def job_resume(self, benchmark_id: str, job_id: str) -> Job:
        benchmark, provider = await self._owner(benchmark_id)
        return await provider.job_resume(benchmark, job_id)

    async def list_jobs(self, benchmark_id: str | None = None) -> builtins.list[Job]:
        if benchmark_id is not None:
            _, provider = await self._owner(benchmark_id)
            return await provider.list_jobs(benchmark_id)
        jobs = [j for p in self._providers.values() for j in await p.list_jobs(None)]
        return sorted(jobs, key=lambda j: j.created_at or 0, reverse=True)


def _config(value: BenchmarkConfig | dict[str, Any]) -> BenchmarkConfig:
    if isinstance(value, BenchmarkConfig):
        return value
    try:
        return BenchmarkConfig.model_validate(value)
    except ValueError as exc:
        raise BadRequestError(f"benchmark_config: {exc}") from None
