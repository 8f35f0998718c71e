"""Types of the Eval API: candidates, sampling, benchmark configs, jobs and results."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from llama_workbench.apis.base import ApiModel
from llama_workbench.apis.scoring.models import ScoringResult


class GreedySamplingStrategy(ApiModel):
    type: Literal["greedy"] = "greedy"


class TopPSamplingStrategy(ApiModel):
    type: Literal["top_p"] = "top_p"
    temperature: float = Field(gt=0.0, le=2.0)
    top_p: float | None = Field(0.95, ge=0.0, le=1.0)


class TopKSamplingStrategy(ApiModel):
    type: Literal["top_k"] = "top_k"
    top_k: int = Field(ge=1)


SamplingStrategy = Annotated[
    GreedySamplingStrategy | TopPSamplingStrategy | TopKSamplingStrategy,
    Field(discriminator="type"),
]


class SamplingParams(ApiModel):
    """How the candidate samples: greedy (temperature 0) by default."""

    strategy: SamplingStrategy = Field(default_factory=GreedySamplingStrategy)
    max_tokens: int | None = Field(None, ge=1)
    repetition_penalty: float | None = Field(None, ge=-2.0, le=2.0)
    stop: list[str] | None = Field(None, max_length=4)


class SystemMessage(ApiModel):
    role: Literal["system"] = "system"
    content: str


class ModelCandidate(ApiModel):
    """A model answers each row (its question, or its messages) with these sampling params."""

    type: Literal["model"] = "model"
    model: str = Field(min_length=1)
    sampling_params: SamplingParams = Field(default_factory=SamplingParams)
    system_message: SystemMessage | None = None


class AgentConfig(ApiModel):
    """An agent as a candidate: the Responses API runs its server-side tools and shields."""

    model: str = Field(min_length=1)
    instructions: str | None = None
    tools: list[dict[str, Any]] = Field(
        default_factory=list, description="Responses tools: file_search, mcp (run server-side)."
    )
    shields: list[str] = Field(default_factory=list)
    max_infer_iters: int = Field(10, ge=1)
    sampling_params: SamplingParams = Field(default_factory=SamplingParams)


class AgentCandidate(ApiModel):
    type: Literal["agent"] = "agent"
    config: AgentConfig


EvalCandidate = Annotated[ModelCandidate | AgentCandidate, Field(discriminator="type")]


class BenchmarkConfig(ApiModel):
    """What to evaluate, how to score it, and on how many rows."""

    model_config = ConfigDict(extra="forbid")

    eval_candidate: EvalCandidate
    scoring_params: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Params per scoring function id (judge model, regexes)."
    )
    num_examples: int | None = Field(None, ge=1, description="Only the first N rows.")


class RunEvalRequest(ApiModel):
    """POST /v1alpha/eval/benchmarks/{benchmark_id}/jobs."""

    benchmark_config: BenchmarkConfig


class EvaluateRowsRequest(ApiModel):
    """POST /v1alpha/eval/benchmarks/{benchmark_id}/evaluations: a quick loop over given rows."""

    input_rows: list[dict[str, Any]] = Field(min_length=1)
    scoring_functions: list[str] = Field(min_length=1)
    benchmark_config: BenchmarkConfig


class EvaluateResponse(ApiModel):
    """Each row's generation, and each scoring function's per-row scores and aggregates."""

    generations: list[dict[str, Any]]
    scores: dict[str, ScoringResult]


JobStatus = Literal["scheduled", "in_progress", "completed", "failed", "cancelled"]


class Job(ApiModel):
    """An eval job: its status, progress, and where MLflow keeps its run."""

    job_id: str
    status: JobStatus
    benchmark_id: str | None = None
    created_at: int | None = None
    completed_at: int | None = None
    completed_rows: int = 0
    total_rows: int | None = None
    error: str | None = None
    mlflow_run_id: str | None = None
    mlflow_tracking_uri: str | None = None
    engine: str | None = Field(None, description="What ran it: inprocess or ray.")
    workers: list[str] | None = Field(None, description="The Ray workers (host:pid) that ran it.")


class ListJobsResponse(ApiModel):
    data: list[Job]
