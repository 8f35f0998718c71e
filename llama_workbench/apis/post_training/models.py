"""Types of the Post Training API: Llama Stack's training configs, jobs and checkpoints, plus ours."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from llama_workbench.apis.base import ApiModel

JOB_UUID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
JobStatus = Literal["scheduled", "in_progress", "completed", "failed", "cancelled"]


class _Strict(ApiModel):
    # A misspelt setting is an error, never a default silently used instead.
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class DataConfig(_Strict):
    """Where the training rows come from and how they are batched."""

    dataset_id: str = Field(min_length=1, description="A registered dataset (post-training/...).")
    batch_size: int = Field(4, ge=1, le=512, description="Sequences per forward pass.")
    shuffle: bool = Field(True, description="Reshuffle the rows every epoch (seeded).")
    data_format: Literal["instruct", "dialog"] = Field(
        "dialog",
        description="dialog: rows with `messages`; instruct: rows with input_query/expected_answer "
        "(or question/answer).",
    )
    validation_dataset_id: str | None = Field(
        None, description="Rows to compute the eval loss on at every checkpoint."
    )
    packed: bool = Field(False, description="Packing several rows in one sequence (unsupported).")
    train_on_input: bool = Field(
        False, description="Also learn the prompt tokens; by default only the assistant's."
    )


class OptimizerConfig(_Strict):
    """The optimizer and its learning-rate warmup; lr None is the provider's default."""

    optimizer_type: Literal["adam", "adamw", "sgd"] = "adamw"
    lr: float | None = Field(None, gt=0.0, le=1.0)
    weight_decay: float = Field(0.0, ge=0.0, le=1.0)
    num_warmup_steps: int = Field(0, ge=0)


class EfficiencyConfig(_Strict):
    """Memory savers: activation checkpointing works on the CPU, the others need accelerators."""

    enable_activation_checkpointing: bool = False
    enable_activation_offloading: bool = False
    memory_efficient_fsdp_wrap: bool = False
    fsdp_cpu_offload: bool = False


class TrainingConfig(_Strict):
    """How long and how to train; the fields after `dtype` are ours."""

    n_epochs: int = Field(1, ge=1, le=10_000)
    max_steps_per_epoch: int | None = Field(
        None, ge=0, description="Optimizer steps per epoch at most; None or 0: every batch."
    )
    gradient_accumulation_steps: int = Field(1, ge=1, le=1024)
    max_validation_steps: int | None = Field(
        None, ge=1, description="Validation batches per evaluation at most; None: all."
    )
    data_config: DataConfig
    optimizer_config: OptimizerConfig = Field(default_factory=OptimizerConfig)
    efficiency_config: EfficiencyConfig | None = None
    dtype: Literal["fp32", "bf16", "fp16"] = Field(
        "fp32", description="fp32, or bf16 autocast (weights stay fp32); fp16 needs a GPU."
    )
    seed: int = Field(42, description="Seeds the shuffle, the LoRA init and dropout.")
    max_seq_len: int = Field(512, ge=8, le=32_768, description="Longer sequences are cut.")
    lr_scheduler: Literal["constant", "linear", "cosine"] = Field(
        "linear", description="Decay after warmup: constant, linear or cosine to 0."
    )
    max_grad_norm: float | None = Field(1.0, gt=0.0, description="Gradient clipping; None: off.")
    save_every_steps: int | None = Field(
        None, ge=1, description="Checkpoint every N optimizer steps; None: at every epoch's end."
    )


class LoraFinetuningConfig(_Strict):
    """Low-rank adapters on the attention (and MLP) projections; the base weights stay frozen."""

    type: Literal["LoRA"] = "LoRA"
    lora_attn_modules: list[str] = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"],
        min_length=1,
        description="Attention projections (Hugging Face names; torchtune's output_proj is o_proj).",
    )
    apply_lora_to_mlp: bool = True
    apply_lora_to_output: bool = False
    rank: int = Field(16, ge=1, le=1024)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    use_dora: bool = False
    quantize_base: bool = False


class FullFinetuningConfig(_Strict):
    """Every weight trains (ours): more memory and a full model folder per checkpoint."""

    type: Literal["full"] = "full"


