"""Llama Stack 0.7.x run configs as they are: their keys mapped to ours, or reported once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from llama_workbench.core.errors import ConfigError
from llama_workbench.core.vector_stores_config import VectorStoresConfig

logger = logging.getLogger("llama_workbench.config")

Loc = tuple[str | int, ...]

ENTRY_POINT_HINT = (
    "third-party providers register through the 'llama_workbench.providers' entry-point group"
)

# Keys of Llama Stack's StackConfig (0.7.3) that name something this stack does not serve.
_TOP_LEVEL = {
    "container_image": "not used; the stack runs in this process",
    "external_providers_dir": f"not read; {ENTRY_POINT_HINT}",
    "external_apis_dir": "not read; this version serves its own APIs only",
    "logging": "not applied; set levels with Python's logging (logger 'llama_workbench')",
}
_SERVER = {"workers": "not used; one server process serves every request"}
# vector_stores keys read besides VectorStoresConfig's fields (its extras: core/vector_stores).
_VECTOR_STORES_EXTRA_READ = {"default_reranker_model"}
_VECTOR_STORES_UNREAD = {
    "rewrite_query_params": "not used; queries are searched as given",
    "file_search_params": "not used; file_search results use this version's own wording",
    "context_prompt_params": "not used; retrieved chunks use this version's own templates",
    "annotation_prompt_params": "not used; this version's own citation instructions apply",
    "file_ingestion_params": "not used; files are chunked as their chunking_strategy says "
    "(auto: 800 tokens, 400 overlap)",
    "chunk_retrieval_params": "not used; this version's own ranking settings apply",
    "file_batch_params": "not used; this version's own batch limits apply",
}
_STORES = {
    "responses": "not used; stored responses live where providers.responses[].config."
    "persistence.responses says",
    "connectors": "not used; connectors come from the run config's connectors: list",
}
_POSTGRES_POOL = ("pool_size", "max_overflow", "pool_recycle", "pool_pre_ping")


@dataclass(frozen=True)
class CompatNote:
    """One Llama Stack key this stack does not serve as written, and what happens instead."""

    key: str
    message: str
    where: str = ""  # `run.yaml:12`

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


class Notes:
    """Notes collected while adapting a config; each key once."""

    def __init__(self, where: Callable[[Loc], str]) -> None:
        self.items: list[CompatNote] = []
        self._where = where

    def add(self, loc: Loc, message: str) -> None:
        key = format_key(loc)
        if all(n.key != key for n in self.items):
            self.items.append(CompatNote(key, message, self._where(loc)))

    def where(self, loc: Loc) -> str:
        """`run.yaml:12` for a path of the config."""
        return self._where(loc)


def format_key(loc: Loc) -> str:
    """('providers', 'inference', 0, 'config') -> 'providers.inference[0].config'."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<root>"


def log_notes(notes: list[CompatNote]) -> None:
    """One warning line per note."""
    for note in notes:
        logger.warning("run config: %s", note)


def adapt_run_config(data: dict[str, Any], notes: Notes) -> dict[str, Any]:
    """Map a Llama Stack run config's keys onto ours; what can't be served becomes a note."""
    for key, message in _TOP_LEVEL.items():
        if data.get(key) not in (None, {}, []):
            notes.add((key,), message)
        data.pop(key, None)
    _adapt_apis(data, notes)
    _adapt_providers(data, notes)
    if isinstance(data.get("server"), dict):
        _adapt_server(data["server"], notes)
    if isinstance(data.get("storage"), dict):
        _adapt_storage(data["storage"], notes)
    if isinstance(data.get("registered_resources"), dict):
        _adapt_resources(data["registered_resources"], notes)
    if isinstance(data.get("vector_stores"), dict):
        _adapt_vector_stores(data["vector_stores"], notes)
    elif "vector_stores" in data and data["vector_stores"] is None:
        del data["vector_stores"]
    return data


def _adapt_apis(data: dict[str, Any], notes: Notes) -> None:
    from llama_workbench.core.datatypes import Api

    ours = {a.value for a in Api}
    apis = data.get("apis")
    if isinstance(apis, list):
        for i, name in enumerate(apis):
            if name in LLAMA_STACK_APIS and name not in ours:
                notes.add(("apis", i), f"'{name}' is not an API of this version; not served")
        data["apis"] = [a for a in apis if not (a in LLAMA_STACK_APIS and a not in ours)]
    providers = data.get("providers")
    if isinstance(providers, dict):
        for name in [k for k in providers if k in LLAMA_STACK_APIS and k not in ours]:
            notes.add(("providers", name), f"'{name}' is not an API of this version; not served")
            del providers[name]


def _adapt_providers(data: dict[str, Any], notes: Notes) -> None:
    from llama_workbench.core.provider_compat import adapt_provider_config

    providers = data.get("providers")
    if not isinstance(providers, dict):
        return
    for api, entries in providers.items():
        if not isinstance(entries, list):
            continue
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                continue
            loc: Loc = ("providers", api, i)
            if "module" in entry:
                if entry["module"] is not None:
                    notes.add(
                        (*loc, "module"),
                        "external provider modules are not imported; the provider_type is looked "
                        f"up in this version's registry ({ENTRY_POINT_HINT})",
                    )
                del entry["module"]
            config = entry.get("config")
            if isinstance(config, dict) and isinstance(entry.get("provider_type"), str):
                entry["config"] = adapt_provider_config(
                    entry["provider_type"], config, (*loc, "config"), notes
                )


