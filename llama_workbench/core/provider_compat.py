"""Llama Stack 0.7.x provider settings mapped onto our provider configs, or reported."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llama_workbench.core.compat import Loc, Notes
    from llama_workbench.core.config import StackConfig
    from llama_workbench.core.datatypes import Api
    from llama_workbench.core.resolver import PlannedProvider
    from llama_workbench.providers.registry import ProviderRegistry

# Our OpenAI-compatible inference adapters (providers/utils/openai_compat.py), by type.
_OPENAI_COMPAT = frozenset(
    f"remote::{name}"
    for name in (
        "openai", "vllm", "ollama", "tgi", "llama-cpp", "llama-cpp-server", "together",
        "fireworks", "groq", "nvidia", "llama-stack", "gemini", "azure", "sambanova", "cerebras",
        "databricks", "runpod", "llama-openai-compat",
    )
)  # fmt: skip
# Inference adapters of their own (Messages API, token flows, signing) on the same common keys.
_NATIVE_INFERENCE = frozenset(
    f"remote::{name}"
    for name in ("anthropic", "bedrock", "vertexai", "watsonx", "oci", "passthrough")
)
# Llama Stack's names of a setting -> ours, per provider type.
_RENAMED: dict[str, dict[str, str]] = {
    "remote::vertexai": {"access_token": "api_key", "auth_credential": "api_key"},
    "remote::watsonx": {"timeout": "timeout_s"},
}
_VECTOR_IO = frozenset(
    {"inline::faiss", "inline::sqlite-vec", "inline::sqlite_vec", "remote::chromadb"}
    | {"remote::pgvector", "remote::qdrant", "inline::qdrant"}
    | {"inline::milvus", "remote::milvus", "remote::weaviate", "remote::elasticsearch"}
)
_TLS_UNSERVED = ("min_version", "ciphers", "client_cert", "client_key")
# Settings of Llama Stack's providers that ours do without: (type, key) -> what happens instead.
_UNSERVED: dict[str, dict[str, str]] = {
    "inline::braintrust": {
        "openai_api_key": "not used; autoevals scorers run with this stack's own models",
    },
}


def adapt_provider_config(
    provider_type: str, config: dict[str, Any], loc: Loc, notes: Notes
) -> dict[str, Any]:
    """A provider's config with Llama Stack's keys turned into ours (or dropped with a note)."""
    config = dict(config)
    for key, message in _UNSERVED.get(provider_type, {}).items():
        if config.pop(key, None) is not None:
            notes.add((*loc, key), message)
    if provider_type in _OPENAI_COMPAT:
        return _openai_compat(config, loc, notes)
    if provider_type in _NATIVE_INFERENCE:
        for theirs, ours in _RENAMED.get(provider_type, {}).items():
            if theirs in config:
                value = config.pop(theirs)
                config.setdefault(ours, value)
        return _openai_compat(config, loc, notes)
    if provider_type in _VECTOR_IO:
        return _vector_io(provider_type, config, loc, notes)
    return config


def _vector_io(
    provider_type: str, config: dict[str, Any], loc: Loc, notes: Notes
) -> dict[str, Any]:
    """Llama Stack's vector_io settings: persistence, and the server's address forms."""
    for key in [k for k, v in config.items() if v is None]:
        del config[key]  # `${env.X:=}` unset: the setting's default
    if config.pop("persistence", None) is not None:
        notes.add(
            (*loc, "persistence"),
            "not used; this stack keeps its vector stores' records in storage.stores.metadata",
        )
    if provider_type.endswith("::pgvector"):
        _pgvector(config, loc, notes)
    elif provider_type.endswith("::qdrant"):
        _qdrant(config, loc, notes)
    return config


def _pgvector(config: dict[str, Any], loc: Loc, notes: Notes) -> None:
    metric = config.pop("distance_metric", "COSINE")
    if str(metric).upper() != "COSINE":
        notes.add((*loc, "distance_metric"), "not used; stores are searched by cosine distance")
    index = config.pop("vector_index", None)
    if isinstance(index, dict):
        kind = str(index.get("type", "HNSW")).upper()
        config.setdefault("hnsw", kind == "HNSW")
        if kind != "HNSW" or any(index.get(k) is not None for k in ("m", "ef_construction")):
            notes.add(
                (*loc, "vector_index"),
                "only its type is used: an HNSW index with pgvector's own parameters"
                if kind == "HNSW"
                else f"{kind} is not built; stores are scanned exactly (hnsw: false)",
            )


def _qdrant(config: dict[str, Any], loc: Loc, notes: Notes) -> None:
    """qdrant-client's location/host/port/https/prefix become our one `url`."""
    location, host = config.pop("location", None), config.pop("host", None)
    port, https, prefix = (
        config.pop("port", None),
        config.pop("https", None),
        config.pop("prefix", None),
    )
    if config.get("url") is None and config.get("path") is None:
        if location == ":memory:":
            notes.add((*loc, "location"), "':memory:' is not served; a local folder is (path:)")
        elif location:
            config["url"] = location
        else:  # qdrant-client's own default: a server on localhost
            scheme = "https" if https else "http"
            config["url"] = f"{scheme}://{host or 'localhost'}:{port or 6333}"
    if prefix and config.get("url"):
        config["url"] = f"{str(config['url']).rstrip('/')}/{str(prefix).strip('/')}"


