"""Resolver: validate a run config against the registry -> order by dependencies -> construct -> check."""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ValidationError

from llama_workbench.core.config import StackConfig, validation_problems
from llama_workbench.core.datatypes import Api, ProviderDeps, ProviderSpec
from llama_workbench.core.errors import ConfigError, ResolverError
from llama_workbench.core.prompts import build_prompts
from llama_workbench.core.provider_compat import (
    drop_dependents,
    drop_orphan_resources,
    note_apis_left_empty,
    skip_unserved_provider,
)
from llama_workbench.providers.registry import ProviderRegistry, load_config_class, load_factory

if TYPE_CHECKING:
    from llama_workbench.storage.manager import StorageManager

Builder = Callable[["BuildContext"], Awaitable[dict[Api, Any]]]


@dataclass(frozen=True)
class ApiDefinition:
    """How an API is assembled: its Protocols ("module:Name") and how its router is built."""

    api: Api
    protocol: str  # what callers use: `stack.<api>`, the routes
    provider_protocol: str  # what its providers implement
    build: Builder
    table_api: Api | None = None  # the API built with it (models for inference, conversations)
    table_protocol: str | None = None
    requires: tuple[Api, ...] = ()  # APIs its router calls (built first; must be enabled)
    uses: tuple[Api, ...] = ()  # APIs its router calls when they are enabled


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


@dataclass
class BuildContext:
    """What an API's builder gets: its constructed providers and the stack's shared parts."""

    api: Api
    config: StackConfig
    providers: dict[str, Any]
    storage: StorageManager
    apis: dict[Api, Any] = field(default_factory=dict)  # the APIs built before this one


async def _build_inference(ctx: BuildContext) -> dict[Api, Any]:
    from llama_workbench.core.completions_store import CompletionsStore
    from llama_workbench.core.routing import InferenceRouter, ModelsRoutingTable
    from llama_workbench.storage.config import InferenceStoreRef, SqlStoreRef

    kv = await ctx.storage.kv("metadata")
    table = ModelsRoutingTable(ctx.providers, kv, ctx.config.registered_resources.models)
    await table.initialize()
    store = None
    ref = ctx.config.storage.stores.get("inference")
    if isinstance(ref, InferenceStoreRef):
        store = CompletionsStore(ctx.storage, ref, max_queue=ref.max_write_queue_size)
    elif isinstance(ref, SqlStoreRef):
        store = CompletionsStore(ctx.storage, ref)
    router = InferenceRouter(table, store, ctx.apis.get(Api.files))
    return {Api.inference: router, Api.models: table}


async def _build_single(ctx: BuildContext) -> dict[Api, Any]:
    """APIs served by their one provider as it is (files, batches, file_processors)."""
    if len(ctx.providers) > 1:
        raise ConfigError(
            f"providers.{ctx.api}: one {ctx.api} provider per stack (have {', '.join(ctx.providers)})."
        )
    return {ctx.api: next(iter(ctx.providers.values()))}


async def _build_vector_io(ctx: BuildContext) -> dict[Api, Any]:
    from llama_workbench.core.vector_stores import VectorStoresRouter
    from llama_workbench.execution.engine import build_engine

    kv = await ctx.storage.kv("metadata")
    router = VectorStoresRouter(
        ctx.providers,
        kv,
        ctx.apis[Api.inference],
        ctx.apis[Api.models],
        ctx.apis.get(Api.files),
        ctx.config.vector_stores,
        engine=build_engine(ctx.config),
    )
    await router.initialize()
    return {Api.vector_io: router}


async def _build_safety(ctx: BuildContext) -> dict[Api, Any]:
    from llama_workbench.core.safety import SafetyRouter, ShieldsRoutingTable

    kv = await ctx.storage.kv("metadata")
    table = ShieldsRoutingTable(ctx.providers, kv, ctx.config.registered_resources.shields)
    await table.initialize()
    default = ctx.config.safety.default_shield_id if ctx.config.safety else None
    return {Api.safety: SafetyRouter(table, default), Api.shields: table}


async def _build_tool_runtime(ctx: BuildContext) -> dict[Api, Any]:
    from llama_workbench.core.tool_runtime import ToolRuntimeRouter

    return {Api.tool_runtime: ToolRuntimeRouter(ctx.providers)}


async def _build_responses(ctx: BuildContext) -> dict[Api, Any]:
    if len(ctx.providers) > 1:
        raise ConfigError(
            f"providers.responses: one responses provider per stack (have {', '.join(ctx.providers)})."
        )
    provider = next(iter(ctx.providers.values()))
    # The provider keeps conversations: responses read and extend them.
    return {Api.responses: provider, Api.conversations: provider.conversations}


async def _build_datasetio(ctx: BuildContext) -> dict[Api, Any]:
    from llama_workbench.core.datasets import build_datasetio

    return await build_datasetio(ctx)


