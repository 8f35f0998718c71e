"""Writes the typed API faces (facade/sync/*.py, facade/aio/*.py) from the Protocols in apis/*/api.py.

Run `python -m llama_workbench.facade._codegen` after changing a Protocol or a request model
(`--check` only reports what differs); tests/unit/facade/test_codegen.py fails until the
committed faces are what this writes.
"""

from __future__ import annotations

import ast
import enum
import inspect
import subprocess
import sys
import tempfile
import textwrap
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from llama_workbench.core.datatypes import Api
from llama_workbench.facade._source import (
    Annotation,
    Imports,
    docstring,
    field_sources,
    members,
    union,
)
from llama_workbench.generated_files import generator_main

PACKAGE_DIR = Path(__file__).parent
ROOT = PACKAGE_DIR.parent.parent
KINDS = {"sync": True, "aio": False}  # subpackage -> sync


@dataclass
class Param:
    name: str
    annotation: str
    default: str | None = None  # source; None: required
    kind: inspect._ParameterKind = inspect.Parameter.KEYWORD_ONLY

    def source(self, annotation: str | None = None, default: str | None = "keep") -> str:
        text = f"{self.name}: {annotation or self.annotation}"
        default = self.default if default == "keep" else default
        return text if default is None else f"{text} = {default}"


@dataclass
class Method:
    name: str
    params: list[Param]
    returns: str
    doc: str
    request: str | None = None  # the request model's class name
    var_keyword: bool = False
    stream: tuple[str, str] | None = None  # (non-stream return, stream return) when overloaded


