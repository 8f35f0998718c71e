"""The run config file the Lab panel edits: allowed paths, secret masking, atomic saves."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from llama_workbench.core.config import DATA_HOME_ENV, Loc, format_loc
from llama_workbench.core.errors import BadRequestError, ConfigError, PermissionDeniedError

CONFIG_ENV = "LLAMA_WORKBENCH_CONFIG"
DEFAULT_FILENAME = "run.yaml"
# What a secret looks like in every response; sending it back means "keep the stored value".
MASK = "********"
_SECRET_KEY = re.compile(
    # `token`, but not a count of them (max_tokens, default_max_tokens, max_tokens_in_context)
    r"(api[_-]?key|apikey|password|passwd|secret|(?<!max_)token|credential|authorization"
    r"|private[_-]?key)",
    re.IGNORECASE,
)
# A value that only names an environment variable (no literal default) reveals nothing secret.
_PURE_ENV_REF = re.compile(r"^\$\{env\.[A-Za-z_][A-Za-z0-9_]*(:=|:\+)?\}$")


@dataclass(frozen=True)
class ConfigFile:
    """A run config path the panel may read and write, and where the choice came from."""

    path: Path
    source: str  # "request" | "env" | "default"
    root: Path

    @property
    def display(self) -> str:
        """The path relative to the server's root dir when inside it (what users see in Lab)."""
        try:
            return str(self.path.relative_to(self.root))
        except ValueError:
            return str(self.path)

    @property
    def backup(self) -> Path:
        return self.path.with_name(self.path.name + ".bak")


def allowed_dirs(root_dir: Path) -> list[Path]:
    """The server's root dir and the workbench's own config dir ($LLAMA_WORKBENCH_HOME)."""
    home = Path(os.environ.get(DATA_HOME_ENV) or "~/.llama_workbench").expanduser()
    return [root_dir.resolve(), home.resolve()]


def resolve_config_path(requested: str | None, root_dir: Path) -> ConfigFile:
    """The file to use: the request's path, else $LLAMA_WORKBENCH_CONFIG, else <root>/run.yaml.

    Relative paths are relative to the server's root dir. Anything outside the allowed dirs is
    refused (except the exact file $LLAMA_WORKBENCH_CONFIG names: whoever started the server
    chose it).
    """
    root = root_dir.resolve()
    env_value = os.environ.get(CONFIG_ENV, "").strip()
    env_path = _absolute(env_value, root) if _is_yaml_name(env_value) else None
    if requested and requested.strip():
        path, source = _absolute(requested.strip(), root), "request"
    elif env_path is not None:
        path, source = env_path, "env"
    else:
        path, source = root / DEFAULT_FILENAME, "default"
    if path.suffix not in (".yaml", ".yml"):
        raise BadRequestError(f"'{requested}': a run config is a .yaml or .yml file")
    if path != env_path and not any(path.is_relative_to(d) for d in allowed_dirs(root)):
        raise PermissionDeniedError(
            f"'{requested}' is outside the allowed config directories "
            f"({', '.join(str(d) for d in allowed_dirs(root))})"
        )
    if path.exists() and not path.is_file():
        raise BadRequestError(f"'{requested}' is not a file")
    return ConfigFile(path=path, source=source, root=root)


def _is_yaml_name(value: str) -> bool:
    return value.endswith((".yaml", ".yml"))


def _absolute(value: str, root: Path) -> Path:
    # resolve() follows symlinks, so a link inside the root that points outside is refused.
    return (root / Path(value).expanduser()).resolve()


# ----------------------------------------------------------------------------- reading, writing


def read_raw(file: ConfigFile) -> tuple[dict[str, Any] | None, str | None]:
    """The file's YAML as written (env references unexpanded) and its revision; None if absent."""
    if not file.path.exists():
        return None, None
    text = file.path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{file.display}{where}: invalid YAML: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{file.display}: a run config is a mapping, got {type(data).__name__}")
    return data, revision_of(text)