async def _build_scoring(ctx: BuildContext) -> dict[Api, Any]:
    from llama_workbench.core.scoring import build_scoring

    return await build_scoring(ctx)


async def _build_post_training(ctx: BuildContext) -> dict[Api, Any]:
    from llama_workbench.core.post_training import build_post_training

    return await build_post_training(ctx)


async def _build_eval(ctx: BuildContext) -> dict[Api, Any]:
    from llama_workbench.core.eval import build_eval

    return await build_eval(ctx)


API_DEFINITIONS: dict[Api, ApiDefinition] = {
    Api.inference: ApiDefinition(
        Api.inference,
        protocol="llama_workbench.apis.inference.api:Inference",
        provider_protocol="llama_workbench.apis.inference.api:InferenceProvider",
        build=_build_inference,
        uses=(Api.files,),  # `file` content parts in chat
        table_api=Api.models,
        table_protocol="llama_workbench.apis.models.api:Models",
    ),
    Api.files: ApiDefinition(
        Api.files,
        protocol="llama_workbench.apis.files.api:Files",
        provider_protocol="llama_workbench.apis.files.api:FilesProvider",
        build=_build_single,
    ),
    Api.vector_io: ApiDefinition(
        Api.vector_io,
        protocol="llama_workbench.apis.vector_io.api:VectorIO",
        provider_protocol="llama_workbench.apis.vector_io.api:VectorIOProvider",
        build=_build_vector_io,
        requires=(Api.inference,),
        uses=(Api.files,),
    ),
    Api.safety: ApiDefinition(
        Api.safety,
        protocol="llama_workbench.apis.safety.api:Safety",
        provider_protocol="llama_workbench.apis.safety.api:SafetyProvider",
        build=_build_safety,
        table_api=Api.shields,
        table_protocol="llama_workbench.apis.shields.api:Shields",
    ),
    Api.responses: ApiDefinition(
        Api.responses,
        protocol="llama_workbench.apis.responses.api:Responses",
        provider_protocol="llama_workbench.apis.responses.api:ResponsesProvider",
        build=_build_responses,
        table_api=Api.conversations,
        table_protocol="llama_workbench.apis.conversations.api:Conversations",
        requires=(Api.inference,),
        uses=(Api.vector_io, Api.tool_runtime, Api.safety),
    ),
    Api.tool_runtime: ApiDefinition(
        Api.tool_runtime,
        protocol="llama_workbench.apis.tool_runtime.api:ToolRuntime",
        provider_protocol="llama_workbench.apis.tool_runtime.api:ToolRuntimeProvider",
        build=_build_tool_runtime,
    ),
    Api.datasetio: ApiDefinition(
        Api.datasetio,
        protocol="llama_workbench.apis.datasetio.api:DatasetIO",
        provider_protocol="llama_workbench.apis.datasetio.api:DatasetIOProvider",
        build=_build_datasetio,
        table_api=Api.datasets,
        table_protocol="llama_workbench.apis.datasets.api:Datasets",
    ),
    Api.scoring: ApiDefinition(
        Api.scoring,
        protocol="llama_workbench.apis.scoring.api:Scoring",
        provider_protocol="llama_workbench.apis.scoring.api:ScoringProvider",
        build=_build_scoring,
        table_api=Api.scoring_functions,
        table_protocol="llama_workbench.apis.scoring_functions.api:ScoringFunctions",
        uses=(Api.datasetio,),
    ),
    Api.eval: ApiDefinition(
        Api.eval,
        protocol="llama_workbench.apis.eval.api:Eval",
        provider_protocol="llama_workbench.apis.eval.api:EvalProvider",
        build=_build_eval,
        table_api=Api.benchmarks,
        table_protocol="llama_workbench.apis.benchmarks.api:Benchmarks",
        requires=(Api.datasetio, Api.scoring, Api.inference),
        uses=(Api.responses,),
    ),
    Api.post_training: ApiDefinition(
        Api.post_training,
        protocol="llama_workbench.apis.post_training.api:PostTraining",
        provider_protocol="llama_workbench.apis.post_training.api:PostTrainingProvider",
        build=_build_post_training,
        requires=(Api.datasetio, Api.inference),
    ),
    Api.batches: ApiDefinition(
        Api.batches,
        protocol="llama_workbench.apis.batches.api:Batches",
        provider_protocol="llama_workbench.apis.batches.api:BatchesProvider",
        build=_build_single,
        requires=(Api.inference, Api.files),
        uses=(Api.responses,),
    ),
    Api.file_processors: ApiDefinition(
        Api.file_processors,
        protocol="llama_workbench.apis.file_processors.api:FileProcessors",
        provider_protocol="llama_workbench.apis.file_processors.api:FileProcessorsProvider",
        build=_build_single,
        uses=(Api.files,),
    ),
}
# Built into every stack, with no providers of their own.
BUILTIN_PROTOCOLS = {
    Api.providers: "llama_workbench.apis.providers.api:Providers",
    Api.inspect: "llama_workbench.apis.inspect.api:Inspect",
    Api.telemetry: "llama_workbench.apis.telemetry.api:Telemetry",  # with `telemetry.enabled`
    Api.prompts: "llama_workbench.apis.prompts.api:Prompts",  # a core service, in every stack
    Api.connectors: "llama_workbench.apis.connectors.api:Connectors",
    Api.admin: "llama_workbench.apis.admin.api:Admin",  # admin-only routes when auth is on
}
# APIs whose implementation is the routing table of a routed API (enabled with it).
TABLE_APIS = {d.table_api: d.api for d in API_DEFINITIONS.values() if d.table_api}


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