def _openai_compat(config: dict[str, Any], loc: Loc, notes: Notes) -> dict[str, Any]:
    """RemoteInferenceProviderConfig's keys: api_token, allowed_models, refresh_models, network."""
    for key in [k for k, v in config.items() if v is None]:
        del config[key]  # `${env.X:=}` unset: the setting's default, as in Llama Stack
    token = config.pop("api_token", None)  # the key's name in remote::vllm, databricks, runpod
    if token is not None and config.get("api_key") is None:
        config["api_key"] = token
    timeout = config.pop("timeout", None)  # remote::nvidia's request timeout, in seconds
    if timeout is not None:
        config.setdefault("timeout_s", timeout)
    max_tokens = config.pop("max_tokens", None)  # remote::vllm's default for requests
    if max_tokens is not None:
        config["default_max_tokens"] = max_tokens
    legacy_verify = config.pop("tls_verify", None)  # remote::vllm's older spelling
    if legacy_verify is not None:
        config["verify"] = legacy_verify
    allowed = config.pop("allowed_models", None)
    if allowed is not None:  # only these models, as discovery filtered by the list would give
        config["models"] = [*config.get("models", []), *allowed]
        config["discover_models"] = False
    if config.pop("refresh_models", False):
        notes.add((*loc, "refresh_models"), "not used; the provider's models are listed at start")
    network = config.pop("network", None)
    if isinstance(network, dict):
        _network(network, config, (*loc, "network"), notes)
    return config


def _network(network: dict[str, Any], config: dict[str, Any], loc: Loc, notes: Notes) -> None:
    """NetworkConfig: tls.verify, timeout and headers map onto our httpx client settings."""
    tls = network.get("tls")
    if isinstance(tls, dict):
        if tls.get("verify") is not None:
            config["verify"] = tls["verify"]
        for key in _TLS_UNSERVED:
            if tls.get(key) is not None:
                notes.add((*loc, "tls", key), "not used; the system's TLS defaults apply")
    timeout = network.get("timeout")
    if isinstance(timeout, int | float) and not isinstance(timeout, bool):
        config["timeout_s"] = config["connect_timeout_s"] = float(timeout)
    elif isinstance(timeout, dict):
        if timeout.get("read") is not None:
            config["timeout_s"] = float(timeout["read"])
        if timeout.get("connect") is not None:
            config["connect_timeout_s"] = float(timeout["connect"])
    if isinstance(network.get("headers"), dict):
        config["extra_headers"] = {**config.get("extra_headers", {}), **network["headers"]}
    if network.get("proxy") is not None:
        notes.add(
            (*loc, "proxy"),
            "not used; the client takes HTTP_PROXY/HTTPS_PROXY/NO_PROXY from the environment",
        )


