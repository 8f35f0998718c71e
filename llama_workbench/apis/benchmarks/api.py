"""The Benchmarks API protocol."""

from __future__ import annotations

import builtins
from typing import Protocol, runtime_checkable

from llama_workbench.apis.benchmarks.models import Benchmark, RegisterBenchmarkRequest


@runtime_checkable
class Benchmarks(Protocol):
    """The registry of benchmarks: from the run config and registered by users."""

    async def list(self) -> builtins.list[Benchmark]:
        """Every benchmark."""
        ...

    async def retrieve(self, benchmark_id: str) -> Benchmark:
        """One benchmark; NotFoundError lists the others."""
        ...

    async def register(self, request: RegisterBenchmarkRequest) -> Benchmark:
        """Register a benchmark (its dataset and scoring functions must exist); it persists."""
        ...

    async def unregister(self, benchmark_id: str) -> None:
        """Remove a registered benchmark."""
        ...
