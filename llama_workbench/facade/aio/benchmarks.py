"""`stack.aio.benchmarks`: the Benchmarks API as coroutines.

Generated from llama_workbench/apis/benchmarks/api.py by `python -m llama_workbench.facade._codegen`;
edit the Protocol (or its request models) and run it again, never this file."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from llama_workbench.apis.benchmarks.models import RegisterBenchmarkRequest
from llama_workbench.facade._runtime import AsyncFace, fields_of

if TYPE_CHECKING:
    import builtins
    from collections.abc import Sequence
    from typing import Any

    from llama_workbench.apis.benchmarks.models import Benchmark


class AsyncBenchmarksApi(AsyncFace):
    """The registry of benchmarks: from the run config and registered by users."""

    __slots__ = ()

    async def list(self) -> builtins.list[Benchmark]:
        """Every benchmark."""
        return cast("builtins.list[Benchmark]", await self._call("list", locals()))

    async def retrieve(self, benchmark_id: str) -> Benchmark:
        """One benchmark; NotFoundError lists the others."""
        return cast("Benchmark", await self._call("retrieve", locals()))

    @fields_of(RegisterBenchmarkRequest)
    async def register(
        self,
        *,
        benchmark_id: str,
        dataset_id: str,
        scoring_functions: Sequence[str],
        provider_benchmark_id: str | None = None,
        provider_id: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Benchmark:
        """Register a benchmark (its dataset and scoring functions must exist); it persists.

        Keyword arguments: the fields of `RegisterBenchmarkRequest`: Register `benchmark_id`:
        answers to `dataset_id` graded by `scoring_functions`.
        """
        return cast("Benchmark", await self._send(RegisterBenchmarkRequest, "register", locals()))

    async def unregister(self, benchmark_id: str) -> None:
        """Remove a registered benchmark."""
        await self._call("unregister", locals())