class FaceWriter:
    """One generated module: the sync or the async face of one API (and of its sub-APIs)."""

    def __init__(self, api: Api, protocol: type, *, sync: bool) -> None:
        self.api = api
        self.protocol = protocol
        self.sync = sync
        self.imports = Imports()
        self.imports.add("__future__", "annotations", runtime=True)
        self.imports.add("typing", "TYPE_CHECKING", runtime=True)

    def module(self) -> str:
        from llama_workbench.core.protocols import protocol_methods

        protocols = [self.protocol, *getattr(self.protocol, "__sub_protocols__", {}).values()]
        sync = self.sync
        base = "SyncFace" if sync else "AsyncFace"
        self.imports.add("llama_workbench.facade._runtime", base, runtime=True)
        classes = [
            self._class(p, [self._method(p, n, sync) for n in protocol_methods(p)], base, sync)
            for p in protocols
        ]
        source = Path(inspect.getfile(self.protocol)).relative_to(ROOT)
        where = f"stack.{self.api.value}" if sync else f"stack.aio.{self.api.value}"
        header = [
            f'"""`{where}`: the {self.protocol.__name__} API '
            + ("as calls that return results." if sync else "as coroutines."),
            "",
            f"Generated from {source.as_posix()} by `python -m llama_workbench.facade._codegen`;",
            'edit the Protocol (or its request models) and run it again, never this file."""',
            "",
        ]
        return "\n".join([*header, *self.imports.lines(), "", *classes])

    def _class(self, protocol: type, methods: list[Method], base: str, sync: bool) -> str:
        name = face_name(protocol, sync)
        doc = inspect.getdoc(protocol) or ""
        lines = [f"class {name}({base}):", docstring(doc, 4), "", "    __slots__ = ()", ""]
        for sub, sub_protocol in getattr(protocol, "__sub_protocols__", {}).items():
            sub_face = face_name(sub_protocol, sync)
            lines += [
                "    @property",
                f"    def {sub}(self) -> {sub_face}:",
                docstring(inspect.getdoc(sub_protocol) or "", 8),
                f'        return self._sub("{sub}", {sub_face})',
                "",
            ]
        for m in methods:
            lines += self._method_source(m, sync)
        return "\n".join(lines) + "\n"

    def _method(self, protocol: type, name: str, sync: bool) -> Method:
        from llama_workbench.core.protocols import protocol_methods

        fn = protocol_methods(protocol)[name]
        namespace = vars(sys.modules[fn.__module__])
        clashes = set(protocol_methods(protocol))
        rewrite = Annotation(namespace, self.imports, clashes, widen=False, sync=sync)
        returns = ast.unparse(
            rewrite.visit(ast.parse(fn.__annotations__["return"], mode="eval").body)
        )
        doc = inspect.getdoc(fn)
        if not doc:
            raise ValueError(f"{protocol.__name__}.{name} has no docstring: say what it does")
        request = request_model(fn)
        if request is None:
            sig = inspect.signature(fn)
            params = [
                Param(
                    p.name,
                    ast.unparse(rewrite.visit(ast.parse(p.annotation, mode="eval").body)),
                    None if p.default is p.empty else self._default(p.default),
                    p.kind,
                )
                for p in list(sig.parameters.values())[1:]
            ]
            return Method(name, params, returns, doc)
        self.imports.add(request.__module__, request.__name__, runtime=True)
        params = self._fields(request, clashes)
        stream = None
        node = ast.parse(returns, mode="eval").body
        if "stream" in request.model_fields and isinstance(node, ast.BinOp):
            options = [ast.unparse(m) for m in members(node)]
            streamed = [m for m in options if m.startswith(("SyncStream[", "AsyncIterator["))]
            plain = [m for m in options if m not in streamed]
            assert len(streamed) == len(plain) == 1, returns
            stream = (plain[0], streamed[0])
            self.imports.add("typing", "overload", runtime=True)
            self.imports.add("typing", "Literal")
        return Method(
            name,
            params,
            returns,
            _request_doc(doc, request),
            request=request.__name__,
            var_keyword=request.model_config.get("extra") == "allow",
            stream=stream,
        )

    def _fields(self, request: type[BaseModel], clashes: set[str]) -> list[Param]:
        sources = field_sources(request)
        params = []
        for name, info in request.model_fields.items():
            assert info.alias is None, f"{request.__name__}.{name} has an alias"
            node, namespace = sources[name]
            rewrite = Annotation(namespace, self.imports, clashes, widen=True, sync=False)
            annotation = rewrite.visit(node)
            if info.is_required():
                default = None
            elif info.default_factory is not None:  # None stands for "the default": left out
                default = "None"
                annotation = union([annotation, ast.Constant(None)])
            else:
                default = self._default(info.default)
            params.append(Param(name, ast.unparse(annotation), default))
        return sorted(params, key=lambda p: p.default is not None)

    def _default(self, value: Any) -> str:
        if isinstance(value, enum.Enum):
            cls = type(value)
            self.imports.add(cls.__module__, cls.__name__, runtime=True)
            return f"{cls.__name__}.{value.name}"
        assert value is None or type(value) in (bool, int, float, str), repr(value)
        return repr(value)

    def _method_source(self, m: Method, sync: bool) -> list[str]:
        prefix = "def" if sync else "async def"
        lines: list[str] = []
        if m.stream is not None:
            plain, streamed = m.stream
            for stream_type, default, returns in (
                ("Literal[False] | None", "False", plain),
                ("Literal[True]", None, streamed),
            ):
                lines += [
                    "    @overload",
                    f"    {prefix} {m.name}({self._params(m, stream_type, default)}) -> {returns}: ...",
                    "",
                ]
            lines += [
                "    @overload",
                f"    {prefix} {m.name}({self._params(m)}) -> {m.returns}: ...",
                "",
            ]
        if m.request is not None:
            self.imports.add("llama_workbench.facade._runtime", "fields_of", runtime=True)
            lines.append(f"    @fields_of({m.request})")
        lines += [f"    {prefix} {m.name}({self._params(m)}) -> {m.returns}:", docstring(m.doc, 8)]
        await_ = "" if sync else "await "
        call = (
            f'self._send({m.request}, "{m.name}", locals())'
            if m.request
            else f'self._call("{m.name}", locals())'
        )
        if m.returns == "None":
            lines.append(f"        {await_}{call}")
        else:
            self.imports.add("typing", "cast", runtime=True)
            lines.append(f'        return cast("{m.returns}", {await_}{call})')
        return [*lines, ""]

    def _params(
        self, m: Method, stream_type: str | None = None, stream_default: str | None = ""
    ) -> str:
        parts = ["self"]
        if m.request is not None:
            parts.append("*")
        star_done = m.request is not None
        for p in m.params:
            if p.kind is inspect.Parameter.KEYWORD_ONLY and not star_done:
                parts.append("*")
                star_done = True
            if stream_type is not None and p.name == "stream":
                parts.append(p.source(stream_type, stream_default or None))
            else:
                parts.append(p.source())
        if m.var_keyword:
            self.imports.add("typing", "Any")
            parts.append("**extra: Any")
        return ", ".join(parts)


def request_model(fn: Callable[..., Any]) -> type[BaseModel] | None:
    """The request model of a Protocol method whose one argument is one (its fields become
    the face's keyword arguments)."""
    hints = typing.get_type_hints(fn)
    hints.pop("return", None)
    if len(hints) == 1:
        (hint,) = hints.values()
        if isinstance(hint, type) and issubclass(hint, BaseModel):
            return hint
    return None


