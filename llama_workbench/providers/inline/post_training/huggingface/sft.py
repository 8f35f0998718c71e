"""Supervised fine-tuning on the CPU: a plain loop (LoRA or full) that checkpoints and resumes,
in this process or as one rank of a Ray Train group (parallel.py)."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from llama_workbench.apis.post_training.models import (
    Checkpoint,
    LoraFinetuningConfig,
    PostTrainingMetric,
)
from llama_workbench.core.run_tracking import StepRun
from llama_workbench.providers.inline.post_training.huggingface.checkpoints import (
    checkpoint_path,
    drop_resume_state,
    load_state,
    resume_point,
)
from llama_workbench.providers.inline.post_training.huggingface.data import (
    Example,
    collate,
    epoch_batches,
    sft_examples,
    steps_per_epoch,
)
from llama_workbench.providers.inline.post_training.huggingface.parallel import (
    Parallel,
    learned_tokens,
)
from llama_workbench.providers.inline.post_training.huggingface.training import (
    JobControl,
    TrainPlan,
    TrainResult,
    load_base,
    lora_config,
    lr_factor,
    open_run,
    peft_module,
    precision,
    quiet_notices,
    resources,
)


class SftTrainer:
    """Runs one job in the calling (worker) thread; `control.stop` ends it at a step boundary.

    The batches of every epoch are a function of the seed, so a resumed job picks up exactly
    where its checkpoint was taken. On a data-parallel group (`parallel`), every rank runs this
    same loop on its share of each micro-batch; the main rank logs, evaluates and saves.
    """

    def __init__(
        self, plan: TrainPlan, control: JobControl, parallel: Parallel | None = None
    ) -> None:
        self.plan = plan
        self.control = control
        self.parallel = parallel or Parallel()
        self._lora = isinstance(plan.algorithm, LoraFinetuningConfig)
        self._tokenizer: Any = None
        self._pad_id = 0
        self._train: list[Example] = []
        self._valid: list[Example] = []

    def run(self) -> TrainResult:
        import torch

        plan, cfg = self.plan, self.plan.training
        quiet_notices()
        torch.manual_seed(cfg.seed)
        resume = resume_point(plan.output_dir)
        model = self._load(resume)
        per_epoch = self._prepare_data()
        total = per_epoch * cfg.n_epochs
        optimizer, scheduler = self._optimizer(model, total)
        start = 0
        if resume is not None:
            state = load_state(resume)
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            torch.set_rng_state(state["rng"])
            start = int(state["step"])
        self.control.progress.resources = resources(model, plan.num_threads)
        self.control.progress.total_steps = total
        main = self.parallel.is_main
        run = open_run(plan, self.control, "LoRA" if self._lora else "full") if main else None
        try:
            outcome = self._loop(model, optimizer, scheduler, start, total, per_epoch, run)
            final = self._finish(outcome, run)
        except BaseException:
            if run is not None:
                run.finish("FAILED")
            raise
        return TrainResult(outcome, final)

    def _prepare_data(self) -> int:
        """Tokenize the rows; returns the optimizer steps of one epoch."""
        cfg = self.plan.training
        data = cfg.data_config

        def tokenized(rows: list[dict[str, Any]], dataset_id: str) -> list[Example]:
            return sft_examples(
                rows,
                self._tokenizer,
                data.data_format,
                cfg.max_seq_len,
                data.train_on_input,
                dataset_id,
            )

        self._train = tokenized(self.plan.rows, data.dataset_id)
        if self.plan.validation_rows:
            self._valid = tokenized(self.plan.validation_rows, data.validation_dataset_id or "")
        return steps_per_epoch(
            len(self._train),
            data.batch_size,
            cfg.gradient_accumulation_steps,
            cfg.max_steps_per_epoch,
        )

    def _load(self, resume: Checkpoint | None) -> Any:
        """The model to train: a fresh adapter (or the base), or the state of `resume`."""
        plan = self.plan
        if resume is not None and not self._lora:  # a full checkpoint is a whole model folder
            from llama_workbench.providers.inline.inference.transformers.loader import load_model

            base = plan.base
            lm = load_model(
                Path(resume.path), None, "float32", plan.num_threads, Path(base.cache_dir)
            )
        else:
            lm = load_base(plan)
        self._tokenizer, self._pad_id = lm.tokenizer, lm.pad_id
        model = lm.model
        if self._lora:
            assert isinstance(plan.algorithm, LoraFinetuningConfig)
            peft = peft_module()
            config = lora_config(model, plan.algorithm)
            if resume is not None:
                model = peft.PeftModel.from_pretrained(model, resume.path, is_trainable=True)
            else:
                model = peft.get_peft_model(model, config)
            # The adapter names the model it was trained on, as the inference provider loads it.
            model.peft_config["default"].base_model_name_or_path = plan.base.path
        efficiency = plan.training.efficiency_config
        if efficiency is not None and efficiency.enable_activation_checkpointing:
            model.config.use_cache = False  # no generation while training; says so quietly
            model.activation_checkpointing_enable()
            if self._lora:
                model.enable_input_require_grads()
        model.train()
        return self.parallel.wrap(model)

    def _optimizer(self, model: Any, total: int) -> tuple[Any, Any]:
        import torch

        opt_cfg = self.plan.training.optimizer_config
        params = [p for p in model.parameters() if p.requires_grad]
        kinds = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}
        optimizer = kinds[opt_cfg.optimizer_type](
            params, lr=self.plan.lr, weight_decay=opt_cfg.weight_decay
        )
        factor = lr_factor(self.plan.training.lr_scheduler, opt_cfg.num_warmup_steps, total)
        return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)

    def _loop(
        self,
        model: Any,
        optimizer: Any,
        scheduler: Any,
        start: int,
        total: int,
        per_epoch: int,
        run: StepRun | None,
    ) -> Literal["completed", "stopped"]:
        cfg = self.plan.training
        data, accumulation = cfg.data_config, cfg.gradient_accumulation_steps
        for step in range(start, total):
            if self.parallel.should_stop(self.control):
                return "stopped"
            epoch, within = divmod(step, per_epoch)
            batches = epoch_batches(
                len(self._train), data.batch_size, data.shuffle, cfg.seed, epoch
            )
            micro = batches[within * accumulation : (within + 1) * accumulation]
            started = time.perf_counter()
            lr = float(scheduler.get_last_lr()[0])
            loss, grad_norm = self._step(model, optimizer, scheduler, micro)
            done = step + 1
            seconds = time.perf_counter() - started
            self.control.step_done(done, total, epoch + 1, loss, lr, seconds)
            if run is not None:
                metrics = {"loss": loss, "learning_rate": lr, "step_seconds": seconds}
                run.log_step(done, metrics | ({"grad_norm": grad_norm} if grad_norm else {}))
            if self._checkpoint_due(done, total, per_epoch):
                final = done == total  # a finished job needs no resume state
                self._checkpoint(
                    model, None if final else (optimizer, scheduler), done, epoch + 1, loss, run
                )
        return "completed"

    def _step(
        self, model: Any, optimizer: Any, scheduler: Any, micro: list[list[int]]
    ) -> tuple[float, float | None]:
        import torch

        cfg, parallel = self.plan.training, self.parallel
        loss_sum = 0.0
        for indices in micro:
            examples = [self._train[i] for i in indices]
            # The loss is a sum over this rank's tokens divided by the whole micro-batch's
            # (every rank holds every row, so each knows it): the ranks' shares add up to the
            # token mean of the in-process loop; DDP averages gradients, so scale by the ranks.
            items = max(1, sum(learned_tokens(e) for e in examples))
            batch = collate(parallel.share(examples), self._pad_id)
            with precision(cfg.dtype):
                loss = model(**batch, num_items_in_batch=items).loss
            (loss * parallel.world_size / len(micro)).backward()
            loss_sum += float(loss.detach()) / len(micro)
        loss_sum = parallel.total(loss_sum)
        grad_norm = None
        if cfg.max_grad_norm is not None:
            params = [p for p in model.parameters() if p.requires_grad]
            grad_norm = float(torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm))
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        return loss_sum, grad_norm

    def _checkpoint_due(self, step: int, total: int, per_epoch: int) -> bool:
        every = self.plan.training.save_every_steps
        return step == total or (step % every == 0 if every else step % per_epoch == 0)

    def _checkpoint(
        self,
        model: Any,
        resume_with: tuple[Any, Any] | None,
        step: int,
        epoch: int,
        loss: float,
        run: StepRun | None,
    ) -> None:
        """Save an adapter (or model) folder; with the optimizer and scheduler to resume from."""
        import torch

        plan, main = self.plan, self.parallel.is_main
        model = self.parallel.unwrap(model)
        eval_loss = self._evaluate(model) if self._valid and main else None
        checkpoint = Checkpoint(
            identifier=f"{plan.job_uuid}-step-{step}",
            created_at=datetime.now(UTC),
            epoch=epoch,
            post_training_job_id=plan.job_uuid,
            path=str(checkpoint_path(plan.output_dir, step)),
            training_metrics=PostTrainingMetric(
                epoch=epoch,
                train_loss=loss,
                validation_loss=eval_loss,
                perplexity=math.exp(min(eval_loss if eval_loss is not None else loss, 50.0)),
                step=step,
            ),
            step=step,
        )
        state = None
        if resume_with is not None and main:
            optimizer, scheduler = resume_with
            state = {
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "step": step,
                "rng": torch.get_rng_state(),
            }
        kept = self.parallel.save(model, self._tokenizer, plan, checkpoint, state)
        if main:
            self.control.checkpoints = kept
        if eval_loss is not None:
            self.control.progress.eval_loss = eval_loss
            if run is not None:
                run.log_step(step, {"eval_loss": eval_loss})

    def _evaluate(self, model: Any) -> float:
        """Mean loss over the validation rows (max_validation_steps batches at most)."""
        import torch

        cfg = self.plan.training
        batches = epoch_batches(len(self._valid), cfg.data_config.batch_size, False, 0, 0)
        batches = batches[: cfg.max_validation_steps] if cfg.max_validation_steps else batches
        losses = []
        model.eval()
        with torch.no_grad(), precision(cfg.dtype):
            for indices in batches:
                losses.append(
                    float(model(**collate([self._valid[i] for i in indices], self._pad_id)).loss)
                )
        model.train()
        return sum(losses) / len(losses)

    def _finish(self, outcome: str, run: StepRun | None) -> Checkpoint | None:
        """The final checkpoint of a completed job: resume state dropped, adapter to MLflow."""
        final = self.control.checkpoints[-1] if self.control.checkpoints else None
        if not self.parallel.is_main:
            return None
        if outcome == "completed" and final is not None:
            drop_resume_state(Path(final.path))
            if run is not None:
                if self._lora:
                    run.log_artifacts(Path(final.path), "adapter")
                run.set_tag("llama_workbench.model_path", final.path)
        if run is not None:
            run.finish("FINISHED" if outcome == "completed" else "KILLED")
        return final