async def build_stack(
    plan: StackPlan, storage: StorageManager, wrap: Callable[[Api, Any], Any] | None = None
) -> tuple[dict[Api, Any], dict[str, Any]]:
    """Construct every provider and router in order; returns (impls by API, providers by id).

    `wrap` (tracing) replaces each API's implementation where it is stored: later APIs, their
    providers and the stack's callers all go through it."""
    from llama_workbench.core.connectors import ConnectorsService
    from llama_workbench.execution.engine import build_engine

    instances: dict[str, Any] = {}
    impls: dict[Api, Any] = {  # built in, before the providers: they may use them
        Api.prompts: build_prompts(storage, wrap),
        Api.connectors: ConnectorsService(plan.config.connectors, instances.values()),
    }
    data_dir = plan.config.resolved_data_dir()
    engine = build_engine(plan.config)
    for api in plan.order:
        definition = API_DEFINITIONS[api]
        protocol = _import_attr(definition.provider_protocol)
        built: dict[str, Any] = {}
        for p in plan.providers.get(api, []):
            dep_apis = (*p.spec.api_dependencies, *p.spec.optional_api_dependencies)
            deps = ProviderDeps(
                provider_id=p.provider_id,
                apis={d: impls[d] for d in dep_apis if d in impls},
                storage=storage,
                data_dir=data_dir,
                execution=engine,
            )
            impl = await load_factory(p.spec)(p.config, deps)
            check_protocol(impl, protocol, f"provider '{p.provider_id}' ({p.spec.provider_type})")
            built[p.provider_id] = impl
            instances[f"{api}/{p.provider_id}"] = impl
        context = BuildContext(api, plan.config, built, storage, dict(impls))
        for built_api, impl in (await definition.build(context)).items():
            impls[built_api] = wrap(built_api, impl) if wrap is not None else impl
    return impls, instances


def check_protocol(impl: object, protocol: type, label: str) -> None:
    """Every method of `protocol` must exist on `impl`, be async, and accept the same arguments."""
    problems = []
    for name, proto_fn in protocol_methods(protocol).items():
        fn = getattr(impl, name, None)
        if fn is None or not callable(fn):
            problems.append(f"missing method {name}()")
        elif not (inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn)):
            problems.append(f"{name}() must be 'async def'")
        elif not _accepts_same_arguments(fn, proto_fn):
            wanted = ", ".join(_unbound(proto_fn).parameters)
            have = ", ".join(inspect.signature(fn).parameters)
            problems.append(f"{name}({have}) must accept ({wanted})")
    if problems:
        raise ResolverError(
            f"{label} does not implement {protocol.__name__}: " + "; ".join(problems)
        )


@functools.cache
def protocol_methods(protocol: type) -> dict[str, Callable[..., Any]]:
    """Public methods a Protocol declares, including those of the Protocols it extends."""
    methods: dict[str, Callable[..., Any]] = {}
    for cls in reversed(protocol.__mro__):
        if cls in (object, Protocol) or not getattr(cls, "_is_protocol", False):
            continue
        for name, value in vars(cls).items():
            if not name.startswith("_") and inspect.isfunction(value):
                methods[name] = value
    return methods


def _unbound(fn: Callable[..., Any]) -> inspect.Signature:
    sig = inspect.signature(fn)
    return sig.replace(parameters=list(sig.parameters.values())[1:])


def _accepts_same_arguments(fn: Callable[..., Any], proto_fn: Callable[..., Any]) -> bool:
    params = list(_unbound(proto_fn).parameters.values())
    args = [
        object()
        for p in params
        if p.default is inspect.Parameter.empty and p.kind == p.POSITIONAL_OR_KEYWORD
    ]
    try:
        inspect.signature(fn).bind(*args)
    except TypeError:
        return False
    return True


@functools.cache
def public_protocol(api: Api) -> type:
    """The Protocol callers of `api` use (the sync and async faces are generated from it)."""
    if api in BUILTIN_PROTOCOLS:
        return _import_attr(BUILTIN_PROTOCOLS[api])
    if api in TABLE_APIS:
        protocol = API_DEFINITIONS[TABLE_APIS[api]].table_protocol
        assert protocol is not None
        return _import_attr(protocol)
    return _import_attr(API_DEFINITIONS[api].protocol)


def _import_attr(path: str) -> Any:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)
