"""Python functions as tools: `@tool` builds the JSON schema from the signature and docstring."""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import re
import typing
from collections.abc import Callable, Mapping
from typing import Any, overload

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic_core import to_jsonable_python

from llama_workbench.core.errors import BadRequestError

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # what OpenAI accepts as a function name
_GOOGLE_SECTION = re.compile(r"^(\s*)(Args|Arguments|Parameters|Params)\s*:\s*$")
_GOOGLE_ARG = re.compile(r"^\s*\*{0,2}(\w+)\s*(?:\(([^)]*)\))?\s*:\s*(.*)$")
_REST_PARAM = re.compile(r"^\s*:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$")
_REST_FIELD = re.compile(r"^\s*:\w+")


class FunctionTool:
    """A Python function the model can call: `.name`, `.description`, `.parameters` (JSON schema).

    `await t.ainvoke('{"city": "Paris"}')` validates the model's arguments against the signature
    and returns the result as text; `t(...)` calls the function itself.
    """

    __name__: str  # the function's, with __doc__ and __wrapped__ (functools.update_wrapper)

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"@tool needs a function, got {type(fn).__name__}")
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.name: str = name or str(getattr(fn, "__name__", ""))
        if not _NAME.match(self.name):
            raise ValueError(
                f"Tool name '{self.name}' must be 1-64 letters, digits, '_' or '-' (pass name=...)"
            )
        doc = inspect.getdoc(fn) or ""
        self.description = description if description is not None else _summary(doc)
        self._params = _parameters(fn, self.name)
        self._model = _arguments_model(fn, self.name, self._params, _arg_docs(doc))
        self.parameters: dict[str, Any] = _clean_schema(self._model.model_json_schema())

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"FunctionTool(name={self.name!r}, parameters={list(self._params)})"

    def to_openai(self) -> dict[str, Any]:
        """The Responses API's function tool: {"type": "function", "name", ..., "parameters"}."""
        return {
            "type": "function",
            "name": self.name,
            "description": self.description,
            "parameters": self.parameters,
            "strict": None,
        }

    async def ainvoke(self, arguments: str | Mapping[str, Any]) -> str:
        """Validate the arguments (JSON text or a dict), run the function, return text.

        Sync functions run in a worker thread; a str result is returned as is, anything else
        as JSON. Arguments that don't fit the signature raise BadRequestError naming the field.
        """
        values = self._validate(_parse_arguments(self.name, arguments))
        positional = [values.pop(p) for p, kind in self._params.items() if kind == _POSITIONAL]
        if inspect.iscoroutinefunction(self.fn):
            result = await self.fn(*positional, **values)
        else:
            result = await asyncio.to_thread(self.fn, *positional, **values)
            if inspect.isawaitable(result):
                result = await result
        if isinstance(result, str):
            return result
        return json.dumps(to_jsonable_python(result, fallback=str), ensure_ascii=False)

    def _validate(self, arguments: dict[str, Any]) -> dict[str, Any]:
        try:
            parsed = self._model.model_validate(arguments)
        except ValidationError as exc:
            problems = [
                (".".join(str(p) for p in e["loc"]) or "(arguments)", e["msg"])
                for e in exc.errors()
            ]
            raise BadRequestError(
                f"Invalid arguments for tool '{self.name}': "
                + "; ".join(f"{field}: {msg}" for field, msg in problems),
                details={"tool": self.name, "fields": [field for field, _ in problems]},
            ) from None
        return {name: getattr(parsed, _field(i)) for i, name in enumerate(self._params)}


@overload
def tool(fn: Callable[..., Any], /) -> FunctionTool: ...


@overload
def tool(
    *, name: str | None = None, description: str | None = None
) -> Callable[[Callable[..., Any]], FunctionTool]: ...


def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
) -> FunctionTool | Callable[[Callable[..., Any]], FunctionTool]:
    """Make a function a tool: `@tool` or `@tool(name=..., description=...)`.

    Every parameter needs a type annotation (it becomes the JSON schema); parameters with
    defaults are optional. Descriptions come from the docstring: its first paragraph for the
    tool, its `Args:` section (Google style) or `:param x:` lines (reST) for the parameters.
    """
    if fn is not None:
        return FunctionTool(fn, name=name, description=description)

    def decorate(f: Callable[..., Any]) -> FunctionTool:
        return FunctionTool(f, name=name, description=description)

    return decorate


# -- signature -> arguments model

_POSITIONAL = "positional"
_KEYWORD = "keyword"


def _field(index: int) -> str:
    # Internal field names: a parameter may be called `json` or `_x`, which pydantic reserves.
    return f"p{index}"


