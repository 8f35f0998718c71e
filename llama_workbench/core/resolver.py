"""Resolver: validate a run config against the registry -> order by dependencies -> construct -> check."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from llama_workbench.core.api_table import (
    API_DEFINITIONS,
    TABLE_APIS,
    import_attr,
    load_builder,
)
from llama_workbench.core.build_context import BuildContext
from llama_workbench.core.config import StackConfig, validation_problems
from llama_workbench.core.datatypes import Api, ProviderDeps, ProviderSpec
from llama_workbench.core.errors import ConfigError, LlamaWorkbenchError, ResolverError
from llama_workbench.core.prompts import build_prompts
from llama_workbench.core.protocols import check_protocol
from llama_workbench.core.provider_compat import (
    drop_dependents,
    drop_orphan_resources,
    note_apis_left_empty,
    skip_unserved_provider,
)
from llama_workbench.providers.registry import ProviderRegistry, load_config_class, load_factory

if TYPE_CHECKING:
    from llama_workbench.storage.manager import StorageManager


@dataclass(frozen=True)
class PlannedProvider:
    api: Api
    provider_id: str
    spec: ProviderSpec
    config: BaseModel


@dataclass
class StackPlan:
    """A validated config: the providers to build, in dependency order."""

    config: StackConfig
    order: list[Api]
    providers: dict[Api, list[PlannedProvider]] = field(default_factory=dict)


def enabled_apis(config: StackConfig) -> list[Api]:
    """The routed APIs a config enables: those listed in `apis`, else those with providers."""
    return list(dict.fromkeys(config.apis or list(config.providers)))


def plan_stack(config: StackConfig, registry: ProviderRegistry) -> StackPlan:
    """Check everything that can be checked without building anything; raise one ConfigError."""
    problems: list[str] = []
    apis: list[Api] = [a for a in enabled_apis(config) if a not in TABLE_APIS and a != Api.prompts]
    for api in apis:
        if api is Api.telemetry:  # built in: the top-level `telemetry:` section turns it on
            if not config.telemetry.enabled:
                problems.append("  apis: 'telemetry' needs `telemetry: {enabled: true}`")
        elif api not in API_DEFINITIONS:
            problems.append(
                f"  apis: '{api}' is not available in this version of llama_workbench "
                f"(available: {', '.join(sorted(a.value for a in API_DEFINITIONS))})"
            )
        elif api not in config.providers:  # an empty list: its providers are switched off
            problems.append(f"  providers.{api}: API '{api}' is enabled but has no providers")
    plan = StackPlan(config=config, order=[])
    for api, entries in config.providers.items():
        for index, entry in enumerate(entries):
            if skip_unserved_provider(config, registry, api, index):
                continue
            planned = _plan_provider(
                config, api, index, entry.provider_type, entry.config, registry, problems
            )
            if planned is not None:
                plan.providers.setdefault(api, []).append(planned)
    lost = note_apis_left_empty(config, plan.providers)
    drop_dependents(
        config, plan.providers, lost, {a: d.requires for a, d in API_DEFINITIONS.items()}
    )
    drop_orphan_resources(config, plan.providers)
    _check_dependencies(plan, problems)
    _check_resources(config, problems)
    if problems:
        count = len(problems)
        raise ConfigError(
            "\n".join(
                [f"Invalid run config ({count} problem{'s' if count > 1 else ''}):", *problems]
            )
        )
    plan.order = _dependency_order(plan)
    return plan


def _plan_provider(
    config: StackConfig,
    api: Api,
    index: int,
    provider_type: str,
    raw: dict[str, Any],
    registry: ProviderRegistry,
    problems: list[str],
) -> PlannedProvider | None:
    loc = ("providers", api.value, index)
    try:
        spec = registry.get(api, provider_type)
        config_cls = load_config_class(spec)
    except ConfigError as exc:
        problems.append(
            f"  {config.where((*loc, 'provider_type'))}: providers.{api}[{index}].provider_type: {exc.message}"
        )
        return None
    try:
        provider_config = config_cls.model_validate(raw)
    except ValidationError as exc:
        problems.extend(
            validation_problems(exc, config._origin, config._lines, prefix=(*loc, "config"))
        )
        return None
    entry = config.providers[api][index]
    return PlannedProvider(
        api=api, provider_id=entry.provider_id, spec=spec, config=provider_config
    )


def _check_dependencies(plan: StackPlan, problems: list[str]) -> None:
    for api in plan.providers:
        definition = API_DEFINITIONS.get(api)
        for dep in definition.requires if definition else ():
            if not plan.providers.get(dep):
                problems.append(
                    f"  providers.{api}: the {api} API needs the '{dep}' API; add a provider for it"
                )
    for api, planned in plan.providers.items():
        for p in planned:
            for dep in p.spec.api_dependencies:
                target = TABLE_APIS.get(dep, dep)
                if not plan.providers.get(target):
                    problems.append(
                        f"  providers.{api}: provider '{p.provider_id}' ({p.spec.provider_type}) "
                        f"needs the '{dep}' API, which this config does not enable; add a provider for it"
                    )


def _check_resources(config: StackConfig, problems: list[str]) -> None:
    inference_ids = {p.provider_id for p in config.providers.get(Api.inference, [])}
    for i, model in enumerate(config.registered_resources.models):
        if model.provider_id is not None and model.provider_id not in inference_ids:
            problems.append(
                f"  registered_resources.models[{i}].provider_id: '{model.provider_id}' is not an "
                f"inference provider of this config (have: {', '.join(sorted(inference_ids)) or 'none'})"
            )
    resources = config.registered_resources
    for kind in ("vector_dbs", "vector_stores"):
        if getattr(resources, kind):
            problems.append(
                f"  registered_resources.{kind}: vector stores are created through the API "
                "(stack.vector_io.create_vector_store or POST /v1/vector_stores) and persist in "
                "the stack's storage; leave the list empty"
            )
    safety_ids = {p.provider_id for p in config.providers.get(Api.safety, [])}
    for i, shield in enumerate(config.registered_resources.shields):
        if shield.provider_id is not None and shield.provider_id not in safety_ids:
            problems.append(
                f"  registered_resources.shields[{i}].provider_id: '{shield.provider_id}' is not a "
                f"safety provider of this config (have: {', '.join(sorted(safety_ids)) or 'none'})"
            )
    for kind in ("tool_groups",):
        if getattr(resources, kind):
            problems.append(
                f"  registered_resources.{kind}: this version of llama_workbench has no API for "
                f"{kind} yet; leave the list empty"
            )


def _dependency_order(plan: StackPlan) -> list[Api]:
    """APIs in construction order; a cycle is an error that names it."""
    graph: dict[Api, set[Api]] = {}
    for api, planned in plan.providers.items():
        deps = graph.setdefault(api, set())
        definition = API_DEFINITIONS.get(api)
        if definition is not None:
            deps.update(d for d in (*definition.requires, *definition.uses) if d in plan.providers)
        for p in planned:
            for dep in (*p.spec.api_dependencies, *p.spec.optional_api_dependencies):
                target = TABLE_APIS.get(dep, dep)
                if target in plan.providers:
                    deps.add(target)
    order: list[Api] = []
    state: dict[Api, str] = {}

    def visit(api: Api, path: list[Api]) -> None:
        if state.get(api) == "done":
            return
        if state.get(api) == "visiting":
            cycle = [*path[path.index(api) :], api]
            raise ResolverError("Provider dependency cycle: " + " -> ".join(a.value for a in cycle))
        state[api] = "visiting"
        for dep in sorted(graph.get(api, ()), key=lambda a: a.value):
            visit(dep, [*path, api])
        state[api] = "done"
        order.append(api)

    for api in sorted(graph, key=lambda a: a.value):
        visit(api, [])
    return order


# APIs that nothing else in a stack calls while it is built, and that take the longest to build
# (their routers import most of the API models): a stack built from sync code (a notebook, a
# script) builds them, with their providers, on first use. A server builds everything up front.
DEFERRABLE = frozenset(
    {Api.responses, Api.batches, Api.datasetio, Api.scoring, Api.eval, Api.post_training}
)


class StackBuild:
    """The providers and routers of a plan: built in dependency order, all at once or with the
    `DEFERRABLE` APIs that no other API needs left for their first use (`ensure`).

    `wrap` (tracing) replaces each API's implementation where it is stored: later APIs, their
    providers and the stack's callers all go through it. Runs on the stack's event loop only.
    """

    def __init__(
        self, plan: StackPlan, storage: StorageManager, wrap: Callable[[Api, Any], Any] | None
    ) -> None:
        from llama_workbench.core.connectors import ConnectorsService
        from llama_workbench.execution.engine import build_engine
        from llama_workbench.tracking.mlflow_runs import MlflowRunTracker

        self._plan, self._storage, self._wrap = plan, storage, wrap
        self.instances: dict[str, Any] = {}
        self.impls: dict[Api, Any] = {  # built in, before the providers: they may use them
            Api.prompts: build_prompts(storage, wrap),
            Api.connectors: ConnectorsService(plan.config.connectors, self.instances.values()),
        }
        self._data_dir = plan.config.resolved_data_dir()
        self._engine = build_engine(plan.config)
        self._tracker = MlflowRunTracker()  # providers log their jobs' runs through it
        self._owner: dict[Api, Api] = {}  # an API not built yet -> the routed API that builds it
        self._lock: asyncio.Lock | None = None
        self.closed = False

    @property
    def pending(self) -> frozenset[Api]:
        """The APIs (routed and their tables) that are served but not built yet."""
        return frozenset(self._owner)

    async def build(self, *, defer: bool) -> None:
        """Build every API of the plan, except (with `defer`) those left for their first use."""
        deferred = self._deferrable() if defer else set()
        for api in self._plan.order:
            if api in deferred:
                self._owner[api] = api
                table = API_DEFINITIONS[api].table_api
                if table is not None:
                    self._owner[table] = api
            else:
                await self._build_api(api)

    async def ensure(self, api: Api) -> Any:
        """The implementation of `api`, building it (and the deferred APIs it needs) first."""
        if api in self._owner:
            if self._lock is None:
                self._lock = asyncio.Lock()
            async with self._lock:
                if self.closed:
                    raise LlamaWorkbenchError("This stack is closed; build a new one.")
                owner = self._owner.get(api)
                if owner is not None:
                    needed = self._closure({owner}) & set(self._owner.values())
                    for routed in [a for a in self._plan.order if a in needed]:
                        await self._build_api(routed)
                        self._owner = {k: v for k, v in self._owner.items() if v != routed}
        return self.impls[api]

    def _needs(self, api: Api) -> set[Api]:
        """The routed APIs `api`'s router and providers may use (tables stand for their API)."""
        definition = API_DEFINITIONS[api]
        used = {*definition.requires, *definition.uses}
        for p in self._plan.providers.get(api, []):
            used |= {*p.spec.api_dependencies, *p.spec.optional_api_dependencies}
        tables = {d.table_api: a for a, d in API_DEFINITIONS.items() if d.table_api is not None}
        return {tables.get(u, u) for u in used} - {api}

    def _closure(self, apis: set[Api]) -> set[Api]:
        seen: set[Api] = set()
        todo = list(apis)
        while todo:
            api = todo.pop()
            if api not in seen and api in API_DEFINITIONS:
                seen.add(api)
                todo.extend(self._needs(api))
        return seen

    def _deferrable(self) -> set[Api]:
        """DEFERRABLE APIs of the plan that no API built up front needs, directly or not, and
        whose resources the run config doesn't declare (those are checked at build, as every
        config error is)."""
        declared = self._plan.config.registered_resources
        checked_at_build = {
            Api.datasetio: declared.datasets,
            Api.scoring: declared.scoring_fns,
            Api.eval: declared.benchmarks,
        }
        deferred = {a for a in DEFERRABLE & set(self._plan.order) if not checked_at_build.get(a)}
        while True:
            eager = set(self._plan.order) - deferred
            needed = set().union(*(self._needs(a) for a in eager)) if eager else set()
            if not needed & deferred:
                return deferred
            deferred -= needed

    async def _build_api(self, api: Api) -> None:
        plan, impls = self._plan, self.impls
        definition = API_DEFINITIONS[api]
        protocol = import_attr(definition.provider_protocol)
        built: dict[str, Any] = {}
        try:
            for p in plan.providers.get(api, []):
                dep_apis = (*p.spec.api_dependencies, *p.spec.optional_api_dependencies)
                deps = ProviderDeps(
                    provider_id=p.provider_id,
                    apis={d: impls[d] for d in dep_apis if d in impls},
                    storage=self._storage,
                    data_dir=self._data_dir,
                    execution=self._engine,
                    tracker=self._tracker,
                )
                impl = await load_factory(p.spec)(p.config, deps)
                built[p.provider_id] = self.instances[f"{api}/{p.provider_id}"] = impl
                check_protocol(
                    impl, protocol, f"provider '{p.provider_id}' ({p.spec.provider_type})"
                )
            context = BuildContext(api, plan.config, built, self._storage, dict(impls))
            routers = await load_builder(definition)(context)
        except BaseException:
            # Built on first use: a failed build leaves nothing running, and the next use retries.
            for provider_id, impl in built.items():
                del self.instances[f"{api}/{provider_id}"]
                shutdown = getattr(impl, "shutdown", None)
                if shutdown is not None:
                    with contextlib.suppress(Exception):
                        await shutdown()
            raise
        for built_api, impl in routers.items():
            impls[built_api] = self._wrap(built_api, impl) if self._wrap is not None else impl
