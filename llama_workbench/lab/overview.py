"""What the panel shows: the provider catalogue, validation problems by loc, and per-API status."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError

from llama_workbench.core.compat import Notes, adapt_run_config
from llama_workbench.core.config import (
    Loc,
    StackConfig,
    drop_disabled,
    format_loc,
    load_config,
    substitute_env,
    validation_errors,
)
from llama_workbench.core.datatypes import Api, ProviderSpec
from llama_workbench.core.errors import ConfigError, LlamaWorkbenchError
from llama_workbench.core.provider_compat import adapt_provider_config
from llama_workbench.lab.store import is_secret_key, mask_secrets
from llama_workbench.providers.llama_stack_names import is_llama_stack_type
from llama_workbench.providers.registry import default_registry, load_config_class

# registered_resources kinds the panel shows, and the key that names each resource.
RESOURCE_KINDS = {
    "models": "model_id",
    "shields": "shield_id",
    "vector_stores": "vector_store_id",
    "datasets": "dataset_id",
    "benchmarks": "benchmark_id",
}


@dataclass
class Problem:
    """One thing wrong with a config, at a YAML path (`loc`), in words."""

    loc: list[str | int]
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"loc": self.loc, "message": self.message}


@dataclass
class Checked:
    """The result of checking a config: problems, warnings (unset env variables, ...)."""

    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems


# ----------------------------------------------------------------------------- catalogue


def provider_spec(api: str, provider_type: str) -> ProviderSpec:
    """The registry's spec; unknown API or type is a ConfigError listing what exists."""
    try:
        api_enum = Api(api)
    except ValueError:
        known = ", ".join(a.value for a in default_registry().apis())
        raise ConfigError(f"Unknown API '{api}'. APIs with providers: {known}") from None
    return default_registry().get(api_enum, provider_type)


@cache
def config_schema(config_class: str) -> dict[str, Any]:
    """The JSON schema of a provider's pydantic config class (importing it loads no model code)."""
    spec = next(s for s in default_registry().list() if s.config_class == config_class)
    return load_config_class(spec).model_json_schema()


def secret_fields(schema: Mapping[str, Any]) -> list[str]:
    """Top-level fields that are secrets: SecretStr (writeOnly / password) or secret-like names."""
    names = []
    for name, prop in (schema.get("properties") or {}).items():
        options = [prop, *prop.get("anyOf", [])]
        marked = any(o.get("writeOnly") or o.get("format") == "password" for o in options)
        if marked or is_secret_key(name):
            names.append(name)
    return names


def is_testable(schema: Mapping[str, Any]) -> bool:
    """OpenAI-compatible remote configs (a base_url and an api_key) can test their connection."""
    props = schema.get("properties") or {}
    return "base_url" in props and "api_key" in props


def catalogue(api: str | None = None) -> list[dict[str, Any]]:
    """Every provider type (of one API) with its description and config schema."""
    specs = default_registry().list(Api(api) if api else None)
    entries = []
    for spec in specs:
        entry: dict[str, Any] = {
            "api": spec.api.value,
            "provider_type": spec.provider_type,
            "description": spec.description,
            "pip_extra": spec.pip_extra,
            "remote": spec.is_remote,
        }
        try:
            schema = config_schema(spec.config_class)
        except LlamaWorkbenchError as exc:
            entry.update(schema=None, secrets=[], testable=False, error=exc.message)
        else:
            entry.update(schema=schema, secrets=secret_fields(schema), testable=is_testable(schema))
        entries.append(entry)
    return entries


# ----------------------------------------------------------------------------- validation


class _ServerEnv(Mapping[str, str]):
    """os.environ, where an unset variable reads as empty and is noted (the kernel may set it)."""

    def __init__(self) -> None:
        self.missing: set[str] = set()

    def __getitem__(self, key: str) -> str:
        return os.environ.get(key, "")

    def __contains__(self, key: object) -> bool:
        # substitute_env asks only for bare ${env.X} references (no default): note the unset ones.
        if isinstance(key, str) and key not in os.environ:
            self.missing.add(key)
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(os.environ)

    def __len__(self) -> int:
        return len(os.environ)

    def get(self, key: str, default: Any = None) -> Any:
        return os.environ.get(key, "")


