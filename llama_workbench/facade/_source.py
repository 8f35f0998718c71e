"""Source-writing pieces of the face generator: imports, annotations rewritten, docstrings."""

from __future__ import annotations

import ast
import builtins
import collections.abc
import enum
import functools
import inspect
import sys
import textwrap
import typing
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel


@dataclass
class Imports:
    """The generated module's imports: those its code runs, and those only its annotations name.

    One source per name: an alias re-exported by several modules is imported from the first.
    """

    runtime: dict[str, str] = field(default_factory=dict)  # name -> module
    typing_only: dict[str, str] = field(default_factory=dict)
    modules: set[str] = field(default_factory=set)  # `import builtins`

    def add(self, module: str, name: str | None, *, runtime: bool = False) -> None:
        if name is None:
            self.modules.add(module)
        elif runtime:
            self.runtime.setdefault(name, module)
            self.typing_only.pop(name, None)
        elif name not in self.runtime:
            self.typing_only.setdefault(name, module)

    def lines(self) -> list[str]:
        out = _import_lines(self.runtime)
        only = [f"import {m}" for m in sorted(self.modules)] + _import_lines(self.typing_only)
        if only:
            out += ["", "if TYPE_CHECKING:", *(f"    {line}" for line in only)]
        return out


def _import_lines(names: dict[str, str]) -> list[str]:
    by_module: dict[str, list[str]] = {}
    for name, module in names.items():
        by_module.setdefault(module, []).append(name)
    return [f"from {m} import {', '.join(sorted(ns))}" for m, ns in sorted(by_module.items())]


class Annotation(ast.NodeTransformer):
    """An annotation rewritten for the generated module; records the imports it needs.

    widen: a request field's type as a caller may give it (models as dicts, enums as
    strings, lists as any sequence: the request model validates them). sync: streams are
    iterators (`AsyncIterator[X]` -> `SyncStream[X]`).
    """

    def __init__(
        self,
        namespace: dict[str, Any],
        imports: Imports,
        clashes: set[str],
        *,
        widen: bool,
        sync: bool,
    ) -> None:
        self.namespace = namespace
        self.imports = imports
        self.clashes = clashes  # names the face class defines (`list`): builtins are qualified
        self.widen = widen
        self.sync = sync

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        base = self._resolve(node.value)
        if base is typing.Annotated:
            assert isinstance(node.slice, ast.Tuple)
            inner: ast.AST = self.visit(node.slice.elts[0])
            return inner
        if self.sync and base is collections.abc.AsyncIterator:
            self.imports.add("llama_workbench.core.bridge", "SyncStream")
            return ast.Subscript(ast.Name("SyncStream"), self.visit(node.slice))
        if self.widen and base is list:
            self.imports.add("collections.abc", "Sequence")
            return ast.Subscript(ast.Name("Sequence"), self.visit(node.slice))
        if base is typing.Literal:
            self.visit(node.value)
            return node
        return self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        assert isinstance(node.value, ast.Name), ast.unparse(node)
        module = self.namespace.get(node.value.id, getattr(builtins, node.value.id, None))
        assert inspect.ismodule(module), ast.unparse(node)
        self.imports.add(module.__name__, None)
        return node

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id == "None":
            return node
        obj = self._resolve(node)
        if node.id not in self.namespace and hasattr(builtins, node.id):
            if node.id in self.clashes:
                self.imports.add("builtins", None)
                return ast.Attribute(ast.Name("builtins"), node.id)
            return node
        self._import(node.id, obj)
        if self.widen and isinstance(obj, type) and issubclass(obj, enum.Enum):
            return union([node, ast.Name("str")])
        if self.widen and _has_model(obj):
            self.imports.add("typing", "Any")
            return union([node, ast.parse("dict[str, Any]", mode="eval").body])
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        if not isinstance(node.op, ast.BitOr):
            return self.generic_visit(node)
        options: list[ast.expr] = []
        for side in (node.left, node.right):
            new = self.visit(side)
            options += members(new) if isinstance(new, ast.BinOp) else [new]
        return union(options)

    def _resolve(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Name):
            return self.namespace.get(node.id, getattr(builtins, node.id, None))
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            return getattr(self._resolve(node.value), node.attr, None)
        return None

    def _import(self, name: str, obj: Any) -> None:
        for module in (typing, collections.abc):
            if getattr(module, name, None) is obj:
                self.imports.add(module.__name__, name)
                return
        home = getattr(obj, "__module__", None)
        if isinstance(obj, type) and home and getattr(sys.modules[home], name, None) is obj:
            self.imports.add(home, name)
            return
        self.imports.add(defined_in(self.namespace["__name__"], name), name)  # an alias


@functools.cache
def defined_in(module: str, name: str) -> str:
    """The module that defines `name`, following `from x import name` re-exports from `module`."""
    for stmt in ast.parse(inspect.getsource(sys.modules[module])).body:
        if (
            isinstance(stmt, ast.ImportFrom)
            and stmt.module
            and any(a.name == name and a.asname is None for a in stmt.names)
        ):
            return defined_in(stmt.module, name)
    return module


def members(node: ast.BinOp) -> list[ast.expr]:
    out: list[ast.expr] = []
    for side in (node.left, node.right):
        if isinstance(side, ast.BinOp) and isinstance(side.op, ast.BitOr):
            out += members(side)
        else:
            out.append(side)
    return out


def union(members: list[ast.expr]) -> ast.expr:
    """`a | b | None`: members once each, None last."""
    seen: dict[str, ast.expr] = {}
    for m in members:
        seen.setdefault(ast.unparse(m), m)
    ordered = [m for k, m in seen.items() if k != "None"] + (
        [seen["None"]] if "None" in seen else []
    )
    node = ordered[0]
    for m in ordered[1:]:
        node = ast.BinOp(node, ast.BitOr(), m)
    return node


def _has_model(obj: Any) -> bool:
    if isinstance(obj, type):
        return issubclass(obj, BaseModel)
    return any(_has_model(a) for a in typing.get_args(obj))


def field_sources(model: type[BaseModel]) -> dict[str, tuple[ast.expr, dict[str, Any]]]:
    """Each field's annotation as written in its class, with that class's module namespace."""
    found: dict[str, tuple[ast.expr, dict[str, Any]]] = {}
    for cls in model.__mro__:
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)) or cls is BaseModel:
            continue
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
        klass = tree.body[0]
        assert isinstance(klass, ast.ClassDef)
        for stmt in klass.body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                found.setdefault(
                    stmt.target.id, (stmt.annotation, vars(sys.modules[cls.__module__]))
                )
    return found


def docstring(doc: str, indent: int) -> str:
    """`doc` as a docstring at `indent` (its text as it is: the API's own words)."""
    pad = " " * indent
    lines = doc.replace("\\", "\\\\").replace('"""', '\\"\\"\\"').splitlines()
    lines[0] = '"""' + lines[0]
    body = "\n".join(f"{pad}{line}" if line else "" for line in lines)
    return f'{body}\n{pad}"""' if len(lines) > 1 else f'{body}"""'