def _parameters(fn: Callable[..., Any], tool_name: str) -> dict[str, str]:
    """{parameter: how it's passed}; TypeError for what a JSON schema can't describe."""
    params: dict[str, str] = {}
    for p in inspect.signature(fn).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            star = "*" if p.kind == p.VAR_POSITIONAL else "**"
            raise TypeError(
                f"Tool '{tool_name}': {star}{p.name} can't be described by a JSON schema; "
                "name every parameter."
            )
        if p.annotation is inspect.Parameter.empty:
            raise TypeError(
                f"Tool '{tool_name}': parameter '{p.name}' needs a type annotation "
                "(it becomes the parameter's JSON schema)."
            )
        params[p.name] = _POSITIONAL if p.kind == p.POSITIONAL_ONLY else _KEYWORD
    return params


def _arguments_model(
    fn: Callable[..., Any], tool_name: str, params: dict[str, str], docs: dict[str, str]
) -> type[BaseModel]:
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:
        raise TypeError(f"Tool '{tool_name}': can't resolve its type annotations: {exc}") from exc
    signature = inspect.signature(fn).parameters
    fields: dict[str, Any] = {}
    for i, name in enumerate(params):
        default = signature[name].default
        info = Field(
            ... if default is inspect.Parameter.empty else default,
            alias=name,
            description=docs.get(name),
        )
        fields[_field(i)] = (hints[name], info)
    try:
        return create_model(
            f"{tool_name}_arguments",
            __config__=ConfigDict(extra="forbid", arbitrary_types_allowed=False),
            **fields,
        )
    except Exception as exc:
        raise TypeError(f"Tool '{tool_name}': its parameters have no JSON schema: {exc}") from exc


def _clean_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema without pydantic's generated titles (noise to a model), at every level."""
    out = {k: v for k, v in schema.items() if k != "title"}
    if isinstance(out.get("properties"), dict):
        out["properties"] = {k: _clean_schema(v) for k, v in out["properties"].items()}
    for key in ("$defs", "patternProperties"):
        if isinstance(out.get(key), dict):
            out[key] = {k: _clean_schema(v) for k, v in out[key].items()}
    for key in ("items", "additionalProperties", "not"):
        if isinstance(out.get(key), dict):
            out[key] = _clean_schema(out[key])
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        if isinstance(out.get(key), list):
            out[key] = [_clean_schema(s) if isinstance(s, dict) else s for s in out[key]]
    return out


def _parse_arguments(tool_name: str, arguments: str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(arguments, str):
        if not arguments.strip():
            return {}
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError as exc:
            raise BadRequestError(
                f"Tool '{tool_name}': the arguments are not valid JSON ({exc.msg} at {exc.pos})."
            ) from None
    if not isinstance(arguments, Mapping):
        raise BadRequestError(
            f"Tool '{tool_name}': the arguments must be a JSON object, "
            f"got {type(arguments).__name__}."
        )
    return dict(arguments)


# -- docstrings


def _summary(doc: str) -> str:
    """The docstring's first paragraph, on one line."""
    lines: list[str] = []
    for line in doc.strip().splitlines():
        if not line.strip() or _GOOGLE_SECTION.match(line) or _REST_FIELD.match(line):
            break
        lines.append(line.strip())
    return " ".join(lines)


def _arg_docs(doc: str) -> dict[str, str]:
    """Per-parameter descriptions from a Google-style `Args:` section or reST `:param x:`."""
    docs = _google_args(doc.splitlines())
    docs.update({k: v for k, v in _rest_params(doc.splitlines()).items() if k not in docs})
    return docs


def _google_args(lines: list[str]) -> dict[str, str]:
    docs: dict[str, str] = {}
    section: int | None = None  # the indentation of the `Args:` header, inside its section
    arg_indent: int | None = None  # the indentation of its `name (type): text` lines
    current: str | None = None
    for line in lines:
        header = _GOOGLE_SECTION.match(line)
        if header:
            section, arg_indent, current = len(header.group(1)), None, None
            continue
        if section is None or not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        if indent <= section:  # the next section (Returns:, Raises:...) or the text after
            section = None
            continue
        arg_indent = indent if arg_indent is None else arg_indent
        arg = _GOOGLE_ARG.match(line)
        if arg and indent == arg_indent:
            current = arg.group(1)
            docs[current] = arg.group(3).strip()
        elif current is not None:  # a continuation line
            docs[current] = f"{docs[current]} {line.strip()}".strip()
    return docs


def _rest_params(lines: list[str]) -> dict[str, str]:
    docs: dict[str, str] = {}
    current: str | None = None
    for line in lines:
        param = _REST_PARAM.match(line)
        if param:
            current = param.group(1)
            docs[current] = param.group(2).strip()
        elif _REST_FIELD.match(line) or not line.strip():
            current = None
        elif current is not None:
            docs[current] = f"{docs[current]} {line.strip()}"
    return docs
