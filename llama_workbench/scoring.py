"""Python scoring functions from the notebook: `register_scoring_fn(stack, "my::len_ok", fn)`."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from llama_workbench.apis.scoring_functions.models import ScoringFn
from llama_workbench.core.bridge import run_async, run_sync
from llama_workbench.core.datatypes import Api
from llama_workbench.core.errors import BadRequestError

if TYPE_CHECKING:
    from llama_workbench.core.stack import Stack

F = TypeVar("F", bound=Callable[..., Any])

# What a function's scores are summarised with when the caller doesn't say.
_DEFAULT_AGGREGATION = {"boolean": "accuracy", "string": "categorical_count"}


def register_scoring_fn(
    stack: Stack,
    fn_id: str,
    fn: Callable[[dict[str, Any]], Any],
    *,
    aggregation_functions: Sequence[str] | None = None,
    return_type: str | dict[str, Any] = "number",
    description: str | None = None,
    provider_id: str | None = None,
) -> ScoringFn:
    """Make `fn(row)` the scoring function `fn_id` of `stack` (its inline::basic provider).

    `fn` gets each row (a dict: input_query, expected_answer, generated_answer, ...) and
    returns its score: a number, a bool, a string, None, or a dict with a "score" and any
    extra columns. It may be `async def`. It runs in this process, so it is listed to REST
    clients (with metadata {"python": "module.qualname"}) but only callable here, and it is
    gone when the stack is rebuilt; registering the same id again replaces it.

    A row `fn` raises on scores None with an "error" column, and is left out of the
    aggregates, instead of failing the whole call. `aggregation_functions` default to
    accuracy for return_type "boolean", categorical_count for "string", else average.
    """
    return run_sync(
        _register(stack, fn_id, fn, aggregation_functions, return_type, description, provider_id),
        stack.loop,
    )


async def aregister_scoring_fn(
    stack: Stack,
    fn_id: str,
    fn: Callable[[dict[str, Any]], Any],
    *,
    aggregation_functions: Sequence[str] | None = None,
    return_type: str | dict[str, Any] = "number",
    description: str | None = None,
    provider_id: str | None = None,
) -> ScoringFn:
    """`register_scoring_fn` for async code (on any event loop, the stack's own included)."""
    return await run_async(
        _register(stack, fn_id, fn, aggregation_functions, return_type, description, provider_id),
        stack.loop,
    )


def scoring_function(
    stack: Stack,
    fn_id: str | None = None,
    *,
    aggregation_functions: Sequence[str] | None = None,
    return_type: str | dict[str, Any] = "number",
    description: str | None = None,
    provider_id: str | None = None,
) -> Callable[[F], F]:
    """Decorator form of `register_scoring_fn`; the id defaults to "python::<function name>".

    @scoring_function(stack, "my::short", return_type="boolean")
    def short(row):
        return len(row["generated_answer"]) < 200
    """

    def decorate(fn: F) -> F:
        register_scoring_fn(
            stack,
            fn_id or f"python::{fn.__name__}",
            fn,
            aggregation_functions=aggregation_functions,
            return_type=return_type,
            description=description,
            provider_id=provider_id,
        )
        return fn

    return decorate


def _register(
    stack: Stack,
    fn_id: str,
    fn: Callable[[dict[str, Any]], Any],
    aggregation_functions: Sequence[str] | None,
    return_type: str | dict[str, Any],
    description: str | None,
    provider_id: str | None,
) -> Coroutine[Any, Any, ScoringFn]:
    if Api.scoring not in stack.apis:
        raise BadRequestError(
            "This stack has no scoring API: add a scoring provider (inline::basic) to its run config."
        )
    if aggregation_functions is None:
        name = return_type if isinstance(return_type, str) else str(return_type.get("type"))
        aggregation_functions = [_DEFAULT_AGGREGATION.get(name, "average")]
    router = stack.impl(Api.scoring)
    coro: Coroutine[Any, Any, ScoringFn] = router.register_python_function(
        fn_id,
        fn,
        return_type=return_type,
        aggregation_functions=list(aggregation_functions),
        description=description,
        provider_id=provider_id,
    )
    return coro