def expand(raw: Any, checked: Checked) -> Any:
    """${env.X} substituted with the server's environment; unset variables become warnings."""
    env = _ServerEnv()
    value = substitute_env(raw, env)
    checked.warnings += [
        f"environment variable {name} is not set in the Jupyter server (the kernel may set it)"
        for name in sorted(env.missing)
    ]
    return value


def check_provider_config(
    spec: ProviderSpec, config: Mapping[str, Any], prefix: Loc = ("config",)
) -> Checked:
    """Validate one provider's config against its pydantic class; problems are located by loc."""
    checked = Checked()
    try:
        expanded = expand(dict(config), checked)
        load_config_class(spec).model_validate(expanded or {})
    except ValidationError as exc:
        checked.problems += [
            Problem(list(loc), format_loc(loc) + msg)
            for loc, msg in validation_errors(exc, prefix, _hides(spec))
        ]
    except LlamaWorkbenchError as exc:
        checked.problems.append(Problem(list(prefix), exc.message))
    return checked


def check_config(raw: Mapping[str, Any]) -> Checked:
    """The whole run config: the project's own loader, then each provider's config class."""
    checked = Checked()
    data = drop_disabled(expand(dict(raw), checked))
    run_notes, notes = Notes(lambda loc: ""), Notes(lambda loc: "")
    try:  # Llama Stack's keys: ours, or a note (its auth settings are refused)
        data = adapt_run_config(data, run_notes)
    except ConfigError as exc:
        checked.problems.append(Problem(["server", "auth"], exc.message))
        return checked
    try:
        StackConfig.model_validate(data)
    except ValidationError as exc:
        checked.problems += [
            Problem(list(loc), format_loc(loc) + msg)
            for loc, msg in validation_errors(exc, hide_value=_secret_loc)
        ]
        return checked
    try:  # the cross-field checks (APIs listed, unique ids, storage references)
        load_config(data, env={})
    except ConfigError as exc:
        checked.problems.append(Problem([], exc.message))
    for api, index, entry in _entries(raw):
        if not isinstance(entry.get("provider_id"), str) or _disabled(entry):
            continue
        provider_type, loc = str(entry.get("provider_type")), ("providers", api, index)
        try:
            spec = provider_spec(api, provider_type)
        except ConfigError as exc:
            if api in {a.value for a in Api} and is_llama_stack_type(Api(api), provider_type):
                notes.add((*loc, "provider_type"), f"Llama Stack's provider '{provider_type}' "
                          "is not in this version; the stack starts without it")  # fmt: skip
                continue
            checked.problems.append(Problem([*loc, "provider_type"], exc.message))
            continue
        expanded = expand(dict(entry.get("config") or {}), Checked()) or {}
        config = adapt_provider_config(provider_type, expanded, (*loc, "config"), notes)
        sub = check_provider_config(spec, config, (*loc, "config"))
        checked.problems += sub.problems
    # Provider notes by the raw config's indices (the panel's), the rest as the loader words them.
    checked.warnings += [str(n) for n in run_notes.items if not n.key.startswith("providers.")]
    checked.warnings += [str(n) for n in notes.items]
    return checked


def _secret_loc(loc: Loc) -> bool:
    return any(is_secret_key(part) for part in loc)


def _hides(spec: ProviderSpec) -> Callable[[Loc], bool]:
    """Whether a problem's value must stay out of messages: secret-like keys and schema secrets."""
    try:
        fields = set(secret_fields(config_schema(spec.config_class)))
    except LlamaWorkbenchError:
        fields = set()
    return lambda loc: _secret_loc(loc) or any(part in fields for part in loc)


def _entries(raw: Mapping[str, Any]) -> Iterator[tuple[str, int, dict[str, Any]]]:
    providers = raw.get("providers")
    if not isinstance(providers, dict):
        return
    for api, entries in providers.items():
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            if isinstance(entry, dict):
                yield str(api), index, entry


