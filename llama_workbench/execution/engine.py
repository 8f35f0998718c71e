"""The execution engine of a stack: in-process, or a Ray cluster reached once, on the first job."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import socket
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from llama_workbench.core.errors import EngineUnavailableError, MissingDependencyError
from llama_workbench.execution.config import ExecutionConfig

if TYPE_CHECKING:
    from llama_workbench.apis.models.models import Model
    from llama_workbench.core.config import StackConfig

logger = logging.getLogger(__name__)
_PROBE_S = 5.0  # a TCP connect to the head, before Ray's own (retrying) client is started
# Ray gives a node it starts a fixed 30 s to register its raylet; on a busy 2-core machine a
# private (`local`) Ray can miss that once, and then starts on a second try.
_LOCAL_TRIES = 2
_NODE_TIMEOUT = "timed out during startup"


@dataclass(frozen=True)
class ClusterInfo:
    """What `%llama status` and the StackInspector show of the engine."""

    engine: str
    address: str | None = None
    connected: bool = False
    nodes: int = 0
    cpus_total: float = 0.0
    cpus_free: float = 0.0
    gpus_total: float = 0.0
    gpus_free: float = 0.0
    error: str | None = None

    def line(self) -> str:
        if self.engine != "ray":
            return "in-process (no execution engine configured)"
        if not self.connected:
            return f"ray at {self.address}: not connected ({self.error or 'no job has run yet'})"
        return (
            f"ray at {self.address}: {self.nodes} node{'s' if self.nodes != 1 else ''}, "
            f"CPUs {self.cpus_free:g}/{self.cpus_total:g} free, "
            f"GPUs {self.gpus_free:g}/{self.gpus_total:g} free"
        )


class _Connection:
    """The process's one Ray connection (Ray allows one per process): its address once made."""

    lock = threading.Lock()
    address: str | None = None
    pending: Future[None] | None = None
    # Set when the process leaves Ray: the thread that started a private Ray waits for it.
    released = threading.Event()


class ExecutionEngine:
    """Runs jobs in-process (`is_ray` false) or on Ray; `connect()` reaches the cluster once, with
    a timeout, and raises one EngineUnavailableError (the address and what was tried) if it can't."""

    def __init__(self, settings: ExecutionConfig | None, run_config: StackConfig) -> None:
        self.settings = settings or ExecutionConfig()
        self._run_config = run_config

    @property
    def is_ray(self) -> bool:
        return self.settings.is_ray

    @property
    def name(self) -> str:
        return "ray" if self.is_ray else "inprocess"

    @property
    def address(self) -> str | None:
        return self.settings.address if self.is_ray else None

    def params(self) -> dict[str, Any]:
        """MLflow params: which engine ran the job, where, with how many workers."""
        if not self.is_ray:
            return {"execution_engine": "inprocess"}
        return {
            "execution_engine": "ray",
            "execution_address": self.settings.address,
            "execution_num_workers": self.settings.num_workers,
        }

    # -- connecting

    async def connect(self) -> None:
        """Reach the cluster (once per process); never waits longer than connect_timeout_s."""
        if not self.is_ray:
            return
        future = self._start_connecting()
        timeout = self.settings.connect_timeout_s
        try:
            await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), timeout)
        except TimeoutError:
            raise self._timed_out() from None

    def connect_sync(self) -> None:
        """connect() from a thread that is not the stack's loop (a Ray Train job's driver)."""
        if not self.is_ray:
            return
        future = self._start_connecting()
        try:
            future.result(self.settings.connect_timeout_s)
        except TimeoutError:
            raise self._timed_out() from None

    def _timed_out(self) -> EngineUnavailableError:
        timeout = self.settings.connect_timeout_s
        if self.settings.address == "local":
            return self._unreachable(
                f"starting a private Ray in this process took longer than connect_timeout_s "
                f"({timeout:g} s; on a busy machine its processes alone can take that long): "
                "raise execution.connect_timeout_s, or start a cluster with `ray start --head` "
                "and use address auto"
            )
        return self._unreachable(
            f"ray.init(address={self.settings.address!r}) did not connect within {timeout:g} s"
        )

    def _start_connecting(self) -> Future[None]:
        with _Connection.lock:
            if _Connection.address is not None:
                done: Future[None] = Future()
                if _Connection.address != self.settings.address:
                    done.set_exception(
                        self._unreachable(
                            f"this process is already connected to Ray at "
                            f"{_Connection.address!r}; one process reaches one cluster"
                        )
                    )
                else:
                    done.set_result(None)
                return done
            if _Connection.pending is not None and not _Connection.pending.done():
                return _Connection.pending
            future: Future[None] = Future()
            _Connection.pending = future
        thread = threading.Thread(target=self._connect_thread, args=(future,), daemon=True)
        thread.start()
        return future

    def _connect_thread(self, future: Future[None]) -> None:
        try:
            self._connect_now()
        except BaseException as exc:
            future.set_exception(exc)
            return
        with _Connection.lock:
            _Connection.address = self.settings.address
            released = _Connection.released = threading.Event()
        future.set_result(None)
        if self.settings.address == "local":
            # Ray ties the processes it starts to the thread that starts them (Linux's
            # PR_SET_PDEATHSIG): were this thread to end, the private Ray would die with it.
            released.wait()

    def _connect_now(self) -> None:
        import ray

        address = self.settings.address
        if ray.is_initialized():  # connected by the user's own code: use that
            return
        _probe(address, self._unreachable)
        options: dict[str, Any] = {
            "namespace": "llama_workbench",
            "log_to_driver": False,
            "configure_logging": False,
            "runtime_env": self.settings.runtime_env,
        }
        # "local" is Ray's own word for a new private cluster: without an address, ray.init
        # would join RAY_ADDRESS or a `ray start` cluster of this machine instead.
        options["address"] = address
        if address == "local":
            options["include_dashboard"] = False
        tries = _LOCAL_TRIES if address == "local" else 1
        for attempt in range(1, tries + 1):
            try:
                ray.init(**options)
                return
            except Exception as exc:
                if attempt < tries and _NODE_TIMEOUT in str(exc):
                    logger.info("a private Ray did not start in time; starting it again")
                    ray.shutdown()
                    continue
                raise self._unreachable(
                    f"ray.init(address={address!r}) failed: {exc}{_auth_hint(address)}"
                ) from None

    def _unreachable(self, tried: str) -> EngineUnavailableError:
        return EngineUnavailableError(
            f"The Ray cluster at '{self.settings.address}' (execution.address) is unreachable: "
            f"{tried}. Start one with `ray start --head`, or fix execution.address "
            "(ray://host:10001, host:6379, auto or local).",
            address=self.settings.address,
        )

    # -- what it is

    async def info(self) -> ClusterInfo:
        """The engine and, for Ray, its nodes and free CPUs/GPUs (connecting if need be)."""
        if not self.is_ray:
            return ClusterInfo(engine="inprocess")
        try:
            await self.connect()
            return await asyncio.to_thread(self._info_now)
        except Exception as exc:
            return ClusterInfo(engine="ray", address=self.settings.address, error=str(exc))

    def _info_now(self) -> ClusterInfo:
        import ray

        total, free = ray.cluster_resources(), ray.available_resources()
        nodes = [n for n in ray.nodes() if n.get("Alive")]
        return ClusterInfo(
            engine="ray",
            address=self.settings.address,
            connected=True,
            nodes=len(nodes),
            cpus_total=float(total.get("CPU", 0.0)),
            cpus_free=float(free.get("CPU", 0.0)),
            gpus_total=float(total.get("GPU", 0.0)),
            gpus_free=float(free.get("GPU", 0.0)),
        )

    # -- what a worker builds

    def worker_stack(self, models: list[Model], apis: tuple[str, ...] = ("inference",)) -> dict:
        """The run config a Ray worker builds its own stack from: the inference providers that
        serve `models`, and those models declared (a worker holds one model client, or loads an
        inline model once). Its state lives in a private folder of the worker's."""
        from llama_workbench.core.datatypes import Api

        wanted = {m.provider_id for m in models}
        models_dir = str(self._run_config.resolved_data_dir() / "models")
        entries = []
        for entry in self._run_config.providers.get(Api.inference, []):
            if entry.provider_id not in wanted:
                continue
            data = entry.model_dump(mode="json")
            if entry.provider_type == "inline::transformers" and not data["config"].get(
                "cache_dir"
            ):  # the driver's converted models, where the worker can read them
                data["config"]["cache_dir"] = models_dir
            entries.append(data)
        declared = [
            {
                "model_id": m.identifier,
                "provider_id": m.provider_id,
                "provider_model_id": m.provider_resource_id,
                "model_type": m.model_type.value,
                "metadata": m.metadata,
            }
            for m in models
        ]
        return {
            "version": 2,
            "distro_name": "ray-worker",
            "apis": list(apis),
            "providers": {"inference": entries},
            "registered_resources": {"models": declared},
        }


