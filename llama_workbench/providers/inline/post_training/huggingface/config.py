"""Config of inline::huggingface post-training: threads, checkpoints, defaults and MLflow."""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field

from llama_workbench.storage.config import SqlStoreRef


class MlflowSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="Log every job as an MLflow run, step by step.")
    tracking_uri: str | None = Field(
        None, description="Default: a local store, sqlite:///<data dir>/mlflow.db (no server)."
    )
    experiment_name: str = "llama_workbench-post-training"
    log_every_steps: int = Field(
        10, ge=1, description="Per-step metrics are written in batches of this many steps."
    )


class HuggingfacePostTrainingConfig(BaseModel):
    """Fine-tune inline transformers models on the CPU with transformers + peft (trl for DPO)."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    num_threads: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        description="torch intra-op threads while a job trains (process-wide).",
    )
    checkpoint_dir: str | None = Field(
        None,
        description="Where jobs keep checkpoints (<dir>/<job_uuid>/step-N). "
        "Default: <stack data dir>/post_training.",
    )
    keep_checkpoints: int = Field(
        3,
        ge=1,
        description="Checkpoints kept per job (older ones are deleted); only the newest keeps "
        "the optimizer state that resuming needs.",
    )
    default_model: str = Field(
        "HuggingFaceTB/SmolLM2-135M-Instruct",
        description="The model a request without `model` fine-tunes.",
    )
    lora_lr: float = Field(
        3e-4, gt=0.0, description="Learning rate of LoRA jobs that set none (keeps skills)."
    )
    full_lr: float = Field(2e-5, gt=0.0, description="Learning rate of full fine-tunes.")
    register_models: bool = Field(
        True, description="Register each finished job's model (<base>-ft-<job_uuid>)."
    )
    jobs_store: SqlStoreRef = Field(
        default_factory=lambda: SqlStoreRef(backend="sql_default", table_name="post_training_jobs"),
        description="SQL backend and table of the jobs.",
    )
    mlflow: MlflowSettings = Field(default_factory=MlflowSettings)
