"""The panel's operations on a run config file: read its state, save it, add/edit/remove providers."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from llama_workbench.core.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    UnprocessableError,
)
from llama_workbench.distributions import distribution_path, list_distributions
from llama_workbench.lab.overview import (
    Problem,
    check_config,
    check_provider_config,
    config_schema,
    declared_resources,
    overview,
    provider_spec,
    secret_fields,
)
from llama_workbench.lab.server_summary import server_summary
from llama_workbench.lab.store import (
    ConfigFile,
    dump_yaml,
    mask_secrets,
    read_raw,
    unmask,
    write_atomically,
)

Raw = dict[str, Any]


def config_state(file: ConfigFile, saved: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything the panel shows about the config file, secrets masked, env references kept."""
    raw, revision = read_raw(file)
    state: dict[str, Any] = {
        "path": file.display,
        "source": file.source,
        "exists": raw is not None,
        "revision": revision,
        "distributions": [
            {"name": d.name, "description": d.description} for d in list_distributions()
        ],
        "saved": saved,
    }
    if raw is None:
        return {
            **state,
            "config": None,
            "apis": [],
            "resources": [],
            "problems": [],
            "warnings": [],
            "valid": False,
            "server": None,
        }
    checked = check_config(raw)
    apis = overview(raw, checked)
    return {
        **state,
        "config": mask_config(raw),
        "apis": apis,
        "resources": declared_resources(raw),
        "problems": [p.as_json() for p in checked.problems],
        "warnings": checked.warnings,
        "valid": checked.valid,
        "server": server_summary(raw),  # how callers sign in; kinds and counts, no secrets
    }


def mask_config(raw: Raw) -> Raw:
    """The whole config with secrets masked (secret-like keys, and schema secrets of providers)."""
    masked: Raw = mask_secrets(raw)
    for api, entries in (raw.get("providers") or {}).items():
        for i, entry in enumerate(entries if isinstance(entries, list) else []):
            if isinstance(entry, dict) and isinstance(entry.get("config"), dict):
                fields = _schema_secrets(str(api), entry)
                masked["providers"][api][i]["config"] = mask_secrets(entry["config"], fields)
    return masked


def _schema_secrets(api: str, entry: Mapping[str, Any]) -> list[str]:
    try:
        return secret_fields(
            config_schema(provider_spec(api, str(entry.get("provider_type"))).config_class)
        )
    except Exception:  # an unknown type is reported as a problem elsewhere; nothing to mask here
        return []


# ----------------------------------------------------------------------------- whole-file edits


def save_config(file: ConfigFile, new: Any, revision: str | None) -> dict[str, Any]:
    """Replace the file with `new` (masks put back from the stored file); invalid -> 422."""
    if not isinstance(new, dict):
        raise BadRequestError("'config' must be a mapping (apis, providers, ...)")
    return _edit(file, revision, lambda old: unmask_config(new, old or {}))


def from_distribution(file: ConfigFile, name: Any, revision: str | None) -> dict[str, Any]:
    """Start the file from a bundled distribution: its YAML text as is (comments, env refs)."""
    if not isinstance(name, str) or not name:
        raise BadRequestError("'distribution' must name a bundled distribution")
    text = distribution_path(name).read_text(encoding="utf-8")
    current, current_revision = read_raw(file)
    _check_revision(current, current_revision, revision)
    backup = write_atomically(file, text)
    return config_state(file, _saved(file, backup))


def unmask_config(new: Raw, old: Raw) -> Raw:
    """Masked secrets in `new` back to their stored values; providers are matched by id."""
    rest = unmask({k: v for k, v in new.items() if k != "providers"}, old)
    if "providers" not in new:
        return rest
    providers = new["providers"]
    if not isinstance(providers, dict):
        raise BadRequestError("'providers' must map each API to a list of providers")
    old_providers = old.get("providers") if isinstance(old.get("providers"), dict) else {}
    result: dict[str, Any] = {}
    for api, entries in providers.items():
        if not isinstance(entries, list):
            raise BadRequestError(f"providers.{api} must be a list of providers")
        stored = [e for e in (old_providers or {}).get(api) or [] if isinstance(e, dict)]
        by_id = {e.get("provider_id"): e for e in stored}
        result[api] = [
            unmask(
                e,
                by_id.get(e.get("provider_id")) if isinstance(e, dict) else None,
                ("providers", api, i),
            )
            for i, e in enumerate(entries)
        ]
    return {**rest, "providers": result}


# ----------------------------------------------------------------------------- provider edits


