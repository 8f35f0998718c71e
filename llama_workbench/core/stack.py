"""`Stack`: a run config assembled into live APIs, usable from sync code, async code and any thread."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import threading
import weakref
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from llama_workbench.core import gc_tuning
from llama_workbench.core.admin import AdminImpl
from llama_workbench.core.bridge import run_async, run_sync, running_loop, shared_loop
from llama_workbench.core.config import StackConfig, load_config
from llama_workbench.core.datatypes import Api
from llama_workbench.core.errors import NotFoundError
from llama_workbench.core.resolver import PlannedProvider, StackBuild, StackPlan, plan_stack
from llama_workbench.facade.aio._apis import AsyncStackApis
from llama_workbench.facade.sync._apis import StackApis
from llama_workbench.providers.registry import ProviderRegistry, default_registry

if TYPE_CHECKING:
    from llama_workbench.facade._runtime import Face
    from llama_workbench.storage.manager import StorageManager
    from llama_workbench.tracking.tracing import StackTracer


Source = str | os.PathLike[str] | Mapping[str, Any]
F = TypeVar("F", bound="Face")


class Stack(StackApis):
    """A run config assembled into live APIs: `stack.models.list()`, `stack.inference.chat_completion(...)`.

    Build one with `Stack.from_distribution("starter")` or `Stack.from_config("run.yaml" | dict)`.
    Calls are synchronous on the stack itself and asynchronous on `stack.aio`; both work in a
    notebook (whose event loop is already running), in scripts and from many threads at once.
    Streaming calls return an iterator of chunks (an async iterator on `stack.aio`). Each API
    is a typed face of its Protocol (llama_workbench/facade/): its methods take the request's
    fields as keyword arguments, validated into the request model.
    """

    def __init__(
        self,
        plan: StackPlan,
        build: StackBuild,
        storage: StorageManager,
        loop: asyncio.AbstractEventLoop,
        tracer: StackTracer | None = None,
    ) -> None:
        self._plan = plan
        self._build = build
        self._impls = build.impls  # grows as deferred APIs are built on first use
        self._instances = build.instances
        self._storage = storage
        self._loop = loop
        self._tracer = tracer  # None when telemetry is off: no proxy anywhere
        self._closed = False
        self._faces: dict[Api, Face] = {}
        self.aio = AsyncStackView(self)

    # -- construction

    @classmethod
    def from_config(
        cls,
        source: Source,
        *,
        env: Mapping[str, str] | None = None,
        registry: ProviderRegistry | None = None,
    ) -> Stack:
        """Build from a run config (a YAML path or a dict); `${env.X}` reads `env` or os.environ."""
        with gc_tuning.paused():  # a build allocates long-lived objects only (see gc_tuning)
            plan = _plan(source, env, registry)
            loop = shared_loop()
            # Built from sync code (a notebook, a script): the APIs nothing else needs at build
            # (responses, eval, scoring, post-training...) are built on first use.
            return run_sync(cls._assemble(plan, loop, defer=True), loop)

    @classmethod
    def from_distribution(
        cls, name: str = "starter", *, env: Mapping[str, str] | None = None
    ) -> Stack:
        """Build from a bundled distribution (`llama-workbench stack list` shows them)."""
        from llama_workbench.distributions import distribution_path

        return cls.from_config(distribution_path(name), env=env)

    @classmethod
    async def create(
        cls,
        source: Source,
        *,
        env: Mapping[str, str] | None = None,
        registry: ProviderRegistry | None = None,
    ) -> Stack:
        """Build on the running event loop (a server's); sync calls then come from other threads.

        Every API is built before this returns (a server serves them all at once)."""
        plan = _plan(source, env, registry)
        return await cls._assemble(plan, asyncio.get_running_loop(), defer=False)

    @classmethod
    async def _assemble(
        cls, plan: StackPlan, loop: asyncio.AbstractEventLoop, *, defer: bool
    ) -> Stack:
        from llama_workbench.storage.manager import StorageManager

        tracer = _tracer(plan)  # before storage: a missing dependency leaves nothing open
        data_dir = plan.config.resolved_data_dir()
        storage = StorageManager(plan.config.storage, data_dir)
        try:
            # Checks the config's `connectors:` first; a ConfigError closes storage.
            build = StackBuild(plan, storage, tracer.wrap if tracer else None)
            await build.build(defer=defer)
        except BaseException:
            await storage.close()
            if tracer is not None:
                tracer.shutdown()
            raise
        impls, instances = build.impls, build.instances
        impls[Api.providers] = _ProvidersImpl(plan, instances)
        impls[Api.inspect] = _InspectImpl()
        impls[Api.admin] = AdminImpl(impls[Api.providers], impls[Api.inspect])
        if tracer is not None:
            from llama_workbench.tracking.telemetry_api import TelemetryImpl

            impls[Api.telemetry] = TelemetryImpl(tracer)
        stack = cls(plan, build, storage, loop, tracer)
        _track(stack)
        return stack

    # -- what the stack is

    @property
    def config(self) -> StackConfig:
        return self._plan.config

    @property
    def data_dir(self) -> Path:
        return self._plan.config.resolved_data_dir()

    @property
    def storage(self) -> StorageManager:
        """The stack's storage backends (the server keeps quotas and owners' attributes there)."""
        return self._storage

    @property
    def compat_notes(self) -> list[str]:
        """What of the run config (Llama Stack's keys) is not served, one line each."""
        return [str(n) for n in self._plan.config.compat_notes]

    @property
    def apis(self) -> list[Api]:
        """The APIs this stack serves (those built on first use included)."""
        return sorted({*self._impls, *self._build.pending}, key=lambda a: a.value)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    @property
    def provider_types(self) -> dict[str, list[str]]:
        """Provider types of each routed API, e.g. {"inference": ["inline::transformers", ...]}."""
        return {
            api.value: sorted({p.spec.provider_type for p in planned})
            for api, planned in self._plan.providers.items()
        }

    def impl(self, api: Api | str) -> Any:
        """The async implementation behind an API (what the server and the magics call).

        An API built on first use is built now; asked for on the stack's own event loop (where
        nothing may block), it comes as a stand-in whose first call builds it.
        """
        try:
            key = Api(api)
        except ValueError:
            key = None
        if key is not None and key in self._impls:
            return self._impls[key]
        if key is None or key not in self._build.pending:
            raise NotFoundError("API", str(api), [a.value for a in self.apis]) from None
        if running_loop() is self._loop:
            return _DeferredImpl(self._build, key)
        return run_sync(self._build.ensure(key), self._loop)

    def _face(self, api: Api, face: type[F]) -> F:
        return _cached_face(self, self._faces, api, face)

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(_missing(self, name))

    def __dir__(self) -> list[str]:
        return _api_dir(self, super().__dir__())

    def __repr__(self) -> str:
        return (
            f"Stack(distro={self.config.distro_name!r}, apis={[a.value for a in self.apis]}, "
            f"data_dir='{self.data_dir}')"
        )

    # -- the SDKs in-process (core/inprocess_clients.py): this stack's REST routes, no port

    def openai(self, **options: Any) -> Any:
        """An `openai.OpenAI` that this stack answers in-process (its REST routes, no server).

        `client.chat.completions.create(...)`, `client.responses.create(...)`, files, vector
        stores..., streaming and the SDK's errors as over HTTP. `options` go to `openai.OpenAI`
        (timeout, max_retries, default_headers).
        """
        from llama_workbench.core.inprocess_clients import openai_client

        return openai_client(self, **options)

    def aopenai(self, **options: Any) -> Any:
        """An `openai.AsyncOpenAI` that this stack answers in-process (see `openai()`)."""
        from llama_workbench.core.inprocess_clients import async_openai_client

        return async_openai_client(self, **options)

    def llama_stack_client(self, **options: Any) -> Any:
        """A `llama_stack_client.LlamaStackClient` answered in-process, as Llama Stack's
        `LlamaStackAsLibraryClient` is (needs `llama-workbench[clients]`, Python >= 3.12)."""
        from llama_workbench.core.inprocess_clients import llama_stack_client

        return llama_stack_client(self, **options)

    def allama_stack_client(self, **options: Any) -> Any:
        """An `AsyncLlamaStackClient` answered in-process (see `llama_stack_client()`)."""
        from llama_workbench.core.inprocess_clients import async_llama_stack_client

        return async_llama_stack_client(self, **options)

    # -- lifecycle

    def close(self) -> None:
        """Shut providers down and close storage; safe to call twice."""
        if not self._closed:
            run_sync(self.aclose(), self._loop)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._build.closed = True
        # Routers first (they flush what they write behind), then the providers under them.
        for impl in [*self._impls.values(), *self._instances.values()]:
            shutdown = getattr(impl, "shutdown", None)
            if shutdown is not None:
                await shutdown()
        await self._storage.close()
        if self._tracer is not None:
            await asyncio.to_thread(self._tracer.shutdown)  # writes the spans still queued

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Stack:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await run_async(self.aclose(), self._loop)


def _tracer(plan: StackPlan) -> StackTracer | None:
    if not plan.config.telemetry.enabled:
        return None
    from llama_workbench.tracking import stack_tracer

    return stack_tracer(
        plan.config, {a: [p.provider_id for p in ps] for a, ps in plan.providers.items()}
    )


def _plan(
    source: Source, env: Mapping[str, str] | None, registry: ProviderRegistry | None
) -> StackPlan:
    """Load and check a config: every config error surfaces here, before anything is built."""
    return plan_stack(load_config(source, env), registry or default_registry())


_live: weakref.WeakSet[Stack] = weakref.WeakSet()
_exit_hook_installed = False


def _track(stack: Stack) -> None:
    """Close stacks left open at interpreter exit, before Python joins worker threads.

    Storage drivers run non-daemon threads (aiosqlite): an unclosed stack would otherwise
    keep `python -c "..."` from exiting.
    """
    global _exit_hook_installed
    _live.add(stack)
    if not _exit_hook_installed:
        _exit_hook_installed = True
        threading._register_atexit(_close_all)  # type: ignore[attr-defined]


def _close_all() -> None:
    for stack in list(_live):
        if stack._closed or not stack.loop.is_running():
            continue
        if stack.loop is shared_loop():
            with contextlib.suppress(Exception):
                stack.close()


class AsyncStackView(AsyncStackApis):
    """`stack.aio`: the same APIs as coroutines, e.g. `await stack.aio.models.list()`."""

    def __init__(self, stack: Stack) -> None:
        self._stack = stack
        self._faces: dict[Api, Face] = {}

    def _face(self, api: Api, face: type[F]) -> F:
        return _cached_face(self._stack, self._faces, api, face)

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(_missing(self._stack, name))

    def __dir__(self) -> list[str]:
        return _api_dir(self._stack, super().__dir__())


def _cached_face(stack: Stack, faces: dict[Api, Face], api: Api, face: type[F]) -> F:
    """The face of `api` (made once per stack), or AttributeError when the API is not enabled."""
    found = faces.get(api)
    if not isinstance(found, face):
        if api not in stack.apis:
            raise AttributeError(_missing(stack, api.value))
        found = faces[api] = face(api.value, stack.impl(api), stack.loop)
    return found


def _missing(stack: Stack, name: str) -> str:
    """Why `stack.<name>` is not there (a property that raises AttributeError lands here too)."""
    enabled = ", ".join(a.value for a in stack.apis)
    if name.startswith("_"):
        return name
    if name in Api.__members__:
        return (
            f"API '{name}' is not enabled in this stack (distro '{stack.config.distro_name}'). "
            f"Enabled: {enabled}"
        )
    return f"Stack has no attribute '{name}'. APIs: {enabled}"


def _api_dir(stack: Stack, names: Iterable[str]) -> list[str]:
    """Attributes for Tab completion: the APIs this stack serves, not every API there is."""
    disabled = {a.value for a in Api} - {a.value for a in stack.apis}
    return [n for n in names if n not in disabled]


class _DeferredImpl:
    """An API not built yet, asked for on the stack's own loop: its first call builds it there
    (on that loop, under the build's lock) and every call after goes straight to it."""

    def __init__(self, build: StackBuild, api: Api) -> None:
        self._build, self._api = build, api

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        built = self._build.impls.get(self._api)
        if built is not None:
            return getattr(built, name)
        build, api = self._build, self._api

        async def call(*args: Any, **kwargs: Any) -> Any:
            result = getattr(await build.ensure(api), name)(*args, **kwargs)
            return await result if inspect.isawaitable(result) else result

        return call

    def __repr__(self) -> str:
        return f"<{self._api.value}: built on first use>"


class _ProvidersImpl:
    """The Providers API over the plan (configs are dumped with secrets masked)."""

    def __init__(self, plan: StackPlan, instances: dict[str, Any]) -> None:
        self._providers: list[PlannedProvider] = [p for ps in plan.providers.values() for p in ps]
        self._instances = instances

    async def list(self) -> list[Any]:
        return [await self._info(p) for p in self._providers]

    async def retrieve(self, provider_id: str) -> Any:
        for p in self._providers:
            if p.provider_id == provider_id:
                return await self._info(p)
        raise NotFoundError("Provider", provider_id, [p.provider_id for p in self._providers])

    async def _info(self, p: PlannedProvider) -> Any:
        from llama_workbench.apis.providers.models import ProviderInfo
        from llama_workbench.core.redact import redact

        # Secrets never leave: SecretStr fields, credential-like keys (extra_headers'
        # Authorization...), passwords in URLs.
        info = ProviderInfo(
            api=p.api.value,
            provider_id=p.provider_id,
            provider_type=p.spec.provider_type,
            config=redact(p.config.model_dump(mode="json")),
        )
        # A provider may report more than "OK" (as Llama Stack's providers' `health()` do): the
        # inline model's engine and precision, for one.
        health = getattr(self._instances.get(f"{p.api.value}/{p.provider_id}"), "health", None)
        if health is not None:
            info.health = dict(await health())
        return info


class _InspectImpl:
    async def health(self) -> Any:
        from llama_workbench.apis.inspect.models import HealthInfo

        return HealthInfo(status="OK")

    async def version(self) -> Any:
        from llama_workbench.apis.inspect.models import VersionInfo
        from llama_workbench.version import __version__

        return VersionInfo(version=__version__)
