"""Row jobs (eval, batches) on Ray Data: rows fanned out to an actor pool, results streamed back.

Each actor builds one small stack of its own (the inference providers of the job's models): it
holds one model client, or loads an inline model once. The driver writes every finished row to
the job's store as it arrives, so a job that loses a worker (the rows not yet stored run again on
a new pool) or its driver (job_resume) never redoes a finished row."""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import os
import socket
import tempfile
import threading
import warnings
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from llama_workbench.core.errors import LlamaWorkbenchError

if TYPE_CHECKING:
    from llama_workbench.execution.engine import ExecutionEngine

logger = logging.getLogger(__name__)

# Rows per block: one (each row comes back as it finishes) up to this many rows, then more.
_MAX_BLOCKS = 20_000

Handler = Callable[[Any, dict[str, Any]], Coroutine[Any, Any, dict[str, Any]]]
Finished = Callable[[int, dict[str, Any]], Coroutine[Any, Any, None]]


class RowFailedError(LlamaWorkbenchError):
    """A row raised on a Ray worker; the job fails with the worker's message."""

    status_code = 500
    error_type = "row_failed"


_POOLS = 3  # actor pools a job may go through when workers die
_STOP_POLL_S = 0.25  # how often a worker running a row asks whether the job was cancelled


class StopFlag:
    """A tiny Ray actor per job: set on cancel; workers abandon their row when they see it."""

    def __init__(self) -> None:
        self._stopped = False

    def stop(self) -> None:
        self._stopped = True

    def stopped(self) -> bool:
        return self._stopped


