"""Resolver: validate a run config against the registry -> order by dependencies -> construct -> check."""

from __future__ import annotations

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
from llama_workbench.core.errors import ConfigError, ResolverError
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
        protocol = import_attr(definition.provider_protocol)
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
        for built_api, impl in (await load_builder(definition)(context)).items():
            impls[built_api] = wrap(built_api, impl) if wrap is not None else impl
    return impls, instances