def skip_unserved_provider(
    config: StackConfig, registry: ProviderRegistry, api: Api, index: int
) -> bool:
    """True (and a note) for a provider of Llama Stack 0.7.3 that this version lacks."""
    from llama_workbench.core.errors import ConfigError
    from llama_workbench.providers.llama_stack_names import is_llama_stack_type

    entry = config.providers[api][index]
    if any(e.provider_id == entry.provider_id for e in config.providers[api][:index]):
        config.add_note(
            ("providers", api.value, index, "provider_id"),
            f"'{entry.provider_id}' is used twice in {api.value}; the first one is started",
        )
        return True
    provider_type = entry.provider_type
    try:
        registry.get(api, provider_type)
    except ConfigError:
        if not is_llama_stack_type(api, provider_type):
            return False  # not Llama Stack's: a typo, reported by the plan as an error
        config.add_note(
            ("providers", api.value, index, "provider_type"),
            f"Llama Stack's provider '{provider_type}' is not in this version; "
            f"the stack starts without '{entry.provider_id}'",
        )
        return True
    return False


def note_apis_left_empty(config: StackConfig, planned: Mapping[Api, Sequence[object]]) -> set[Api]:
    """APIs whose every provider was skipped are not served: say so once; returns them."""
    lost: set[Api] = set()
    for api, entries in config.providers.items():
        if not entries and (not config.apis or api in config.apis):
            config.add_note(
                ("providers", api.value),
                f"every provider is switched off by the environment; the {api.value} API is "
                "not served",
            )
            lost.add(api)
        keys = {f"providers.{api.value}[{i}].provider_type" for i in range(len(entries))}
        skipped = keys <= {n.key for n in config.compat_notes}
        if entries and not planned.get(api) and skipped:
            config.add_note(
                ("providers", api.value),
                f"no provider of this version is left; the {api.value} API is not served",
            )
            lost.add(api)
    return lost


def drop_dependents(
    config: StackConfig,
    providers: dict[Api, list[PlannedProvider]],
    lost: set[Api],
    requires: Mapping[Api, Sequence[Api]],
) -> None:
    """What needs an API left without providers is not served either (each said once)."""
    changed = bool(lost)
    while changed:
        changed = False
        for api in list(providers):
            missing = sorted(a.value for a in set(requires.get(api, ())) & lost)
            if missing:
                _note_lost(config, ("providers", api.value), f"the {api.value} API", missing)
            kept = [p for p in providers[api] if not missing and not _drop(config, p, lost)]
            if len(kept) < len(providers[api]):
                changed = True
                providers[api] = kept
            if not kept:
                del providers[api]
                lost.add(api)


def _drop(config: StackConfig, p: PlannedProvider, lost: set[Api]) -> bool:
    from llama_workbench.core.api_table import TABLE_APIS

    missing = sorted({TABLE_APIS.get(d, d).value for d in p.spec.api_dependencies} & lost)
    if missing:
        ids = [e.provider_id for e in config.providers[p.api]]
        loc = ("providers", p.api.value, ids.index(p.provider_id))
        _note_lost(config, loc, f"'{p.provider_id}'", missing)
    return bool(missing)


def _note_lost(config: StackConfig, loc: Loc, what: str, missing: list[str]) -> None:
    apis = ", ".join(missing)
    config.add_note(loc, f"not served: {what} needs the {apis} API, which has no provider left")


def drop_orphan_resources(config: StackConfig, providers: Mapping[Api, Sequence[object]]) -> None:
    """Models and shields of a provider that was not served are not registered (each said)."""
    from llama_workbench.core.datatypes import Api

    resources = config.registered_resources
    for kind, api in (("models", Api.inference), ("shields", Api.safety)):
        served = {p.provider_id for p in providers.get(api, ())}  # type: ignore[attr-defined]
        dropped = {n.key for n in config.compat_notes if n.key.startswith(f"providers.{api.value}")}
        ids = [e.provider_id for e in config.providers.get(api, [])]
        items = getattr(resources, kind)
        kept = []
        for i, item in enumerate(items):
            gone = item.provider_id in ids and item.provider_id not in served and dropped
            if gone:
                config.add_note(
                    ("registered_resources", kind, i),
                    f"not registered: its provider '{item.provider_id}' is not served",
                )
            else:
                kept.append(item)
        setattr(resources, kind, kept)