class RowWorker:
    """A Ray Data actor: one stack per actor process, `handler(stack, payload)` per row."""

    def __init__(self, stack_config: dict[str, Any], handler: str, stop: Any = None) -> None:
        from llama_workbench.core.stack import Stack

        config = {**stack_config, "data_dir": tempfile.mkdtemp(prefix="llama_workbench-worker-")}
        self._stack = Stack.from_config(config)
        module, _, name = handler.partition(":")
        self._handler: Handler = getattr(importlib.import_module(module), name)
        self._where = f"{socket.gethostname()}:{os.getpid()}"
        self._stop = stop

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        from llama_workbench.core.errors import error_line

        results = []
        for payload in batch["payload"]:
            try:
                out = self._run(json.loads(payload))
                results.append(json.dumps({"ok": out} if out is not None else {"cancelled": 1}))
            except Exception as exc:  # the driver fails the job with this line
                results.append(json.dumps({"error": error_line(exc)}))
        return {"index": batch["index"], "result": results, "worker": [self._where] * len(results)}

    def _run(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        """The row's result; None when the job was cancelled while it ran (the row is dropped)."""
        import concurrent.futures

        import ray

        from llama_workbench.core.bridge import submit

        future: concurrent.futures.Future[dict[str, Any]] = submit(
            self._handler(self._stack, payload), self._stack.loop
        )
        while True:
            try:
                return future.result(timeout=_STOP_POLL_S)
            except concurrent.futures.TimeoutError:
                if self._stop is not None and ray.get(self._stop.stopped.remote(), timeout=30):
                    future.cancel()
                    return None


async def run_rows_on_ray(
    engine: ExecutionEngine,
    stack_config: dict[str, Any],
    handler: str,
    items: list[tuple[int, dict[str, Any]]],
    finished: Finished,
    workers: set[str] | None = None,
) -> None:
    """Run `handler` ("module:function", `async (stack, payload) -> dict`) for every item on the
    engine's actor pool; `finished(index, result)` (which stores it) runs on this loop as each row
    comes back. Cancelling the caller stops the job at once: no row is stored after it."""
    if not items:
        return
    await engine.connect()
    loop = asyncio.get_running_loop()
    stop = threading.Event()

    def deliver(index: int, result: dict[str, Any], worker: str) -> None:
        if stop.is_set():
            return
        if workers is not None:
            workers.add(worker)
        asyncio.run_coroutine_threadsafe(finished(index, result), loop).result()

    flag: list[Any] = []  # the job's StopFlag actor, once the thread has made it
    thread = asyncio.to_thread(_stream, engine, stack_config, handler, items, deliver, stop, flag)
    task = asyncio.ensure_future(thread)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        stop.set()  # the thread drops what still arrives and shuts the dataset down
        if flag:  # the workers abandon their rows: the thread sees them end at once
            flag[0].stop.remote()
        raise


def _stream(
    engine: ExecutionEngine,
    stack_config: dict[str, Any],
    handler: str,
    items: list[tuple[int, dict[str, Any]]],
    deliver: Callable[[int, dict[str, Any], str], None],
    stop: threading.Event,
    stop_flag: list[Any],
) -> None:
    """Run the rows on a fresh actor pool; a worker that dies fails that pool at once (no actor
    restart, no task retry) and the rows not yet delivered run again on a new pool, at most
    _POOLS times. Ray Data's own recovery binds the dead worker's row to that actor's restart:
    the job then waits on one restart (re-importing the package, rebuilding the worker's stack)
    and hangs with no error if the restarted actor ends up dead."""
    import ray
    import ray.data

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    flag: Any = ray.remote(num_cpus=0)(StopFlag).remote()
    stop_flag.append(flag)
    pending = dict(items)
    try:
        for attempt in range(1, _POOLS + 1):
            try:
                _one_pool(engine, stack_config, handler, pending, deliver, stop, flag)
                return
            except RowFailedError:
                raise
            except Exception as exc:
                if stop.is_set():
                    return
                if not _worker_died(exc):
                    raise
                if attempt == _POOLS:
                    raise RowFailedError(
                        f"Ray workers died {_POOLS} times; {len(pending)} rows not run: "
                        f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                    ) from exc
                logger.warning(
                    "a Ray worker died (%s); %d rows run again on a new pool",
                    type(exc).__name__,
                    len(pending),
                )
    finally:
        ray.kill(flag)


def _one_pool(
    engine: ExecutionEngine,
    stack_config: dict[str, Any],
    handler: str,
    pending: dict[int, dict[str, Any]],
    deliver: Callable[[int, dict[str, Any], str], None],
    stop: threading.Event,
    flag: Any,
) -> None:
    """One Ray Data pass over `pending`; each row delivered is removed from it."""
    import ray.data

    settings = engine.settings
    records = [{"index": i, "payload": json.dumps(p, default=str)} for i, p in pending.items()]
    dataset = ray.data.from_items(records, override_num_blocks=min(len(records), _MAX_BLOCKS))
    size = min(settings.num_workers, len(records))
    with warnings.catch_warnings():
        # Ray 2.60 deprecates the actor options given as keywords (max_restarts, ...) and
        # names no other way to give them yet.
        warnings.filterwarnings("ignore", "`ray_remote_args` is deprecated")
        mapped = _map_rows(dataset, stack_config, handler, flag, size, settings)
    rows = mapped.iter_rows()
    try:
        for row in rows:
            if stop.is_set():
                break
            outcome = json.loads(row["result"])
            if "cancelled" in outcome:
                continue
            index = int(row["index"])
            if "error" in outcome:
                raise RowFailedError(f"row {index}: {outcome['error']}")
            if pending.pop(index, None) is None:
                continue  # delivered already (never stored twice)
            deliver(index, outcome["ok"], str(row["worker"]))
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()  # stops the streaming executor and its actors


def _map_rows(
    dataset: Any, stack_config: dict[str, Any], handler: str, flag: Any, size: int, settings: Any
) -> Any:
    import ray.data

    return dataset.map_batches(
        RowWorker,
        fn_constructor_kwargs={"stack_config": stack_config, "handler": handler, "stop": flag},
        batch_size=1,
        # One row at a time per actor: a slow row never holds others queued behind it.
        compute=ray.data.ActorPoolStrategy(size=size, max_tasks_in_flight_per_actor=1),
        # A dead worker fails this pass (the driver runs what is left on a new pool).
        max_restarts=0,
        max_task_retries=0,
        **settings.ray_resources(),
    )


def _worker_died(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) says a Ray worker process or its node died."""
    from ray import exceptions

    died = (exceptions.RayActorError, exceptions.WorkerCrashedError, exceptions.NodeDiedError)
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, died):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
