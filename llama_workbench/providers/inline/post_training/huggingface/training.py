"""What the training thread shares with the event loop, and the pieces SFT and DPO both use."""

from __future__ import annotations

import contextlib
import math
import resource
import threading
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from llama_workbench.apis.post_training.models import (
    Checkpoint,
    DPOAlignmentConfig,
    FullFinetuningConfig,
    LoraFinetuningConfig,
    TrainingConfig,
)
from llama_workbench.core.errors import BadRequestError, MissingDependencyError
from llama_workbench.core.run_tracking import RunTracker, StepRun
from llama_workbench.providers.inline.post_training.huggingface.jobs import BaseModelRef

_MLP = ("gate_proj", "up_proj", "down_proj")
_ALIASES = {"output_proj": "o_proj"}  # torchtune's name for the attention output projection


@dataclass(frozen=True)
class MlflowTarget:
    tracking_uri: str
    experiment_name: str
    artifacts_dir: Path
    flush_every: int
    tracker: RunTracker  # from the provider's deps; stateless, so it travels to Ray workers


@dataclass
class TrainPlan:
    """One job's run, fully resolved on the event loop (rows read, base model found)."""

    job_uuid: str
    algorithm: LoraFinetuningConfig | FullFinetuningConfig
    training: TrainingConfig
    base: BaseModelRef
    output_dir: Path
    rows: list[dict[str, Any]]
    validation_rows: list[dict[str, Any]] | None
    lr: float
    num_threads: int
    keep_checkpoints: int
    mlflow: MlflowTarget | None
    params: dict[str, Any]  # what the MLflow run records
    dpo: DPOAlignmentConfig | None = None


@dataclass
class Progress:
    step: int = 0
    total_steps: int | None = None
    epoch: int = 0
    loss: float | None = None
    learning_rate: float | None = None
    eval_loss: float | None = None
    eta_s: float | None = None
    resources: dict[str, Any] = field(default_factory=dict)


class JobControl:
    """Shared by the event loop and the training thread: the stop request, and what the thread
    reports (progress, checkpoints, its MLflow run). Plain attribute writes: readers see whole
    values."""

    def __init__(self, checkpoints: list[Checkpoint], run_id: str | None) -> None:
        self.stop = threading.Event()
        self.progress = Progress()
        self.checkpoints = list(checkpoints)
        self.run_id = run_id
        self._recent: deque[float] = deque(maxlen=20)

    def step_done(
        self, step: int, total: int, epoch: int, loss: float, lr: float, seconds: float
    ) -> None:
        self._recent.append(seconds)
        rate = sum(self._recent) / len(self._recent)
        self.progress = Progress(
            step=step,
            total_steps=total,
            epoch=epoch,
            loss=loss,
            learning_rate=lr,
            eval_loss=self.progress.eval_loss,
            eta_s=round(rate * (total - step), 1),
            resources=self.progress.resources,
        )


@dataclass
class TrainResult:
    outcome: Literal["completed", "stopped"]
    final: Checkpoint | None


def load_base(plan: TrainPlan) -> Any:
    """A private fp32 copy of the base model (the inference engine keeps its own)."""
    from llama_workbench.providers.inline.inference.transformers.loader import load_model

    quiet_notices()
    base = plan.base
    tokenizer = Path(base.tokenizer) if base.tokenizer else None
    return load_model(Path(base.path), tokenizer, "float32", plan.num_threads, Path(base.cache_dir))


def quiet_notices() -> None:
    """Hide library-internal notices the user can't act on (peft reading transformers' deprecated
    names; peft looking for a config.json next to a GGUF base or a checkpoint). Targeted, so idempotent."""
    for category, message in (
        (FutureWarning, r"`is_gradient_checkpointing` is deprecated"),
        # peft looks for the base's config.json next to a GGUF file or in a checkpoint folder.
        (UserWarning, r"Could not find a config file in "),
    ):
        warnings.filterwarnings("ignore", message=message, category=category)


def peft_module() -> Any:
    try:
        import peft
    except ImportError as exc:
        raise MissingDependencyError("peft", "finetune", needed_by="inline::huggingface") from exc
    return peft


def lora_config(model: Any, algorithm: LoraFinetuningConfig) -> Any:
    """peft's LoraConfig for `algorithm`, after checking its modules exist in `model`."""
    if algorithm.quantize_base:
        raise BadRequestError("quantize_base (QLoRA) needs a GPU; leave it false on the CPU.")
    targets = [_ALIASES.get(m, m) for m in algorithm.lora_attn_modules]
    if algorithm.apply_lora_to_mlp:
        targets.extend(_MLP)
    if algorithm.apply_lora_to_output:
        if getattr(model.config, "tie_word_embeddings", False):
            raise BadRequestError(
                "apply_lora_to_output: this model ties its output layer to its input embeddings, "
                "so an adapter on it can't be merged for serving; leave it false."
            )
        targets.append("lm_head")
    linear = {name.rsplit(".", 1)[-1] for name, mod in model.named_modules() if _is_linear(mod)}
    missing = sorted(set(targets) - linear)
    if missing:
        raise BadRequestError(
            f"LoRA modules {', '.join(missing)} are not in this model; its linear layers are "
            f"{', '.join(sorted(linear))}."
        )
    return peft_module().LoraConfig(
        r=algorithm.rank,
        lora_alpha=algorithm.alpha,
        lora_dropout=algorithm.dropout,
        target_modules=sorted(set(targets)),
        use_dora=algorithm.use_dora,
        task_type="CAUSAL_LM",
    )


def _is_linear(module: Any) -> bool:
    import torch

    return isinstance(module, torch.nn.Linear)


def lr_factor(schedule: str, warmup: int, total: int) -> Callable[[int], float]:
    """The learning-rate multiplier at optimizer step `s`: linear warmup, then `schedule` to 0."""

    def factor(s: int) -> float:
        if s < warmup:
            return (s + 1) / warmup
        if schedule == "constant":
            return 1.0
        done = (s - warmup) / max(1, total - warmup)
        if schedule == "linear":
            return max(0.0, 1.0 - done)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, done)))

    return factor


def open_run(plan: TrainPlan, control: JobControl, algorithm: str) -> StepRun | None:
    """The job's MLflow run: a new one, or the one a resumed job had."""
    target = plan.mlflow
    if target is None:
        return None
    run = target.tracker.open_step_run(
        target.tracking_uri,
        target.experiment_name,
        f"{plan.base.model_id}:{plan.job_uuid}",
        plan.params,
        {"llama_workbench.kind": "post_training", "llama_workbench.algorithm": algorithm},
        target.artifacts_dir,
        run_id=control.run_id,
        flush_every=target.flush_every,
    )
    control.run_id = run.run_id
    return run


@contextlib.contextmanager
def precision(dtype: str) -> Iterator[None]:
    """bf16 autocast on the CPU (weights and optimizer stay fp32), or nothing for fp32."""
    import torch

    if dtype == "bf16":
        with torch.autocast("cpu", dtype=torch.bfloat16):
            yield
    else:
        yield


def resources(model: Any, num_threads: int) -> dict[str, Any]:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {
        "device": "cpu",
        "num_threads": num_threads,
        "trainable_params": int(trainable),
        "total_params": int(sum(p.numel() for p in model.parameters())),
        "process_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
