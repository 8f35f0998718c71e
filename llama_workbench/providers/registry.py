"""Every provider the package knows, plus third-party ones from the `llama_workbench.providers` entry points."""

from __future__ import annotations

import builtins
import importlib
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable
from importlib.metadata import entry_points
from typing import Any

from pydantic import BaseModel

from llama_workbench.core.datatypes import Api, ProviderDeps, ProviderSpec
from llama_workbench.core.errors import ConfigError, MissingDependencyError
from llama_workbench.providers.llama_stack_names import ALIASES

ENTRY_POINT_GROUP = "llama_workbench.providers"

logger = logging.getLogger(__name__)

Factory = Callable[[Any, ProviderDeps], Awaitable[Any]]


def _builtin_specs() -> builtins.list[ProviderSpec]:
    from llama_workbench.providers.specs import builtin_specs

    return builtin_specs()


class ProviderRegistry:
    """Looks up ProviderSpecs by (api, provider_type); imports provider code only on demand."""

    def __init__(self, specs: Iterable[ProviderSpec], *, load_entry_points: bool = True) -> None:
        self._specs: dict[tuple[Api, str], ProviderSpec] = {}
        for spec in specs:
            self.add(spec)
        self._entry_points_pending = load_entry_points
        self._lock = threading.Lock()

    @classmethod
    def default(cls) -> ProviderRegistry:
        """The built-in providers plus any installed through the entry-point group."""
        return cls(_builtin_specs())

    def add(self, spec: ProviderSpec) -> None:
        if not isinstance(spec, ProviderSpec):
            raise ConfigError(f"Not a ProviderSpec: {spec!r}")
        self._specs[(Api(spec.api), spec.provider_type)] = spec

    def get(self, api: Api, provider_type: str) -> ProviderSpec:
        """The spec for `provider_type` (or Llama Stack's name of it) in `api`; the error lists
        the known types of that API."""
        if (api, provider_type) not in self._specs and (api, provider_type) in ALIASES:
            provider_type = ALIASES[(api, provider_type)]
        spec = self._specs.get((api, provider_type))
        if spec is None:
            self._load_entry_points()
            spec = self._specs.get((api, provider_type))
        if spec is None:
            known = sorted(t for (a, t) in self._specs if a == api)
            where = [a.value for (a, t) in self._specs if t == provider_type]
            hint = f" ('{provider_type}' is a provider of {', '.join(where)})" if where else ""
            raise ConfigError(
                f"Unknown provider type '{provider_type}' for API '{api}'{hint}. "
                f"Known: {', '.join(known) or 'none'}. Third-party providers register through "
                f"the '{ENTRY_POINT_GROUP}' entry-point group."
            )
        return spec

    def list(self, api: Api | None = None) -> builtins.list[ProviderSpec]:
        """All specs (of one API), sorted by API then type."""
        self._load_entry_points()
        specs = [s for (a, _), s in self._specs.items() if api is None or a == api]
        return sorted(specs, key=lambda s: (s.api.value, s.provider_type))

    def apis(self) -> builtins.list[Api]:
        """APIs that have at least one provider."""
        self._load_entry_points()
        return sorted({a for (a, _) in self._specs}, key=lambda a: a.value)

    def _load_entry_points(self) -> None:
        if not self._entry_points_pending:
            return
        with self._lock:
            if not self._entry_points_pending:
                return
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                for spec in _specs_from_entry_point(ep):
                    self.add(spec)
            self._entry_points_pending = False


def _specs_from_entry_point(ep: Any) -> builtins.list[ProviderSpec]:
    """An entry point names a ProviderSpec, a list of them, or a function returning either."""
    try:
        obj = ep.load()
        if callable(obj) and not isinstance(obj, ProviderSpec):
            obj = obj()
    except Exception as exc:
        raise ConfigError(
            f"The provider entry point '{ep.name} = {ep.value}' failed to load: {exc}"
        ) from exc
    specs = [obj] if isinstance(obj, ProviderSpec) else list(obj)
    for spec in specs:
        if not isinstance(spec, ProviderSpec):
            raise ConfigError(
                f"The provider entry point '{ep.name}' gave {spec!r}, not a ProviderSpec"
            )
    return [_with_source(s, f"entry point {ep.name}") for s in specs]


def _with_source(spec: ProviderSpec, source: str) -> ProviderSpec:
    from dataclasses import replace

    return replace(spec, source=source)


def _import(path: str, spec: ProviderSpec) -> Any:
    try:
        return importlib.import_module(path)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing and not missing.startswith("llama_workbench") and not path.startswith(missing):
            raise MissingDependencyError(
                missing.split(".")[0], spec.pip_extra, needed_by=spec.provider_type
            ) from exc
        raise ConfigError(f"Provider '{spec.provider_type}': module '{path}' not found") from exc


def load_config_class(spec: ProviderSpec) -> type[BaseModel]:
    """Import the provider's pydantic config class."""
    module_name, _, attr = spec.config_class.partition(":")
    cls = getattr(_import(module_name, spec), attr, None)
    if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
        raise ConfigError(
            f"Provider '{spec.provider_type}': '{spec.config_class}' is not a pydantic model"
        )
    return cls


def load_factory(spec: ProviderSpec) -> Factory:
    """Import the provider's `async create(config, deps)`."""
    factory = getattr(_import(spec.module, spec), "create", None)
    if not callable(factory):
        raise ConfigError(
            f"Provider '{spec.provider_type}': module '{spec.module}' has no create()"
        )
    return factory


_default: ProviderRegistry | None = None


def default_registry() -> ProviderRegistry:
    """The process-wide registry (built-ins + entry points), created on first use."""
    global _default
    if _default is None:
        _default = ProviderRegistry.default()
    return _default