def provider_body(body: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """(provider_id, provider_type, config) from a request body; malformed -> 400."""
    provider_id, provider_type = body.get("provider_id"), body.get("provider_type")
    config = body.get("config", {})
    if not isinstance(provider_id, str) or not provider_id.strip():
        raise BadRequestError("'provider_id' is required: a name for this provider, e.g. 'vllm'")
    if not isinstance(provider_type, str) or "::" not in provider_type:
        raise BadRequestError("'provider_type' is required, e.g. 'remote::vllm'")
    if not isinstance(config, dict):
        raise BadRequestError("'config' must be a mapping of the provider's settings")
    return provider_id.strip(), provider_type, config


def add_provider(
    file: ConfigFile, api: str, body: Mapping[str, Any], revision: str | None
) -> dict[str, Any]:
    """Add a provider to an API (listing the API if needed) and save; taken id -> 409."""
    provider_id, provider_type, config = provider_body(body)

    def change(old: Raw | None) -> Raw:
        raw = copy.deepcopy(old or {"version": 2, "apis": []})
        entries = _api_entries(raw, api)
        if any(e.get("provider_id") == provider_id for e in entries):
            raise ConflictError(f"{api} already has a provider '{provider_id}'")
        # A new provider has no stored secrets: a mask sent for one is an error, not a value.
        fresh = unmask(config, {}, ("config",))
        _check_provider(api, provider_type, fresh)
        entries.append(
            {"provider_id": provider_id, "provider_type": provider_type, "config": fresh}
        )
        apis = raw.setdefault("apis", [])
        if isinstance(apis, list) and api not in apis:
            apis.append(api)
        return raw

    return _edit(file, revision, change)


def edit_provider(
    file: ConfigFile, api: str, provider_id: str, body: Mapping[str, Any], revision: str | None
) -> dict[str, Any]:
    """Replace a provider's id, type and config; masked secrets keep their stored values."""
    new_id, provider_type, config = provider_body({"provider_id": provider_id, **body})

    def change(old: Raw | None) -> Raw:
        raw = copy.deepcopy(old or {})
        entries = _api_entries(raw, api)
        index = _find(entries, api, provider_id)
        entry = entries[index]
        if new_id != provider_id and any(e.get("provider_id") == new_id for e in entries):
            raise ConflictError(f"{api} already has a provider '{new_id}'")
        restored = unmask(config, entry.get("config") or {}, ("config",))
        _check_provider(api, provider_type, restored)
        entries[index] = {
            **entry,
            "provider_id": new_id,
            "provider_type": provider_type,
            "config": restored,
        }
        return raw

    return _edit(file, revision, change)


def remove_provider(
    file: ConfigFile, api: str, provider_id: str, revision: str | None
) -> dict[str, Any]:
    """Remove a provider; resources that named it then show as 'unknown provider'."""

    def change(old: Raw | None) -> Raw:
        raw = copy.deepcopy(old or {})
        entries = _api_entries(raw, api)
        del entries[_find(entries, api, provider_id)]
        return raw

    return _edit(file, revision, change)


def stored_provider_config(file: ConfigFile, api: str, provider_id: Any) -> dict[str, Any]:
    """The stored config of a provider (to put masked secrets back before a test); {} if none."""
    raw, _ = read_raw(file)
    if raw is None or not isinstance(provider_id, str):
        return {}
    entries = (raw.get("providers") or {}).get(api) or []
    for entry in entries:
        if isinstance(entry, dict) and entry.get("provider_id") == provider_id:
            config = entry.get("config")
            return config if isinstance(config, dict) else {}
    return {}


def _check_provider(api: str, provider_type: str, config: Raw) -> None:
    spec = provider_spec(api, provider_type)
    checked = check_provider_config(spec, config)
    if checked.problems:
        raise _invalid(f"The {provider_type} settings are invalid", checked.problems)


def _api_entries(raw: Raw, api: str) -> list[dict[str, Any]]:
    providers = raw.setdefault("providers", {})
    if not isinstance(providers, dict):
        raise UnprocessableError("The file's 'providers' is not a mapping; fix it in the editor")
    entries = providers.setdefault(api, [])
    if not isinstance(entries, list):
        raise UnprocessableError(f"The file's providers.{api} is not a list; fix it in the editor")
    return entries


def _find(entries: list[dict[str, Any]], api: str, provider_id: str) -> int:
    for i, entry in enumerate(entries):
        if isinstance(entry, dict) and entry.get("provider_id") == provider_id:
            return i
    raise NotFoundError(
        "Provider", f"{api}/{provider_id}", [str(e.get("provider_id")) for e in entries]
    )


# ----------------------------------------------------------------------------- saving


def _edit(
    file: ConfigFile, revision: str | None, change: Callable[[Raw | None], Raw]
) -> dict[str, Any]:
    """Read, change, validate, write atomically (with a backup); the new state comes back."""
    old, current_revision = read_raw(file)
    _check_revision(old, current_revision, revision)
    new = change(old)
    checked = check_config(new)
    if checked.problems:
        raise _invalid("The run config would be invalid; nothing was saved", checked.problems)
    previous = file.path.read_text(encoding="utf-8") if file.path.exists() else None
    backup = write_atomically(file, dump_yaml(new, previous))
    return config_state(file, _saved(file, backup))


def _check_revision(old: Raw | None, current: str | None, sent: str | None) -> None:
    if sent and current and sent != current:
        raise ConflictError(
            "The run config changed on disk since the panel loaded it; reload and edit again"
        )


def _saved(file: ConfigFile, backup: Any) -> dict[str, Any]:
    return {"path": file.display, "backup": backup.name if backup is not None else None}


def _invalid(message: str, problems: list[Problem]) -> UnprocessableError:
    lines = "\n".join(f"  {p.message}" for p in problems)
    return UnprocessableError(
        f"{message}:\n{lines}", details={"problems": [p.as_json() for p in problems]}
    )