def _request_doc(doc: str, request: type[BaseModel]) -> str:
    """The method's docstring, then what its keyword arguments are (wrapped for the source)."""
    own = request.__dict__.get("__doc__")  # not an inherited one
    what = f": {inspect.cleandoc(own).splitlines()[0]}" if own else "."
    lines = [
        doc,
        "",
        *textwrap.wrap(f"Keyword arguments: the fields of `{request.__name__}`{what}", 88),
    ]
    for name, info in request.model_fields.items():
        if info.description:
            lines += textwrap.wrap(
                f"{name}: {info.description}",
                88,
                initial_indent="    ",
                subsequent_indent="        ",
            )
    if request.model_config.get("extra") == "allow":
        lines.append("Other keyword arguments go to the provider as extra body fields.")
    return "\n".join(lines)


def face_name(protocol: type, sync: bool) -> str:
    return f"{'' if sync else 'Async'}{protocol.__name__}Api"


def api_protocols() -> dict[Api, type]:
    """Every API a stack may serve, with the Protocol its callers use."""
    from llama_workbench.core.api_table import public_protocol

    found: dict[Api, type] = {}
    for api in Api:
        try:
            found[api] = public_protocol(api)
        except KeyError:  # named by run configs, served by no Protocol of its own (tool_groups)
            continue
    return found


def hosts_module(protocols: dict[Api, type], *, sync: bool) -> str:
    """The typed `stack.<api>` (or `stack.aio.<api>`) properties, each importing its face on use."""
    kind = "sync" if sync else "aio"
    host = "StackApis" if sync else "AsyncStackApis"
    what = "`stack`, as calls that return results" if sync else "`stack.aio`, as coroutines"
    lines = [
        f'"""The typed API properties of {what}.',
        "",
        "Generated by `python -m llama_workbench.facade._codegen`; never edit this file.",
        "Each property imports its API's face when first read: a stack builds without them.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import TYPE_CHECKING, TypeVar",
        "",
        "from llama_workbench.core.datatypes import Api",
        "",
        "if TYPE_CHECKING:",
        "    from llama_workbench.facade._runtime import Face",
        *(
            f"    from llama_workbench.facade.{kind}.{api.value} import {face_name(p, sync)}"
            for api, p in protocols.items()
        ),
        "",
        'F = TypeVar("F", bound="Face")',
        "",
        "",
        f"class {host}:",
        f'    """The APIs of {what}; reading a disabled one raises AttributeError."""',
        "",
        "    __slots__ = ()",
        "",
        "    def _face(self, api: Api, face: type[F]) -> F:",
        "        raise NotImplementedError",
        "",
    ]
    for api, protocol in protocols.items():
        face = face_name(protocol, sync)
        lines += [
            "    @property",
            f"    def {api.value}(self) -> {face}:",
            docstring(inspect.getdoc(protocol) or "", 8),
            f"        from llama_workbench.facade.{kind}.{api.value} import {face}",
            "",
            f"        return self._face(Api.{api.name}, {face})",
            "",
        ]
    return "\n".join(lines)


def render() -> dict[str, str]:
    """Path under facade/ -> source, unformatted."""
    protocols = api_protocols()
    files = {}
    for kind, sync in KINDS.items():
        for api, p in protocols.items():
            files[f"{kind}/{api.value}.py"] = FaceWriter(api, p, sync=sync).module()
        files[f"{kind}/_apis.py"] = hosts_module(protocols, sync=sync)
    return files


def write(target: Path) -> list[Path]:
    """Write every face under `target`, formatted as the project's ruff settings format them."""
    paths = []
    for name, source in render().items():
        path = target / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(source)
        paths.append(path)
    ruff = [sys.executable, "-m", "ruff"]
    config = ["--config", str(ROOT / "pyproject.toml")]
    files = [str(p) for p in paths]
    fix = ["check", "-q", *config, "--select", "I,F401", "--fix", "--exit-zero", *files]
    subprocess.run([*ruff, *fix], check=True)
    subprocess.run([*ruff, "format", "-q", *config, *files], check=True)
    return paths


def differences() -> list[str]:
    """The committed faces that differ from what `write` would produce now (or are missing)."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = {p.relative_to(tmp).as_posix(): p.read_text() for p in write(Path(tmp))}
    stale = [
        name
        for name, text in fresh.items()
        if not (PACKAGE_DIR / name).exists() or (PACKAGE_DIR / name).read_text() != text
    ]
    extra = [
        p.relative_to(PACKAGE_DIR).as_posix()
        for kind in KINDS
        for p in (PACKAGE_DIR / kind).glob("*.py")
        if p.name != "__init__.py" and p.relative_to(PACKAGE_DIR).as_posix() not in fresh
    ]
    return sorted(stale + extra)


def main(argv: list[str] | None = None) -> int:
    return generator_main(
        argv,
        prog=None,
        description=(__doc__ or "").splitlines()[0],
        stale=lambda: (f"llama_workbench/facade/{name}" for name in differences()),
        write=lambda: (str(path.relative_to(ROOT)) for path in write(PACKAGE_DIR)),
    )


if __name__ == "__main__":
    sys.exit(main())