def build_engine(run_config: StackConfig) -> ExecutionEngine:
    """The stack's engine; `engine: ray` without Ray installed is a MissingDependencyError."""
    settings = run_config.execution
    if settings is not None and settings.is_ray and importlib.util.find_spec("ray") is None:
        raise MissingDependencyError("ray", "ray", needed_by="execution.engine: ray")
    return ExecutionEngine(settings, run_config)


def _probe(address: str, unreachable: Any) -> None:
    """A quick TCP connect to host:port addresses (Ray's own client retries for a long time)."""
    if address in ("auto", "local"):
        return
    parts = urlsplit(address if "://" in address else f"gcs://{address}")
    host, port = parts.hostname, parts.port
    if host is None or port is None:
        raise unreachable(f"'{address}' is not host:port, ray://host:port, auto or local")
    try:
        with socket.create_connection((host, port), timeout=_PROBE_S):
            return
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise unreachable(
            f"a TCP connection to {host}:{port} failed ({reason}) within {_PROBE_S:g} s"
        ) from None


def _auth_hint(address: str) -> str:
    """Why a reachable cluster may refuse us: `ray start` turns on Ray's token authentication,
    and a driver given host:port sends the token only in token mode (with `auto` Ray finds it)."""
    if address in ("auto", "local") or os.environ.get("RAY_AUTH_MODE", "").lower() == "token":
        return ""
    return (
        " (if the cluster uses token authentication, which `ray start` turns on: set "
        "RAY_AUTH_MODE=token in this process's environment, with the cluster's token in "
        "~/.ray/auth_token or RAY_AUTH_TOKEN)"
    )


def disconnect() -> None:
    """Leave the Ray cluster this process reached (the next job connects again)."""
    with _Connection.lock:
        if _Connection.address is None:
            return
        _Connection.address, _Connection.pending = None, None
        released = _Connection.released
    import ray

    ray.shutdown()
    released.set()


def stack_engine_info(stack: Any) -> ClusterInfo:
    """The engine of a (sync) Stack, for `%llama status` and the StackInspector."""
    from llama_workbench.core.bridge import run_sync

    return run_sync(build_engine(stack.config).info(), stack.loop)
