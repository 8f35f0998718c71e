"""Training jobs on Ray Train: a TorchTrainer over `num_workers` (DDP), watched from the driver.

Ray Train hands its reports to the driver only when `fit()` returns, so a job's live state goes
through a tiny actor per job (`TrainChannel`): the main rank writes its progress there, every
rank says where it runs, and the driver writes the stop request there and polls the rest."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llama_workbench.core.errors import BadRequestError, LlamaWorkbenchError

if TYPE_CHECKING:
    from llama_workbench.execution.engine import ExecutionEngine

logger = logging.getLogger(__name__)
_POLL_S = 0.5  # how often the driver reads the channel (and the main rank writes to it)
# Ray Train's record of a run's reported checkpoints, in the run's folder. Our jobs resume from
# their own step-N folders; a stale record of pruned checkpoints would fail the next fit.
RAY_SNAPSHOT = "checkpoint_manager_snapshot.json"


class TrainFailedError(LlamaWorkbenchError):
    """A Ray Train worker raised; the job fails with the worker's error line."""

    status_code = 500
    error_type = "training_failed"


class TrainChannel:
    """A Ray actor per job: the stop request one way, workers and progress the other."""

    def __init__(self) -> None:
        self._stopped = False
        self._workers: dict[int, str] = {}
        self._state: dict[str, Any] = {}
        self._error: str | None = None

    def stop(self) -> None:
        self._stopped = True

    def joined(self, rank: int, where: str) -> bool:
        """A worker started (host:pid); returns whether the job was already stopped."""
        self._workers[rank] = where
        return self._stopped

    def report(self, state: dict[str, Any]) -> bool:
        """The main rank's latest state; returns the stop request."""
        self._state = state
        return self._stopped

    def failed(self, error: str) -> None:
        self._error = self._error or error

    def read(self) -> dict[str, Any]:
        workers = [self._workers[rank] for rank in sorted(self._workers)]
        return {"workers": workers, "state": self._state, "error": self._error}


def check_resources(engine: ExecutionEngine) -> None:
    """Settings a training job can't honour on Ray are a 400 naming them."""
    gpus = engine.settings.resources_per_worker.get("GPU", 0.0)
    if gpus:
        raise BadRequestError(
            f"execution.resources_per_worker GPU={gpus:g}: fine-tuning on Ray trains on the CPU "
            "(torch DDP on gloo); set GPU to 0 for post-training jobs."
        )


def fit_on_ray(
    engine: ExecutionEngine,
    train_fn: Callable[[dict[str, Any]], None],
    config: dict[str, Any],
    run_dir: Path,
    stop: threading.Event,
    on_read: Callable[[dict[str, Any]], None],
) -> dict[str, Any]:
    """Run `train_fn(config | {"channel": ...})` on every worker of a TorchTrainer (gloo);
    Ray persists reported checkpoints under `run_dir` (a path every node reaches: the local disk
    of a one-machine cluster, or a shared file system). `on_read(channel state)` runs every
    half second; setting `stop` asks the workers to stop at their next step. Returns the last
    state; a worker's exception raises TrainFailedError with that worker's line."""
    import ray
    from ray.train import FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    check_resources(engine)
    engine.connect_sync()
    settings = engine.settings
    channel = ray.remote(num_cpus=0)(TrainChannel).remote()
    (run_dir / RAY_SNAPSHOT).unlink(missing_ok=True)
    trainer = TorchTrainer(
        train_fn,
        train_loop_config={**config, "channel": channel},
        torch_config=TorchConfig(backend="gloo"),
        scaling_config=ScalingConfig(
            num_workers=settings.num_workers,
            resources_per_worker=dict(settings.resources_per_worker),
            use_gpu=False,
        ),
        run_config=RunConfig(
            name=run_dir.name,
            storage_path=str(run_dir.parent),
            failure_config=FailureConfig(max_failures=0),
        ),
    )
    fitted: Future[Any] = Future()

    def fit() -> None:
        try:
            fitted.set_result(trainer.fit())
        except BaseException as exc:
            fitted.set_exception(exc)

    threading.Thread(target=fit, name=f"ray-train-{run_dir.name}", daemon=True).start()
    return _watch(channel, fitted, stop, on_read)


def _watch(
    channel: Any,
    fitted: Future[Any],
    stop: threading.Event,
    on_read: Callable[[dict[str, Any]], None],
) -> dict[str, Any]:
    import ray

    asked_to_stop = False
    while True:
        done = _wait(fitted, _POLL_S)
        state: dict[str, Any] = ray.get(channel.read.remote())
        on_read(state)
        if done:
            break
        if stop.is_set() and not asked_to_stop:
            ray.get(channel.stop.remote())
            asked_to_stop = True
        if asked_to_stop and not state["workers"]:
            # Still waiting for the cluster to place its workers: the job is stopped now; the
            # workers, once placed, read the stop request and return before loading anything.
            return state
    error = fitted.exception()
    if error is not None:
        # A worker's own exception, else Ray's (a lost worker: its first lines, not a traceback).
        line = state["error"] or " ".join(f"{type(error).__name__}: {error}".split("\n")[:3])
        raise TrainFailedError(f"Ray Train run failed on a worker: {line}") from None
    return state


def _wait(future: Future[Any], seconds: float) -> bool:
    try:
        future.exception(timeout=seconds)
    except TimeoutError:
        return False
    return True
