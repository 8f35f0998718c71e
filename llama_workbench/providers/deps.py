"""The pip requirements of the providers a run config names (`llama-workbench stack list-deps`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from llama_workbench.core.datatypes import Api
from llama_workbench.core.errors import ConfigError
from llama_workbench.providers.llama_stack_names import is_llama_stack_type
from llama_workbench.providers.registry import ProviderRegistry, default_registry

# What the storage backends a config names need besides the package itself.
_BACKEND_PACKAGES = {"kv_postgres": ("asyncpg",), "sql_postgres": ("asyncpg",)}


def config_requirements(
    source: str | os.PathLike[str], registry: ProviderRegistry | None = None
) -> tuple[list[str], list[str]]:
    """(requirements, notes): every provider named, enabled by the environment or not.

    Provider types are literal in run configs, so the file is read without `${env.X}`
    substitution; a Llama Stack provider this version lacks is a note, any other unknown
    type an error.
    """
    registry = registry or default_registry()
    path = Path(source).expanduser()
    if not path.is_file():
        raise ConfigError(f"Run config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None
    requirements: list[str] = []
    notes: list[str] = []
    for api_name, entries in _mapping(data.get("providers")).items():
        for entry in entries if isinstance(entries, list) else ():
            provider_type = entry.get("provider_type") if isinstance(entry, dict) else None
            if isinstance(provider_type, str):
                requirements += _packages(registry, str(api_name), provider_type, notes)
    for backend in _mapping(_mapping(data.get("storage")).get("backends")).values():
        requirements += _BACKEND_PACKAGES.get(_mapping(backend).get("type", ""), ())
    return sorted(set(requirements)), notes


def _packages(
    registry: ProviderRegistry, api_name: str, provider_type: str, notes: list[str]
) -> tuple[str, ...]:
    try:
        api = Api(api_name)
    except ValueError:
        notes.append(f"providers.{api_name}: not an API of this version")
        return ()
    try:
        return registry.get(api, provider_type).pip_packages
    except ConfigError:
        if not is_llama_stack_type(api, provider_type):
            raise
        notes.append(f"{api_name}: Llama Stack's provider '{provider_type}' is not in this version")
        return ()


def _mapping(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}
