"""The run config's `execution:` section: which engine runs eval, batches, ingestion, fine-tuning."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ExecutionConfig(BaseModel):
    """`execution: {engine: ray, address: ..., num_workers: ...}`; absent (or an engine that
    substituted to nothing, as `${env.RAY_ADDRESS:+ray}` with the variable unset) is in-process."""

    model_config = ConfigDict(extra="forbid")

    engine: Literal["inprocess", "ray"] | None = Field(
        None, description="`ray` runs jobs on a Ray cluster; `inprocess` (or none) in this process."
    )
    address: str = Field(
        "auto",
        description=(
            "The cluster: `ray://host:10001` (Ray Client), `host:6379` (its GCS), `auto` (the "
            "cluster RAY_ADDRESS or `ray start` on this machine names), or `local` (start a "
            "private Ray in this process)."
        ),
    )
    runtime_env: dict[str, Any] | None = Field(
        None, description="Ray's runtime_env for the job (pip, env_vars, working_dir, ...)."
    )
    num_workers: int = Field(
        2, ge=1, le=4096, description="Actors of a row job; workers of a Ray Train run."
    )
    resources_per_worker: dict[str, float] = Field(
        default_factory=lambda: {"CPU": 1.0},
        description="What each worker reserves: CPU, GPU and custom resources.",
    )
    connect_timeout_s: float = Field(
        30.0, gt=0, le=600, description="How long the first job waits to reach the cluster."
    )

    @field_validator("resources_per_worker")
    @classmethod
    def _non_negative(cls, value: dict[str, float]) -> dict[str, float]:
        bad = [k for k, v in value.items() if v < 0]
        if bad:
            raise ValueError(f"resources must not be negative: {', '.join(bad)}")
        return value

    @property
    def is_ray(self) -> bool:
        return self.engine == "ray"

    def ray_resources(self) -> dict[str, Any]:
        """map_batches / actor options: num_cpus, num_gpus and the custom resources."""
        custom = {k: v for k, v in self.resources_per_worker.items() if k not in ("CPU", "GPU")}
        out: dict[str, Any] = {
            "num_cpus": self.resources_per_worker.get("CPU", 1.0),
            "num_gpus": self.resources_per_worker.get("GPU", 0.0),
        }
        if custom:
            out["resources"] = custom
        return out
