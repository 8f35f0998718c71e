"""DPO with trl's DPOTrainer on a LoRA adapter (its reference model is the adapter switched off)."""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llama_workbench.apis.post_training.models import (
    Checkpoint,
    LoraFinetuningConfig,
    PostTrainingMetric,
)
from llama_workbench.core.errors import MissingDependencyError
from llama_workbench.core.run_tracking import StepRun
from llama_workbench.providers.inline.post_training.huggingface.checkpoints import (
    METRICS_FILE,
    checkpoint_path,
    drop_resume_state,
    prune_checkpoints,
    resume_point,
)
from llama_workbench.providers.inline.post_training.huggingface.data import (
    dpo_rows,
    steps_per_epoch,
)
from llama_workbench.providers.inline.post_training.huggingface.training import (
    JobControl,
    TrainPlan,
    TrainResult,
    load_base,
    lora_config,
    open_run,
    resources,
)

_SCHEDULES = {"constant": "constant_with_warmup", "linear": "linear", "cosine": "cosine"}
_OPTIMIZERS = {"adam": "adamw_torch", "adamw": "adamw_torch", "sgd": "sgd"}  # adam: wd 0


class DpoTrainer:
    """One DPO job in the calling (worker) thread; checkpoints are Trainer checkpoints renamed
    step-N, so `resume_from_checkpoint` continues them."""

    def __init__(self, plan: TrainPlan, control: JobControl) -> None:
        self.plan = plan
        self.control = control

    def run(self) -> TrainResult:
        try:
            from datasets import Dataset
            from transformers import PrinterCallback
            from trl import DPOTrainer
        except ImportError as exc:
            raise MissingDependencyError("trl", "finetune", needed_by="DPO") from exc
        plan = self.plan
        assert isinstance(plan.algorithm, LoraFinetuningConfig)
        lm = load_base(plan)
        train, valid, total = self._rows()
        run = open_run(plan, self.control, "DPO")
        try:
            callback = _Callback(self, lm.tokenizer, run, total)
            with _quiet_datasets():  # trl tokenizes the rows with progress bars of its own
                trainer: Any = DPOTrainer(
                    model=lm.model,
                    args=self._args(
                        total,
                        per_epoch=math.ceil(total / plan.training.n_epochs),
                        evaluate=bool(valid),
                    ),
                    train_dataset=Dataset.from_list(train),
                    eval_dataset=Dataset.from_list(valid) if valid else None,
                    processing_class=lm.tokenizer,
                    peft_config=lora_config(lm.model, plan.algorithm),
                    callbacks=[callback],
                )
            trainer.remove_callback(PrinterCallback)  # it prints every log line to stdout
            trainer.model.peft_config["default"].base_model_name_or_path = plan.base.path
            self.control.progress.resources = resources(trainer.model, plan.num_threads)
            resume = resume_point(plan.output_dir)
            trainer.train(resume_from_checkpoint=resume.path if resume else None)
        except BaseException:
            if run is not None:
                run.finish("FAILED")
            raise
        return self._finish(run, stopped=callback.stopped)

    def _rows(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None, int]:
        """Training and validation rows in trl's shape, and the job's optimizer steps."""
        training = self.plan.training
        data = training.data_config
        train = dpo_rows(self.plan.rows, data.dataset_id)
        valid = None
        if self.plan.validation_rows:
            valid = dpo_rows(self.plan.validation_rows, data.validation_dataset_id or "")
            if training.max_validation_steps:
                valid = valid[: training.max_validation_steps * data.batch_size]
        per_epoch = steps_per_epoch(
            len(train),
            data.batch_size,
            training.gradient_accumulation_steps,
            training.max_steps_per_epoch,
        )
        return train, valid, per_epoch * training.n_epochs

    def _args(self, total: int, per_epoch: int, evaluate: bool) -> Any:
        from trl import DPOConfig

        cfg, plan = self.plan.training, self.plan
        assert plan.dpo is not None
        every = cfg.save_every_steps or per_epoch
        opt = cfg.optimizer_config
        return DPOConfig(
            output_dir=str(plan.output_dir),
            max_steps=total,
            per_device_train_batch_size=cfg.data_config.batch_size,
            per_device_eval_batch_size=cfg.data_config.batch_size,
            gradient_accumulation_steps=cfg.gradient_accumulation_steps,
            learning_rate=plan.lr,
            lr_scheduler_type=_SCHEDULES[cfg.lr_scheduler],
            warmup_steps=opt.num_warmup_steps,
            weight_decay=opt.weight_decay,
            optim=_OPTIMIZERS[opt.optimizer_type],
            max_grad_norm=cfg.max_grad_norm or 0.0,
            seed=cfg.seed,
            data_seed=cfg.seed,
            beta=plan.dpo.beta,
            loss_type=[plan.dpo.loss_type],
            max_length=cfg.max_seq_len,
            bf16=cfg.dtype == "bf16",
            activation_checkpointing=bool(
                cfg.efficiency_config and cfg.efficiency_config.enable_activation_checkpointing
            ),
            logging_steps=1,
            save_strategy="steps",
            save_steps=every,
            eval_strategy="steps" if evaluate else "no",
            eval_steps=every if evaluate else None,
            report_to=[],
            use_cpu=True,
            dataloader_num_workers=0,
            disable_tqdm=True,
        )

    def _finish(self, run: StepRun | None, *, stopped: bool) -> TrainResult:
        final = self.control.checkpoints[-1] if self.control.checkpoints else None
        if not stopped and final is not None:
            drop_resume_state(Path(final.path))
            if run is not None:
                run.log_artifacts(Path(final.path), "adapter")
                run.set_tag("llama_workbench.model_path", final.path)
        if run is not None:
            run.finish("KILLED" if stopped else "FINISHED")
        return TrainResult("stopped" if stopped else "completed", final)

    def checkpoint(self, step: int, epoch: int, tokenizer: Any) -> None:
        """Make the Trainer's checkpoint-N folder one of ours: step-N, loadable, described."""
        plan = self.plan
        written = plan.output_dir / f"checkpoint-{step}"
        target = checkpoint_path(plan.output_dir, step)
        tokenizer.save_pretrained(str(written))
        progress = self.control.progress
        loss = progress.loss if progress.loss is not None else math.nan
        checkpoint = Checkpoint(
            identifier=f"{plan.job_uuid}-step-{step}",
            created_at=datetime.now(UTC),
            epoch=epoch,
            post_training_job_id=plan.job_uuid,
            path=str(target),
            training_metrics=PostTrainingMetric(
                epoch=epoch,
                train_loss=loss,
                validation_loss=progress.eval_loss,
                perplexity=math.exp(min(progress.eval_loss or loss, 50.0)),
                step=step,
            ),
            step=step,
        )
        (written / METRICS_FILE).write_text(checkpoint.model_dump_json(indent=2))
        config = written / "adapter_config.json"
        settings = json.loads(config.read_text())
        settings["base_model_name_or_path"] = plan.base.path
        config.write_text(json.dumps(settings, indent=2))
        if target.exists():
            shutil.rmtree(target)
        os.replace(written, target)
        self.control.checkpoints = prune_checkpoints(plan.output_dir, plan.keep_checkpoints)


