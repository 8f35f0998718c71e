"""The run config: YAML -> ${env.X} substitution -> pydantic models, with precise error messages."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
)

from llama_workbench.core.compat import CompatNote, Notes, adapt_run_config, log_notes
from llama_workbench.core.datatypes import Api
from llama_workbench.core.errors import ConfigError
from llama_workbench.core.server_config import ServerConfig
from llama_workbench.core.vector_stores_config import VectorStoresConfig
from llama_workbench.execution.config import ExecutionConfig
from llama_workbench.storage.config import StorageConfig
from llama_workbench.tracking.config import TelemetryConfig

DATA_HOME_ENV = "LLAMA_WORKBENCH_HOME"
DATA_DIR_ENV = "LLAMA_WORKBENCH_DATA_DIR"

_ENV_REF = re.compile(r"\$\{env\.([A-Za-z_][A-Za-z0-9_]*)(?:(:=|:\+)([^}]*))?\}")

Loc = tuple[str | int, ...]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProviderEntry(_Strict):
    """One provider instance of an API."""

    provider_id: str
    provider_type: str = Field(pattern=r"^(inline|remote)::[A-Za-z0-9_.\-]+$")
    config: dict[str, Any] = Field(default_factory=dict)

    @field_validator("config", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value


class ModelInput(_Strict):
    """A model declared up front in the run config."""

    model_id: str = Field(min_length=1)
    provider_id: str | None = None
    provider_model_id: str | None = None
    model_type: str = Field("llm", pattern=r"^(llm|embedding|rerank)$")
    metadata: dict[str, Any] = Field(default_factory=dict)
    fallback_model_id: str | None = Field(
        None, description="Model to use when this model's provider is unreachable."
    )


class ShieldInput(_Strict):
    """A shield declared in the run config (Llama Stack's `registered_resources.shields`)."""

    shield_id: str = Field(min_length=1)
    provider_id: str | None = None
    provider_shield_id: str | None = None
    params: dict[str, Any] | None = None


class RegisteredResources(_Strict):
    """Resources declared up front; kinds whose API is not in this version must be empty."""

    models: list[ModelInput] = Field(default_factory=list)
    shields: list[ShieldInput] = Field(default_factory=list)
    vector_dbs: list[dict[str, Any]] = Field(default_factory=list)
    vector_stores: list[dict[str, Any]] = Field(default_factory=list)
    # Validated by their routing tables at startup (RegisterDatasetRequest, ...).
    datasets: list[dict[str, Any]] = Field(default_factory=list)
    scoring_fns: list[dict[str, Any]] = Field(default_factory=list)
    benchmarks: list[dict[str, Any]] = Field(default_factory=list)
    tool_groups: list[dict[str, Any]] = Field(default_factory=list)


class SafetyConfig(_Strict):
    """Llama Stack's `safety:` section."""

    default_shield_id: str | None = Field(
        None, description="The shield /v1/moderations runs when a request names no model."
    )


class StackConfig(_Strict):
    """A run config (Llama Stack's `version: 2` format, plus `data_dir`)."""

    version: int = Field(2, ge=2, le=2)
    distro_name: str = Field("custom", pattern=r"^[A-Za-z0-9_.\-]+$")
    image_name: str | None = None
    data_dir: str | None = Field(None, description="Where the stack keeps its state.")
    apis: list[Api] = Field(default_factory=list)
    providers: dict[Api, list[ProviderEntry]] = Field(default_factory=dict)
    registered_resources: RegisteredResources = Field(default_factory=RegisteredResources)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    vector_stores: VectorStoresConfig = Field(default_factory=VectorStoresConfig)
    telemetry: TelemetryConfig = Field(default_factory=TelemetryConfig)
    safety: SafetyConfig | None = None
    # Where eval, batches, bulk ingestion and fine-tuning run (absent: in this process).
    execution: ExecutionConfig | None = None
    # Llama Stack's connectors (ConnectorInput), checked when the stack is built.
    connectors: list[Any] | None = None
    # Where the config came from, and the YAML line of each path, for error messages.
    _origin: str = PrivateAttr("<dict>")
    _lines: dict[Loc, int] = PrivateAttr(default_factory=dict)
    # Llama Stack keys this stack does not serve as written, one note each.
    _notes: list[CompatNote] = PrivateAttr(default_factory=list)

    @property
    def compat_notes(self) -> list[CompatNote]:
        """What of a Llama Stack config is not served, and what happens instead (one per key)."""
        return list(self._notes)

    def add_note(self, loc: Loc, message: str) -> None:
        """Report a key once: a logged warning and an entry in `compat_notes`."""
        note = CompatNote(format_loc(loc), message, self.where(loc))
        if all(n.key != note.key for n in self._notes):
            self._notes.append(note)
            log_notes([note])

    @field_validator("telemetry", mode="before")
    @classmethod
    def _no_telemetry_section(cls, value: Any) -> Any:
        return {} if value is None else value

    def where(self, loc: Loc) -> str:
        """`run.yaml:12` for a path in this config (the file alone when the line is unknown)."""
        return _where(self._origin, self._lines, loc)

    def resolved_data_dir(self) -> Path:
        """The stack's data dir: config, else $LLAMA_WORKBENCH_DATA_DIR, else home/<distro>."""
        if self.data_dir:
            return Path(self.data_dir).expanduser()
        if os.environ.get(DATA_DIR_ENV):
            return Path(os.environ[DATA_DIR_ENV]).expanduser()
        home = os.environ.get(DATA_HOME_ENV) or "~/.llama_workbench"
        return Path(home).expanduser() / self.distro_name


# ----------------------------------------------------------------------------- env substitution


def substitute_env(value: Any, env: Mapping[str, str] | None = None, loc: Loc = ()) -> Any:
    """Replace ${env.X}, ${env.X:=default} and ${env.X:+value} everywhere in a parsed config.

    A value that becomes empty turns into None, which disables a provider or resource whose
    id is `${env.X:+id}` with X unset, as in Llama Stack.
    """
    env = os.environ if env is None else env
    if isinstance(value, Mapping):
        return {k: substitute_env(v, env, (*loc, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute_env(v, env, (*loc, i)) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def replace(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3) or ""
        current = env.get(name, "")
        if op == ":=":
            return current or arg
        if op == ":+":
            return arg if current else ""
        if name not in env:
            raise ConfigError(
                f"{format_loc(loc)}: environment variable {name} is not set "
                f"(write ${{env.{name}:=default}} to give it a default)",
                details={"path": format_loc(loc), "variable": name},
            )
        return current

    result = _ENV_REF.sub(replace, value)
    if "${" in result and _ENV_REF.search(value) is None:
        raise ConfigError(
            f"{format_loc(loc)}: '{value}' is not a valid reference; expected "
            "${env.NAME}, ${env.NAME:=default} or ${env.NAME:+value}",
            details={"path": format_loc(loc)},
        )
    return result if result != "" else None


def drop_disabled(data: dict[str, Any], lines: dict[Loc, int] | None = None) -> dict[str, Any]:
    """Remove providers and resources whose provider_id substituted to nothing (or is Llama
    Stack's `__disabled__`); `lines` are renumbered to match the lists that remain."""
    providers = data.get("providers")
    if isinstance(providers, dict):
        for api, entries in providers.items():
            if isinstance(entries, list):
                providers[api] = _kept(entries, ("providers", api), _disabled_provider, lines)
    resources = data.get("registered_resources")
    if isinstance(resources, dict):
        for kind, items in resources.items():
            if isinstance(items, list):
                resources[kind] = _kept(
                    items, ("registered_resources", kind), _disabled_resource, lines
                )
    return data


def _disabled_provider(entry: Any) -> bool:
    return isinstance(entry, dict) and entry.get("provider_id") in (None, "__disabled__")


def _disabled_resource(item: Any) -> bool:
    return isinstance(item, dict) and "provider_id" in item and item["provider_id"] is None


def _kept(
    items: list[Any], loc: Loc, disabled: Callable[[Any], bool], lines: dict[Loc, int] | None
) -> list[Any]:
    kept = [i for i, item in enumerate(items) if not disabled(item)]
    if lines is not None and len(kept) < len(items):
        n = len(loc)
        moved = {k: v for k, v in lines.items() if k[:n] == loc and len(k) > n}
        for key in moved:
            del lines[key]
        for key, line in moved.items():
            index = key[n]
            if isinstance(index, int) and index in kept:
                lines[(*loc, kept.index(index), *key[n + 1 :])] = line
    return [items[i] for i in kept]


# ----------------------------------------------------------------------------- loading


def load_config(
    source: str | os.PathLike[str] | Mapping[str, Any], env: Mapping[str, str] | None = None
) -> StackConfig:
    """Load and validate a run config from a YAML path or a dict; raise one clear ConfigError."""
    if isinstance(source, Mapping):
        raw: Any = dict(source)
        origin, lines = "<dict>", dict[Loc, int]()
    else:
        path = Path(source).expanduser()
        if not path.is_file():
            raise ConfigError(f"Run config file not found: {path}")
        text = path.read_text(encoding="utf-8")
        origin = str(path)
        raw, lines = _parse_yaml(text, origin)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{origin}: a run config is a mapping (apis, providers, ...), got {type(raw).__name__}"
        )
    data = drop_disabled(substitute_env(raw, env), lines)
    notes = Notes(lambda loc: _where(origin, lines, loc))
    data = adapt_run_config(data, notes)  # Llama Stack's keys: ours, or a note
    try:
        config = StackConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, origin, data, lines)) from None
    config._origin, config._lines, config._notes = origin, lines, notes.items
    log_notes(notes.items)
    _check_consistency(config, origin)
    return config


def _where(origin: str, lines: Mapping[Loc, int], loc: Loc) -> str:
    line = _nearest_line(loc, lines)
    return f"{origin}:{line}" if line else origin


def _parse_yaml(text: str, origin: str) -> tuple[Any, dict[Loc, int]]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        node = yaml.compose(text, Loader=loader)
        data = yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{origin}{where}: invalid YAML: {problem}") from None
    lines: dict[Loc, int] = {}
    if node is not None:
        _collect_lines(node, (), lines)
    return data, lines


def _collect_lines(node: yaml.Node, loc: Loc, out: dict[Loc, int]) -> None:
    out[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[(*loc, key)] = key_node.start_mark.line + 1
            _collect_lines(value_node, (*loc, key), out)
            out[(*loc, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _collect_lines(item, (*loc, i), out)


def format_loc(loc: Loc) -> str:
    """('providers', 'inference', 0, 'config') -> 'providers.inference[0].config'."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<root>"


def format_validation_error(
    exc: ValidationError, origin: str, data: Any, lines: Mapping[Loc, int]
) -> str:
    """One message: a line per problem with the YAML path, its line, the value and what's expected."""
    problems = validation_problems(exc, origin, lines)
    count = len(problems)
    return "\n".join(
        [f"Invalid run config ({count} problem{'s' if count > 1 else ''}):", *problems]
    )


def validation_problems(
    exc: ValidationError, origin: str, lines: Mapping[Loc, int], prefix: Loc = ()
) -> list[str]:
    """Lines like `  run.yaml:12: providers.inference[0].config.port = 'x': expected an integer`."""
    problems = []
    for loc, message in validation_errors(exc, prefix):
        line = _nearest_line(loc, lines)
        where = f"{origin}:{line}: " if origin and line else (f"{origin}: " if origin else "")
        problems.append(f"  {where}{format_loc(loc)}{message}")
    return problems


def validation_errors(
    exc: ValidationError, prefix: Loc = (), hide_value: Callable[[Loc], bool] | None = None
) -> list[tuple[Loc, str]]:
    """(YAML path, what is wrong) per problem; the text continues the path (` is required ...`).

    `hide_value(loc)` true leaves the bad value out of the text (secrets).
    """
    errors: list[tuple[Loc, str]] = []
    for err in exc.errors(include_url=False):
        loc = (*prefix, *_clean_loc(err["loc"]))
        if err["type"] == "missing":
            errors.append((loc, " is required but missing"))
        elif err["type"] == "extra_forbidden":
            errors.append((loc, " is not a known setting (a typo?)"))
        elif hide_value is not None and hide_value(loc):
            errors.append((loc, f": {_expected(err)}"))
        else:
            errors.append((loc, f" = {_short(err.get('input'))}: {_expected(err)}"))
    return errors


def _clean_loc(loc: tuple[Any, ...]) -> Loc:
    # pydantic puts union member / discriminator tags in the location; they aren't YAML keys.
    return tuple(
        p for p in loc if not (isinstance(p, str) and ("[" in p or p.startswith("function-")))
    )


def _nearest_line(loc: Loc, lines: Mapping[Loc, int]) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _expected(err: Any) -> str:
    msg = str(err["msg"])
    if err["type"] == "enum" and "expected" in err.get("ctx", {}):
        return f"expected one of {err['ctx']['expected']}"
    if err["type"] == "string_pattern_mismatch" and "pattern" in err.get("ctx", {}):
        return f"expected text matching {err['ctx']['pattern']}"
    if err["type"] == "union_tag_invalid":
        return f"expected type to be one of {err['ctx'].get('expected_tags')}"
    return msg[0].lower() + msg[1:] if msg else "invalid value"


def _check_consistency(config: StackConfig, origin: str) -> None:
    """Cross-field checks: every provider's API is listed, refs resolve (a provider_id used
    twice in an API is the plan's note: Llama Stack's own configs do it)."""
    problems = []
    for api in config.providers:
        if config.apis and api not in config.apis:
            problems.append(
                f"  providers.{api}: API '{api}' has providers but is not listed in apis"
            )
    for name, ref in config.storage.stores.items():
        if ref.backend not in config.storage.backends:
            problems.append(
                f"  storage.stores.{name}.backend: '{ref.backend}' is not a backend "
                f"(backends: {', '.join(sorted(config.storage.backends)) or 'none'})"
            )
    if problems:
        count = len(problems)
        raise ConfigError(
            "\n".join(
                [
                    f"Invalid run config {origin} ({count} problem{'s' if count > 1 else ''}):",
                    *problems,
                ]
            )
        )
