"""SFT on Ray Train: the same loop (sft.py) on every worker of a TorchTrainer, data-parallel.

Each rank trains on its share of every micro-batch (DDP over gloo averages the gradients); the
main rank logs to MLflow, reports each checkpoint to Ray (which persists it as the job's step-N
folder) and mirrors it into the job's checkpoint records."""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import threading
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llama_workbench.apis.post_training.models import Checkpoint
from llama_workbench.core.errors import error_line
from llama_workbench.providers.inline.post_training.huggingface.checkpoints import (
    mark_complete,
    prune_checkpoints,
    write_files,
)
from llama_workbench.providers.inline.post_training.huggingface.data import IGNORE, Example
from llama_workbench.providers.inline.post_training.huggingface.parallel import Parallel
from llama_workbench.providers.inline.post_training.huggingface.training import (
    JobControl,
    Progress,
    TrainPlan,
    TrainResult,
)

if TYPE_CHECKING:
    from llama_workbench.execution.engine import ExecutionEngine

_PUSH_S = 0.5  # how often the main rank writes its progress to the job's channel


class RaySftRun:
    """The driver's side of one job: start the TorchTrainer, mirror its state into `control`."""

    def __init__(self, engine: ExecutionEngine, plan: TrainPlan, control: JobControl) -> None:
        per_worker = engine.settings.resources_per_worker.get("CPU", 1.0)
        # Each worker trains with the CPUs it reserved (the provider's num_threads is this
        # process's).
        self.plan = replace(plan, num_threads=max(1, int(per_worker)))
        self.control = control
        self.engine = engine

    def run(self) -> TrainResult:
        from llama_workbench.execution.train import fit_on_ray

        config = {
            "plan": self.plan,
            "checkpoints": [c.model_dump(mode="json") for c in self.control.checkpoints],
            "run_id": self.control.run_id,
        }
        self.plan.output_dir.mkdir(parents=True, exist_ok=True)
        dequantize_first(Path(self.plan.base.path), Path(self.plan.base.cache_dir))
        state = fit_on_ray(
            self.engine, train_worker, config, self.plan.output_dir, self.control.stop, self._read
        )
        outcome = state["state"].get("outcome")
        if outcome == "completed":
            final = self.control.checkpoints[-1] if self.control.checkpoints else None
            return TrainResult("completed", final)
        return TrainResult("stopped", None)

    def _read(self, channel: dict[str, Any]) -> None:
        """The main rank's progress and checkpoints, and every worker, into the job's control."""
        state = channel["state"]
        if "progress" in state:
            progress: Progress = state["progress"]
            self.control.progress = replace(
                progress,
                resources={
                    **progress.resources,
                    "execution_engine": "ray",
                    "execution_address": self.engine.settings.address,
                    "num_workers": self.engine.settings.num_workers,
                    "workers": channel["workers"],
                },
            )
            self.control.checkpoints = [Checkpoint.model_validate(c) for c in state["checkpoints"]]
            self.control.run_id = state["run_id"] or self.control.run_id
        elif channel["workers"]:
            self.control.progress.resources = {
                **self.control.progress.resources,
                "execution_engine": "ray",
                "workers": channel["workers"],
            }


def dequantize_first(path: Path, cache_dir: Path) -> None:
    """A GGUF base (or the GGUF under an adapter) dequantized into the cache by the driver, once:
    the workers then load the cached folder. (Each worker dequantizing would cost its time, and
    under torch.distributed only rank 0's save_pretrained writes weights, so a cache written by
    another rank would hold none.)"""
    from llama_workbench.providers.inline.inference.transformers.loader import ensure_hf_cache

    adapter = path / "adapter_config.json"
    if path.is_file():
        ensure_hf_cache(path, cache_dir)
    elif adapter.is_file():
        base = json.loads(adapter.read_text()).get("base_model_name_or_path")
        if base:
            dequantize_first(Path(base), cache_dir)


