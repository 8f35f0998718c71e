"""Row jobs (eval, batches) on Ray Data: rows fanned out to an actor pool, results streamed back.

Each actor builds one small stack of its own (the inference providers of the job's models): it
holds one model client, or loads an inline model once. The driver writes every finished row to
the job's store as it arrives, so a job that loses a worker (Ray restarts it and retries the
row) or its driver (job_resume) never redoes a finished row."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import socket
import tempfile
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from llama_workbench.core.errors import LlamaWorkbenchError

if TYPE_CHECKING:
    from llama_workbench.execution.engine import ExecutionEngine

# Rows per block: one (each row comes back as it finishes) up to this many rows, then more.
_MAX_BLOCKS = 20_000

Handler = Callable[[Any, dict[str, Any]], Awaitable[dict[str, Any]]]
Finished = Callable[[int, dict[str, Any]], Awaitable[None]]


class RowFailedError(LlamaWorkbenchError):
    """A row raised on a Ray worker; the job fails with the worker's message."""

    status_code = 500
    error_type = "row_failed"


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

        future = submit(self._handler(self._stack, payload), self._stack.loop)
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
    import ray.data

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    settings = engine.settings
    flag = ray.remote(num_cpus=0)(StopFlag).remote()
    stop_flag.append(flag)
    records = [{"index": i, "payload": json.dumps(p, default=str)} for i, p in items]
    dataset = ray.data.from_items(records, override_num_blocks=min(len(records), _MAX_BLOCKS))
    size = min(settings.num_workers, len(records))
    mapped = dataset.map_batches(
        RowWorker,
        fn_constructor_kwargs={"stack_config": stack_config, "handler": handler, "stop": flag},
        batch_size=1,
        # One row at a time per actor: a slow row never holds others queued behind it.
        compute=ray.data.ActorPoolStrategy(size=size, max_tasks_in_flight_per_actor=1),
        **settings.ray_resources(),
    )
    rows = mapped.iter_rows()
    try:
        for row in rows:
            if stop.is_set():
                break
            outcome = json.loads(row["result"])
            if "cancelled" in outcome:
                continue
            if "error" in outcome:
                raise RowFailedError(f"row {int(row['index'])}: {outcome['error']}")
            deliver(int(row["index"]), outcome["ok"], str(row["worker"]))
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()  # stops the streaming executor and its actors
        ray.kill(flag)