def _disabled(entry: Mapping[str, Any]) -> bool:
    """`provider_id: ${env.X:+id}` with X unset: the provider is switched off (as in Llama Stack)."""
    return substitute_env(entry.get("provider_id"), _ServerEnv()) is None


# ----------------------------------------------------------------------------- overview


def overview(raw: Mapping[str, Any], checked: Checked) -> list[dict[str, Any]]:
    """APIs -> providers (masked config, status) -> resources declared for each provider."""
    resources = declared_resources(raw)
    apis: dict[str, list[dict[str, Any]]] = {str(a): [] for a in raw.get("apis") or []}
    for api, index, entry in _entries(raw):
        loc = ["providers", api, index]
        problems = [p for p in checked.problems if p.loc[: len(loc)] == loc]
        provider_id = entry.get("provider_id")
        apis.setdefault(api, []).append(
            {
                "provider_id": provider_id,
                "provider_type": entry.get("provider_type"),
                "index": index,
                "status": _provider_status(api, entry, problems),
                "problems": [p.as_json() for p in problems],
                "config": mask_secrets(entry.get("config") or {}, _secrets_of(api, entry)),
                "resources": [r for r in resources if r["provider_id"] == provider_id],
            }
        )
    return [{"api": api, "providers": providers} for api, providers in apis.items()]


def _secrets_of(api: str, entry: Mapping[str, Any]) -> list[str]:
    try:
        spec = provider_spec(api, str(entry.get("provider_type")))
        return secret_fields(config_schema(spec.config_class))
    except LlamaWorkbenchError:
        return []


def _provider_status(api: str, entry: Mapping[str, Any], problems: list[Problem]) -> str:
    if _disabled(entry):
        return "disabled"
    if problems:
        return "invalid"
    try:
        spec = provider_spec(api, str(entry.get("provider_type")))
    except ConfigError:
        return "invalid"
    missing = [p for p in spec.pip_packages if not _installed(p)]
    return f"missing {', '.join(missing)}" if missing else "ok"


def _installed(package: str) -> bool:
    """A pip package (faiss-cpu) or module (llama_cpp) is there, without importing it."""
    try:
        importlib.metadata.distribution(package)
        return True
    except importlib.metadata.PackageNotFoundError:
        return importlib.util.find_spec(package.replace("-", "_")) is not None


def declared_resources(raw: Mapping[str, Any]) -> list[dict[str, Any]]:
    """registered_resources (models, shields, ...) with whether their provider is enabled."""
    enabled = {e.get("provider_id") for _, _, e in _entries(raw) if not _disabled(e)}
    known = {e.get("provider_id") for _, _, e in _entries(raw)}
    section = raw.get("registered_resources") or {}
    found = []
    for kind, id_key in RESOURCE_KINDS.items():
        items = section.get(kind) if isinstance(section, dict) else None
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            provider_id = item.get("provider_id")
            if provider_id is None or provider_id in enabled:
                status = "ok"
            elif provider_id in known or _disabled({"provider_id": provider_id}):
                status = "disabled"
            else:
                status = f"unknown provider '{provider_id}'"
            found.append(
                {
                    "kind": kind,
                    "id": item.get(id_key) or item.get("identifier"),
                    "provider_id": provider_id,
                    "status": status,
                }
            )
    return found


def as_model(spec: ProviderSpec, config: Mapping[str, Any]) -> BaseModel:
    """The provider's config object, env references expanded; a ConfigError names the problems."""
    checked = Checked()
    expanded = expand(dict(config), checked)
    if checked.warnings:
        raise ConfigError("; ".join(checked.warnings))
    try:
        return load_config_class(spec).model_validate(expanded or {})
    except ValidationError as exc:
        raise ConfigError(
            "; ".join(
                format_loc(loc) + msg for loc, msg in validation_errors(exc, (), _hides(spec))
            )
        ) from None