class RayParallel(Parallel):
    """One rank of the TorchTrainer's group (torch.distributed is set up by Ray Train)."""

    def __init__(self, rank: int, world_size: int) -> None:
        self.rank = rank
        self.world_size = world_size

    def wrap(self, model: Any) -> Any:
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(model)

    def unwrap(self, model: Any) -> Any:
        return model.module

    def share(self, examples: list[Example]) -> list[Example]:
        mine = examples[self.rank :: self.world_size]
        if not mine:  # fewer rows than ranks: a pass that learns nothing keeps DDP in step
            first = examples[0]
            mine = [Example(first.input_ids, [IGNORE] * len(first.input_ids))]
        return mine

    def should_stop(self, control: JobControl) -> bool:
        return bool(self._all_reduce(1.0 if control.stop.is_set() else 0.0, "max"))

    def total(self, value: float) -> float:
        return self._all_reduce(value, "sum")

    def save(
        self,
        model: Any,
        tokenizer: Any,
        plan: TrainPlan,
        checkpoint: Checkpoint,
        state: dict[str, Any] | None,
    ) -> list[Checkpoint]:
        """Every rank reports (Ray's report is a barrier); the main one with the checkpoint,
        which Ray persists as <output_dir>/step-N; then it is marked complete and pruned."""
        import ray.train

        metrics = {"step": checkpoint.step, "loss": _train_loss(checkpoint)}
        name = Path(checkpoint.path).name
        if not self.is_main:
            ray.train.report(metrics, checkpoint=None, checkpoint_dir_name=name)
            return []
        # The same step saved again after a resume: Ray copies into the folder, so clear it.
        shutil.rmtree(checkpoint.path, ignore_errors=True)
        with tempfile.TemporaryDirectory(prefix="llama_workbench-ckpt-") as folder:
            write_files(model, tokenizer, Path(folder), state)
            ray.train.report(
                metrics,
                checkpoint=ray.train.Checkpoint.from_directory(folder),
                checkpoint_dir_name=name,
            )
        mark_complete(Path(checkpoint.path), checkpoint)
        return prune_checkpoints(plan.output_dir, plan.keep_checkpoints)

    def _all_reduce(self, value: float, op: str) -> float:
        import torch
        import torch.distributed as dist

        tensor = torch.tensor([value], dtype=torch.float64)
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX if op == "max" else dist.ReduceOp.SUM)
        return float(tensor.item())


def _train_loss(checkpoint: Checkpoint) -> float:
    metrics = checkpoint.training_metrics
    return float(metrics.train_loss) if metrics is not None else float("nan")


def train_worker(config: dict[str, Any]) -> None:
    """A TorchTrainer worker: join the job's channel, run the SFT loop as this rank."""
    import ray
    import ray.train

    from llama_workbench.providers.inline.post_training.huggingface.sft import SftTrainer

    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    channel, plan = config["channel"], config["plan"]
    checkpoints = [Checkpoint.model_validate(c) for c in config["checkpoints"]]
    control = JobControl(checkpoints, config["run_id"])
    if ray.get(channel.joined.remote(rank, f"{socket.gethostname()}:{os.getpid()}")):
        control.stop.set()  # cancelled while the cluster placed the workers
    parallel = RayParallel(rank, world)
    if parallel.should_stop(control):  # every rank agrees before any loads the model
        return
    pusher = _Pusher(channel, control) if rank == 0 else None
    try:
        result = SftTrainer(plan, control, parallel).run()
    except BaseException as exc:
        ray.get(channel.failed.remote(error_line(exc)))
        raise
    finally:
        if pusher is not None:
            pusher.close()
    if pusher is not None:
        pusher.push(result.outcome)


class _Pusher:
    """The main rank's thread: its progress to the channel, the stop request back."""

    def __init__(self, channel: Any, control: JobControl) -> None:
        self._channel = channel
        self._control = control
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="progress-push", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._done.wait(_PUSH_S):
            self.push(None)

    def push(self, outcome: str | None) -> None:
        import ray

        control = self._control
        state = {
            "progress": control.progress,
            "checkpoints": [c.model_dump(mode="json") for c in control.checkpoints],
            "run_id": control.run_id,
            "outcome": outcome,
        }
        if ray.get(self._channel.report.remote(state)):
            control.stop.set()

    def close(self) -> None:
        self._done.set()
        self._thread.join()
