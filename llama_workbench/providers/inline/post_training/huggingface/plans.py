"""From a stored job to its run: request checks, the training plan, the trainer, MLflow params."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from llama_workbench.apis.post_training.models import (
    FullFinetuningConfig,
    LoraFinetuningConfig,
    PostTrainingJobStatusResponse,
    PreferenceOptimizeRequest,
    SupervisedFineTuneRequest,
    TrainingConfig,
)
from llama_workbench.core.errors import BadRequestError
from llama_workbench.providers.inline.post_training.huggingface.checkpoints import resumable
from llama_workbench.providers.inline.post_training.huggingface.config import (
    HuggingfacePostTrainingConfig,
)
from llama_workbench.providers.inline.post_training.huggingface.data import dpo_rows, row_messages
from llama_workbench.providers.inline.post_training.huggingface.jobs import JobSpec
from llama_workbench.providers.inline.post_training.huggingface.training import (
    JobControl,
    MlflowTarget,
    TrainPlan,
    TrainResult,
)

if TYPE_CHECKING:
    from llama_workbench.execution.engine import ExecutionEngine

Rows = list[dict[str, Any]]


def check_request(training: TrainingConfig, search: dict[str, Any], logger: dict[str, Any]) -> None:
    """Settings this provider can't honour are errors, never silently ignored."""
    problems = []
    if training.dtype == "fp16":
        problems.append("dtype fp16 needs a GPU (use fp32 or bf16)")
    if training.data_config.packed:
        problems.append("packed sequences")
    efficiency = training.efficiency_config
    if efficiency and (
        efficiency.enable_activation_offloading
        or efficiency.memory_efficient_fsdp_wrap
        or efficiency.fsdp_cpu_offload
    ):
        problems.append("activation offloading and FSDP (one CPU device)")
    if search:
        problems.append("hyperparam_search_config")
    if logger:
        problems.append("logger_config (runs go to MLflow: see the provider's mlflow settings)")
    if problems:
        raise BadRequestError(f"inline::huggingface does not support: {'; '.join(problems)}.")


def check_rows(kind: str, training: TrainingConfig, rows: tuple[Rows, Rows | None]) -> None:
    """Rows of the wrong shape fail the request, before any model loads."""
    data = training.data_config
    named = [(rows[0], data.dataset_id), (rows[1] or [], data.validation_dataset_id or "")]
    for part, dataset_id in named:
        if kind == "dpo":
            dpo_rows(part, dataset_id)
            continue
        for index, row in enumerate(part):
            where = f"dataset '{dataset_id}' row {index}"
            if all(m["role"] != "assistant" for m in row_messages(row, data.data_format, where)):
                raise BadRequestError(
                    f"{where}: the conversation has no assistant message to learn."
                )


def request_of(spec: JobSpec) -> SupervisedFineTuneRequest | PreferenceOptimizeRequest:
    if spec.kind == "dpo":
        return PreferenceOptimizeRequest.model_validate(spec.request)
    return SupervisedFineTuneRequest.model_validate(spec.request)


def build_plan(
    job: PostTrainingJobStatusResponse,
    spec: JobSpec,
    rows: tuple[Rows, Rows | None],
    config: HuggingfacePostTrainingConfig,
    mlflow: MlflowTarget | None,
) -> TrainPlan:
    """The training thread's whole input; the learning rate defaults by algorithm."""
    request = request_of(spec)
    if isinstance(request, PreferenceOptimizeRequest):
        algorithm: LoraFinetuningConfig | FullFinetuningConfig = request.lora_config
    else:
        algorithm = request.algorithm_config or LoraFinetuningConfig()
    lora = isinstance(algorithm, LoraFinetuningConfig)
    lr = request.training_config.optimizer_config.lr or (config.lora_lr if lora else config.full_lr)
    return TrainPlan(
        job_uuid=job.job_uuid,
        algorithm=algorithm,
        training=request.training_config,
        base=spec.base,
        output_dir=Path(spec.output_dir),
        rows=rows[0],
        validation_rows=rows[1],
        lr=lr,
        num_threads=config.num_threads,
        keep_checkpoints=config.keep_checkpoints,
        mlflow=mlflow,
        params=mlflow_params(spec, algorithm) | {"lr": lr},
        dpo=request.algorithm_config if isinstance(request, PreferenceOptimizeRequest) else None,
    )


def check_engine(kind: str, engine: ExecutionEngine | None) -> None:
    """What this provider runs on Ray: SFT (Ray Train); DPO is a 400 that says so."""
    if engine is None or not engine.is_ray:
        return
    if kind == "dpo":
        raise BadRequestError(
            "preference_optimize (DPO) runs in-process only; execution.engine is 'ray', which "
            "runs supervised_fine_tune on Ray Train. Use a run config without the execution "
            "section for DPO."
        )
    from llama_workbench.execution.train import check_resources

    check_resources(engine)


def trainer_for(
    spec: JobSpec,
    job: PostTrainingJobStatusResponse,
    control: JobControl,
    engine: ExecutionEngine | None = None,
) -> Any:
    """The training thread's work: SFT (here or on Ray Train), DPO, or nothing when the final
    checkpoint exists."""
    newest = control.checkpoints[-1] if control.checkpoints else None
    if (
        newest is not None
        and job.total_steps is not None
        and newest.step >= job.total_steps
        and not resumable(Path(newest.path))
    ):  # trained before; only the registration is left

        def done(plan: TrainPlan, control: JobControl) -> Any:
            return lambda: TrainResult("completed", newest)

        return done
    if spec.kind == "dpo":
        from llama_workbench.providers.inline.post_training.huggingface.dpo import DpoTrainer

        return lambda plan, control: DpoTrainer(plan, control).run
    if engine is not None and engine.is_ray:
        from llama_workbench.providers.inline.post_training.huggingface.ray_train import RaySftRun

        return lambda plan, control: RaySftRun(engine, plan, control).run
    from llama_workbench.providers.inline.post_training.huggingface.sft import SftTrainer

    return lambda plan, control: SftTrainer(plan, control).run


def mlflow_params(
    spec: JobSpec, algorithm: LoraFinetuningConfig | FullFinetuningConfig
) -> dict[str, Any]:
    """The MLflow run's params: the base model, the data and every setting, flattened."""
    request = request_of(spec)
    training = request.training_config
    params: dict[str, Any] = {
        "job_uuid": request.job_uuid,
        "kind": spec.kind,
        "base_model": spec.base.model_id,
        "base_path": spec.base.path,
        "algorithm": algorithm.type,
        **{f"data.{k}": v for k, v in training.data_config.model_dump().items()},
        **{f"optimizer.{k}": v for k, v in training.optimizer_config.model_dump().items()},
        **{
            k: v
            for k, v in training.model_dump().items()
            if k not in ("data_config", "optimizer_config")
        },
        **{f"algorithm.{k}": v for k, v in algorithm.model_dump().items() if k != "type"},
    }
    if isinstance(request, PreferenceOptimizeRequest):
        params |= {f"dpo.{k}": v for k, v in request.algorithm_config.model_dump().items()}
    return params
