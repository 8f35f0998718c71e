"""Types of the Benchmarks API (Llama Stack's, under /v1alpha/eval/benchmarks)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from llama_workbench.apis.base import ApiModel


class Benchmark(ApiModel):
    """A registered benchmark: run it with the Eval API (`stack.eval.run_eval(...)`)."""

    identifier: str
    provider_id: str
    provider_resource_id: str | None = None
    type: Literal["benchmark"] = "benchmark"
    dataset_id: str
    scoring_functions: list[str]
    metadata: dict[str, Any] = Field(default_factory=dict)
    owner: str | None = Field(None, description="Principal that registered it (server auth).")
    source: Literal["config", "user"] = "user"


class RegisterBenchmarkRequest(ApiModel):
    """Register `benchmark_id`: answers to `dataset_id` graded by `scoring_functions`."""

    model_config = ConfigDict(extra="forbid")

    benchmark_id: str = Field(min_length=1)
    dataset_id: str = Field(min_length=1)
    scoring_functions: list[str]
    provider_benchmark_id: str | None = None
    provider_id: str | None = None
    metadata: dict[str, Any] | None = None


class ListBenchmarksResponse(ApiModel):
    data: list[Benchmark]