@contextlib.contextmanager
def _quiet_datasets() -> Iterator[None]:
    from datasets.utils import logging as ds_logging

    enabled = ds_logging.is_progress_bar_enabled()
    ds_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            ds_logging.enable_progress_bar()


def _callback_base() -> Any:
    from transformers import TrainerCallback

    return TrainerCallback


class _Callback(_callback_base()):  # type: ignore[misc]
    """Progress, MLflow metrics, checkpoints and the stop request, from the Trainer's events."""

    def __init__(self, owner: DpoTrainer, tokenizer: Any, run: StepRun | None, total: int) -> None:
        self._owner = owner
        self._tokenizer = tokenizer
        self._run = run
        self._total = total
        self._started = time.perf_counter()
        self.stopped = False

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._started = time.perf_counter()

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._owner.control.progress.step = state.global_step
        if self._owner.control.stop.is_set() and state.global_step < self._total:
            self.stopped = True
            control.should_training_stop = True

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
        logs = dict(logs or {})
        job = self._owner.control
        if "eval_loss" in logs:
            job.progress.eval_loss = float(logs["eval_loss"])
        if "loss" in logs:
            seconds = time.perf_counter() - self._started
            epoch = math.ceil(float(logs.get("epoch", 0)) or 1)
            lr = float(logs.get("learning_rate", 0.0))
            job.step_done(state.global_step, self._total, epoch, float(logs["loss"]), lr, seconds)
        metrics = {k: float(v) for k, v in logs.items() if _number(v)}
        if self._run is not None and metrics:
            self._run.log_step(state.global_step, metrics)

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        epoch = max(1, math.ceil(float(state.epoch or 0)))
        self._owner.checkpoint(state.global_step, epoch, self._tokenizer)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
