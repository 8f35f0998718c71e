"""Protocol checks: the public methods a Protocol declares, and whether an object implements them."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, Protocol

from llama_workbench.core.errors import ResolverError


def check_protocol(impl: object, protocol: type, label: str) -> None:
    """Every method of `protocol` must exist on `impl`, be async, and accept the same arguments."""
    problems = []
    for name, proto_fn in protocol_methods(protocol).items():
        fn = getattr(impl, name, None)
        if fn is None or not callable(fn):
            problems.append(f"missing method {name}()")
        elif not (inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn)):
            problems.append(f"{name}() must be 'async def'")
        elif not _accepts_same_arguments(fn, proto_fn):
            wanted = ", ".join(_unbound(proto_fn).parameters)
            have = ", ".join(inspect.signature(fn).parameters)
            problems.append(f"{name}({have}) must accept ({wanted})")
    if problems:
        raise ResolverError(
            f"{label} does not implement {protocol.__name__}: " + "; ".join(problems)
        )


@functools.cache
def protocol_methods(protocol: type) -> dict[str, Callable[..., Any]]:
    """Public methods a Protocol declares, including those of the Protocols it extends."""
    methods: dict[str, Callable[..., Any]] = {}
    for cls in reversed(protocol.__mro__):
        if cls in (object, Protocol) or not getattr(cls, "_is_protocol", False):
            continue
        for name, value in vars(cls).items():
            if not name.startswith("_") and inspect.isfunction(value):
                methods[name] = value
    return methods


def _unbound(fn: Callable[..., Any]) -> inspect.Signature:
    sig = inspect.signature(fn)
    return sig.replace(parameters=list(sig.parameters.values())[1:])


def _accepts_same_arguments(fn: Callable[..., Any], proto_fn: Callable[..., Any]) -> bool:
    params = list(_unbound(proto_fn).parameters.values())
    args = [
        object()
        for p in params
        if p.default is inspect.Parameter.empty and p.kind == p.POSITIONAL_OR_KEYWORD
    ]
    try:
        inspect.signature(fn).bind(*args)
    except TypeError:
        return False
    return True