def _adapt_server(server: dict[str, Any], notes: Notes) -> None:
    for key, message in _SERVER.items():
        value = server.pop(key, None)
        if value not in ((None, 1) if key == "workers" else (None, False)):
            notes.add(("server", key), message)
    if server.get("host", "") is None:
        del server["host"]  # Llama Stack's default; ours is loopback
    auth = server.get("auth")
    if isinstance(auth, dict):
        _adapt_auth(auth, notes)
        if not auth:
            server["auth"] = None


def _adapt_auth(auth: dict[str, Any], notes: Notes) -> None:
    """Llama Stack's auth as it is; a provider type this version lacks is refused (never serve
    unauthenticated by mistake)."""
    provider = auth.get("provider_config")
    if isinstance(provider, dict) and provider.get("type") is None:
        del auth["provider_config"]  # `type: ${env.AUTH_PROVIDER:+...}` unset: auth off
        return
    kind = provider.get("type") if isinstance(provider, dict) else None
    if kind in _UNSERVED_AUTH:
        where = notes.where(("server", "auth", "provider_config", "type"))
        raise ConfigError(
            f"{where}: server.auth.provider_config.type: '{kind}' is not served by this "
            "version (it serves oauth2_token, custom and server.auth.tokens); refusing to "
            "start rather than serve without the authentication the config asks for",
            details={"path": "server.auth.provider_config.type"},
        )
    for key in ("route_policy", "access_policy", "provider_config"):
        if key in auth and auth[key] is None:
            del auth[key]


_UNSERVED_AUTH = {"github_token", "kubernetes"}


def _adapt_storage(storage: dict[str, Any], notes: Notes) -> None:
    backends = storage.get("backends")
    if isinstance(backends, dict):
        for name, backend in backends.items():
            if isinstance(backend, dict) and backend.get("type") == "sql_postgres":
                for key in _POSTGRES_POOL:
                    if key in backend:
                        notes.add(
                            ("storage", "backends", name, key),
                            "not used; the asyncpg pool holds 1 to 5 connections",
                        )
                        del backend[key]
    stores = storage.get("stores")
    if not isinstance(stores, dict):
        return
    for name in [k for k, v in stores.items() if v is None]:
        del stores[name]  # Llama Stack: a store set to null is off
    for name, message in _STORES.items():
        if name in stores:
            notes.add(("storage", "stores", name), message)
            del stores[name]
    inference = stores.get("inference")
    if isinstance(inference, dict) and "num_writers" in inference:
        notes.add(
            ("storage", "stores", "inference", "num_writers"),
            "not used; one writer task stores completions in batches",
        )
        del inference["num_writers"]


def _adapt_resources(resources: dict[str, Any], notes: Notes) -> None:
    if resources.get("tool_groups"):
        notes.add(
            ("registered_resources", "tool_groups"),
            "deprecated in Llama Stack 0.7 and not registered; tool groups come from the "
            "tool_runtime providers",
        )
    resources.pop("tool_groups", None)
    if resources.get("vector_stores"):
        notes.add(
            ("registered_resources", "vector_stores"),
            "not registered at start; create vector stores through the API "
            "(POST /v1/vector_stores), where they persist",
        )
    resources.pop("vector_stores", None)
    for kind in ("models", "shields"):
        items = resources.get(kind)
        for item in items if isinstance(items, list) else ():
            if isinstance(item, dict) and "model_type" in item and item["model_type"] is None:
                del item["model_type"]  # Llama Stack: None means llm


def _adapt_vector_stores(section: dict[str, Any], notes: Notes) -> None:
    """Llama Stack's keys we don't read are reported; any other unknown key is a typo."""
    read = set(VectorStoresConfig.model_fields) | _VECTOR_STORES_EXTRA_READ
    for key in [k for k in section if k not in read]:
        if key in _VECTOR_STORES_UNREAD:
            if section[key] is not None:
                notes.add(("vector_stores", key), _VECTOR_STORES_UNREAD[key])
            del section[key]
        else:
            raise ConfigError(
                f"{notes.where(('vector_stores', key))}: vector_stores.{key} is not a known "
                f"setting (a typo?); known: {', '.join(sorted(read | set(_VECTOR_STORES_UNREAD)))}",
                details={"path": f"vector_stores.{key}"},
            )


# The APIs of Llama Stack 0.7.3's `Api` enum (names only).
LLAMA_STACK_APIS = frozenset(
    {
        "providers", "inference", "safety", "responses", "batches", "vector_io", "datasetio",
        "scoring", "eval", "tool_runtime", "models", "shields", "vector_stores", "datasets",
        "scoring_functions", "benchmarks", "tool_groups", "files", "file_processors", "prompts",
        "conversations", "connectors", "inspect", "admin",
    }
)  # fmt: skip