def revision_of(text: str) -> str:
    """A short hash of the file's text: sent back with edits to catch concurrent changes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def write_atomically(file: ConfigFile, text: str) -> Path | None:
    """Write `text` to the config file: temp file + os.replace; the old file becomes `.bak`."""
    path = file.path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        backup = None
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
            backup = file.backup
            shutil.copy2(path, backup)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return backup


def dump_yaml(data: dict[str, Any], previous: str | None = None) -> str:
    """`data` as YAML; given the file's `previous` text, edited in place (ruamel.yaml's round
    trip), so its comments, key order and quoting survive wherever the values did not change."""
    import io

    from ruamel.yaml import YAML

    rt = YAML()  # round-trip mode
    rt.preserve_quotes = True
    rt.width = 4096  # never re-wrap long values
    rt.indent(mapping=2, sequence=2, offset=0)  # `- provider_id:` under its key, as bundled
    document: Any = None
    if previous is not None:
        try:
            document = rt.load(previous)
        except Exception:  # the old text did not parse: write the new config plainly
            document = None
    out = io.StringIO()
    rt.dump(_merge(document, data) if isinstance(document, dict) else data, out)
    return out.getvalue()


# List items are matched by these ids (a provider, a model...), so editing or removing one in
# the middle keeps the others' comments with them.
_ITEM_IDS = (
    "provider_id",
    "model_id",
    "shield_id",
    "dataset_id",
    "benchmark_id",
    "toolgroup_id",
    "vector_store_id",
)


def _merge(node: Any, new: Any) -> Any:
    """`new`, reusing the nodes of `node` (a ruamel document) where they still apply."""
    if isinstance(node, dict) and isinstance(new, dict):
        for key in [k for k in node if k not in new]:
            del node[key]
        for key, value in new.items():
            node[key] = _merge(node[key], value) if key in node else value
        return node
    if isinstance(node, list) and isinstance(new, list):
        key = _item_id(node, new)
        if key is not None:
            old_items = {item[key]: item for item in node}
            merged = [
                _merge(old_items[item[key]], item) if item[key] in old_items else item
                for item in new
            ]
        else:
            merged = [_merge(node[i], v) if i < len(node) else v for i, v in enumerate(new)]
        # In place (slice assignment keeps the sequence's own comments and style).
        for i in reversed(range(len(node))):
            if not any(m is node[i] for m in merged):
                del node[i]
        for i, item in enumerate(merged):
            if i < len(node) and node[i] is item:
                continue
            node.insert(i, item)
        del node[len(merged) :]
        return node
    unchanged = (
        not isinstance(new, bool | dict | list)
        and not isinstance(node, bool)
        and isinstance(node, type(new))
        and node == new
    )
    return node if unchanged else new  # an unchanged scalar keeps its quoting


def _item_id(old: list[Any], new: list[Any]) -> str | None:
    """The id key every item of both lists has (unique in each), if any."""
    items = [*old, *new]
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for key in _ITEM_IDS:
        if all(isinstance(i.get(key), str) for i in items) and all(
            len({i[key] for i in side}) == len(side) for side in (old, new)
        ):
            return key
    return None


# ----------------------------------------------------------------------------- secrets


def is_secret_key(key: object) -> bool:
    """Keys whose values are secrets whatever the schema says (api_key, password, token, ...)."""
    return isinstance(key, str) and _SECRET_KEY.search(key) is not None


def mask_value(value: Any) -> Any:
    """The mask for a stored secret; empty values and bare `${env.X}` references are shown."""
    if value is None or value == "":
        return value
    if isinstance(value, str) and _PURE_ENV_REF.match(value):
        return value
    return MASK


def mask_secrets(value: Any, secret_fields: Iterable[str] = ()) -> Any:
    """A copy with every secret masked: keys that look secret, and `secret_fields` at the top."""
    top = set(secret_fields)
    if isinstance(value, dict):
        return {
            k: mask_value(v)
            if (k in top or is_secret_key(k)) and not isinstance(v, dict | list)
            else mask_secrets(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    return value


def unmask(new: Any, old: Any, loc: Loc = ()) -> Any:
    """Put the stored secrets back where `new` carries the mask; a mask with nothing stored fails."""
    if isinstance(new, dict):
        old_map = old if isinstance(old, dict) else {}
        return {k: unmask(v, old_map.get(k), (*loc, k)) for k, v in new.items()}
    if isinstance(new, list):
        old_list = old if isinstance(old, list) else []
        return [
            unmask(v, old_list[i] if i < len(old_list) else None, (*loc, i))
            for i, v in enumerate(new)
        ]
    if new == MASK:
        if not isinstance(old, str | int | float) or old in ("", MASK):
            raise BadRequestError(
                f"{format_loc(loc)}: the masked value was sent back but no secret is stored "
                "there; enter the secret (or an ${env.NAME} reference)",
                details={"loc": list(loc)},
            )
        return old
    return new
