"""What every API face shares: arguments to the implementation, sync or async, streams wrapped."""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, NoReturn, TypeVar

from pydantic import BaseModel, ValidationError

from llama_workbench.core.bridge import (
    AsyncStream,
    SyncStream,
    is_async_iterator,
    run_async,
    run_sync,
)
from llama_workbench.core.config import validation_problems
from llama_workbench.core.errors import UnprocessableError

F = TypeVar("F", bound="Face")
C = TypeVar("C", bound=Callable[..., Any])


class Face:
    """One API of a stack (`stack.inference`): the methods of its Protocol with their parameters.

    The subclasses are generated from the Protocols (llama_workbench/facade/_codegen.py); each
    method hands `locals()` to `_call` or `_send`, which pass on only what the caller gave.
    """

    __slots__ = ("_api", "_impl", "_loop")

    def __init__(self, api: str, impl: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._api = api
        self._impl = impl
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(
            f"The {self._api} API has no method '{name}'. Methods: {', '.join(_methods(type(self)))}"
        )

    def __repr__(self) -> str:
        return f"<{self._api} API: {', '.join(_methods(type(self)))}>"

    def _sub(self, name: str, face: type[F]) -> F:
        """A nested face (`stack.tool_runtime.rag`) over the implementation's attribute."""
        return face(self._api, getattr(self._impl, name), self._loop)

    def _start(self, method: str, values: dict[str, Any]) -> Any:
        args, kwargs = _arguments(type(self), method, values)
        return getattr(self._impl, method)(*args, **kwargs)

    def _start_request(
        self, request_cls: type[BaseModel], method: str, values: dict[str, Any]
    ) -> Any:
        _, fields = _arguments(type(self), method, values)
        try:
            request = request_cls.model_validate(fields)
        except ValidationError as exc:
            problems = validation_problems(exc, "", {})
            raise UnprocessableError(
                f"Invalid {request_cls.__name__}:\n" + "\n".join(problems)
            ) from None
        return getattr(self._impl, method)(request)


class SyncFace(Face):
    """Calls that return when the work is done (a stream: an iterator of its items)."""

    __slots__ = ()

    def _call(self, method: str, values: dict[str, Any]) -> Any:
        return self._finish(self._start(method, values))

    def _send(self, request_cls: type[BaseModel], method: str, values: dict[str, Any]) -> Any:
        return self._finish(self._start_request(request_cls, method, values))

    def _finish(self, coro: Any) -> Any:
        result = run_sync(coro, self._loop)
        return SyncStream(result, self._loop) if is_async_iterator(result) else result


class AsyncFace(Face):
    """Coroutines, awaitable from any event loop (a stream: an async iterator of its items)."""

    __slots__ = ()

    async def _call(self, method: str, values: dict[str, Any]) -> Any:
        return await self._finish(self._start(method, values))

    async def _send(self, request_cls: type[BaseModel], method: str, values: dict[str, Any]) -> Any:
        return await self._finish(self._start_request(request_cls, method, values))

    async def _finish(self, coro: Any) -> Any:
        result = await run_async(coro, self._loop)
        if is_async_iterator(result) and asyncio.get_running_loop() is not self._loop:
            return AsyncStream(result, self._loop)
        return result


def fields_of(request_cls: type[BaseModel]) -> Callable[[C], C]:
    """Marks a method whose keyword arguments are the fields of `request_cls`: arguments that
    don't fit (one missing, one unknown, one given by position) are the request's errors, an
    UnprocessableError that names each field, as a bad request body is.

    A request already built goes as it is (one `request_cls` by position: what the REST routes
    pass); a dict by position is taken as the fields.
    """

    def decorate(fn: C) -> C:
        name = fn.__name__

        def check(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
            if len(args) == 2 and not kwargs and isinstance(args[1], Mapping):
                given = dict(args[1])
                args, kwargs = args[:1], given
            try:
                _signature(fn).bind(*args, **kwargs)
            except TypeError as exc:
                _refuse(request_cls, args[1:], kwargs, exc)
            return args[0], kwargs

        def built(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
            return len(args) == 2 and not kwargs and isinstance(args[1], request_cls)

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def checked_async(*args: Any, **kwargs: Any) -> Any:
                if built(args, kwargs):
                    face = args[0]
                    return await face._finish(getattr(face._impl, name)(args[1]))
                face, fields = check(args, kwargs)
                return await fn(face, **fields)

            return checked_async  # type: ignore[return-value]

        @functools.wraps(fn)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if built(args, kwargs):
                face = args[0]
                return face._finish(getattr(face._impl, name)(args[1]))
            face, fields = check(args, kwargs)
            return fn(face, **fields)

        return checked  # type: ignore[return-value]

    return decorate


@functools.cache
def _signature(fn: Callable[..., Any]) -> inspect.Signature:
    return inspect.signature(fn)  # on first call, not at import: a face loads in a millisecond


def _refuse(
    cls: type[BaseModel], args: tuple[Any, ...], kwargs: dict[str, Any], exc: TypeError
) -> NoReturn:
    if args:
        raise UnprocessableError(
            f"Pass the fields of {cls.__name__} as keyword arguments (got {len(args)} by position)."
        )
    problems = [
        f"  {name} is not a field of {cls.__name__}"
        for name in sorted(set(kwargs) - set(cls.model_fields))
    ]
    try:
        cls.model_validate({k: v for k, v in kwargs.items() if k in cls.model_fields})
    except ValidationError as error:
        problems = validation_problems(error, "", {}) + problems
    if not problems:
        raise exc
    raise UnprocessableError(f"Invalid {cls.__name__}:\n" + "\n".join(problems)) from None


_METHODS: dict[type[Face], list[str]] = {}
_PARAMETERS: dict[tuple[type[Face], str], tuple[inspect.Parameter, ...]] = {}


def _methods(face: type[Face]) -> list[str]:
    if face not in _METHODS:
        _METHODS[face] = sorted(n for n in dir(face) if not n.startswith("_"))
    return _METHODS[face]


def _parameters(face: type[Face], method: str) -> tuple[inspect.Parameter, ...]:
    key = (face, method)
    if key not in _PARAMETERS:  # a race computes the same value twice: harmless
        _PARAMETERS[key] = tuple(inspect.signature(getattr(face, method)).parameters.values())[1:]
    return _PARAMETERS[key]


def _arguments(
    face: type[Face], method: str, values: dict[str, Any]
) -> tuple[list[Any], dict[str, Any]]:
    """The call's (positional, keyword) arguments: required positional parameters by position,
    the rest by name, and only those given (a value equal to the default is left to the callee,
    as if the caller had left it out)."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for p in _parameters(face, method):
        value = values[p.name]
        if p.kind is p.VAR_KEYWORD:
            kwargs.update(value)
        elif p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            args.append(value)
        elif p.default is p.empty or not _is_default(value, p.default):
            kwargs[p.name] = value
    return args, kwargs


def _is_default(value: Any, default: Any) -> bool:
    if value is default:
        return True
    return type(value) is type(default) and type(value) in (int, float, str) and value == default