AlgorithmConfig = Annotated[
    LoraFinetuningConfig | FullFinetuningConfig, Field(discriminator="type")
]


class DPOAlignmentConfig(_Strict):
    """Direct Preference Optimization: rows with a prompt, a chosen and a rejected answer."""

    beta: float = Field(0.1, gt=0.0)
    loss_type: Literal["sigmoid", "hinge", "ipo", "kto_pair"] = "sigmoid"


class SupervisedFineTuneRequest(_Strict):
    """POST /v1alpha/post-training/supervised-fine-tune."""

    job_uuid: str | None = Field(
        None, pattern=JOB_UUID_PATTERN, description="Ours: None generates one."
    )
    training_config: TrainingConfig
    hyperparam_search_config: dict[str, Any] = Field(default_factory=dict)
    logger_config: dict[str, Any] = Field(default_factory=dict)
    model: str | None = Field(None, description="A model the stack serves; None: the default.")
    checkpoint_dir: str | None = Field(
        None, description="The job's checkpoints go to <checkpoint_dir>/<job_uuid>."
    )
    algorithm_config: AlgorithmConfig | None = Field(
        None, description="LoRA (the default, rank 16 on attention + MLP) or full."
    )


class PreferenceOptimizeRequest(_Strict):
    """POST /v1alpha/post-training/preference-optimize (DPO, on LoRA adapters)."""

    job_uuid: str | None = Field(None, pattern=JOB_UUID_PATTERN)
    finetuned_model: str = Field(min_length=1, description="The model to align.")
    algorithm_config: DPOAlignmentConfig = Field(default_factory=DPOAlignmentConfig)
    training_config: TrainingConfig
    hyperparam_search_config: dict[str, Any] = Field(default_factory=dict)
    logger_config: dict[str, Any] = Field(default_factory=dict)
    checkpoint_dir: str | None = None
    lora_config: LoraFinetuningConfig = Field(
        default_factory=LoraFinetuningConfig, description="Ours: the adapter DPO trains."
    )


class JobUuidRequest(ApiModel):
    """The body of job/cancel and job/resume."""

    job_uuid: str = Field(min_length=1)


class PostTrainingJob(ApiModel):
    job_uuid: str
    status: JobStatus | None = Field(None, description="Ours: where the job stands.")


class ListPostTrainingJobsResponse(ApiModel):
    data: list[PostTrainingJob]


class PostTrainingMetric(ApiModel):
    """Metrics at a checkpoint; the perplexity is of the validation loss when there is one."""

    epoch: int
    train_loss: float
    validation_loss: float | None = None
    perplexity: float
    step: int = Field(0, description="Ours: the optimizer step.")


class Checkpoint(ApiModel):
    """A saved state of the job: the adapter (or model) folder, loadable as a model."""

    identifier: str
    created_at: datetime
    epoch: int
    post_training_job_id: str
    path: str
    training_metrics: PostTrainingMetric | None = None
    step: int = Field(0, description="Ours: the optimizer step it was saved at.")


class PostTrainingJobStatusResponse(ApiModel):
    """A job's status, checkpoints and (ours) live progress, MLflow run and registered model."""

    job_uuid: str
    status: JobStatus
    scheduled_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    resources_allocated: dict[str, Any] | None = None
    checkpoints: list[Checkpoint] = Field(default_factory=list)
    algorithm: Literal["LoRA", "full", "DPO"] | None = None
    model: str | None = Field(None, description="The base model's id.")
    step: int = 0
    total_steps: int | None = None
    epoch: int = 0
    loss: float | None = None
    learning_rate: float | None = None
    eval_loss: float | None = None
    eta_s: float | None = Field(None, description="Seconds left, at the recent step rate.")
    error: str | None = None
    mlflow_run_id: str | None = None
    mlflow_tracking_uri: str | None = None
    model_id: str | None = Field(None, description="The fine-tuned model, once registered.")


class PostTrainingJobArtifactsResponse(ApiModel):
    """A job's checkpoints; ours: the registered model and the MLflow run."""

    job_uuid: str
    checkpoints: list[Checkpoint] = Field(default_factory=list)
    model_id: str | None = None
    mlflow_run_id: str | None = None
    mlflow_tracking_uri: str | None = None
