"""inline::basic: answer checks that need no model, and Python functions of this process."""

from __future__ import annotations

import asyncio
import builtins
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from llama_workbench.apis.scoring.models import ScoreResponse, ScoringResult, ScoringResultRow
from llama_workbench.apis.scoring_functions.models import (
    AggregationFunctionType,
    BasicScoringFnParams,
    NumberType,
    ParamType,
    RegexParserScoringFnParams,
    ScoringFn,
    ScoringFnParams,
)
from llama_workbench.core.errors import BadRequestError, ConflictError, NotFoundError
from llama_workbench.providers.inline.scoring.basic.config import BasicScoringConfig
from llama_workbench.providers.inline.scoring.basic.parsers import (
    MATH_ANSWER_REGEXES,
    MULTIPLE_CHOICE_REGEXES,
    choice_letter,
    math_answer,
)
from llama_workbench.providers.utils.scoring import (
    EXPECTED,
    GENERATED,
    Rows,
    first_group,
    overlay_params,
    require_columns,
    scoring_result,
)

RowScorer = Callable[[dict[str, Any], ScoringFnParams | None], ScoringResultRow]
PythonScorer = Callable[[dict[str, Any]], Any]


def _equality(row: dict[str, Any], params: ScoringFnParams | None) -> ScoringResultRow:
    return {"score": 1.0 if row[EXPECTED] == row[GENERATED] else 0.0}


def _subset_of(row: dict[str, Any], params: ScoringFnParams | None) -> ScoringResultRow:
    return {"score": 1.0 if str(row[EXPECTED]) in str(row[GENERATED]) else 0.0}


def _regexes(params: ScoringFnParams | None) -> list[str]:
    assert isinstance(params, RegexParserScoringFnParams)  # checked before scoring
    return params.parsing_regexes


def _multiple_choice(row: dict[str, Any], params: ScoringFnParams | None) -> ScoringResultRow:
    parsed = first_group(_regexes(params), str(row[GENERATED]))
    letter = choice_letter(parsed) if parsed is not None else None
    correct = letter is not None and letter == choice_letter(str(row[EXPECTED]))
    return {"score": 1.0 if correct else 0.0, "parsed_answer": letter}


def _math(row: dict[str, Any], params: ScoringFnParams | None) -> ScoringResultRow:
    generated = str(row[GENERATED])
    # The stated final answer, else the whole response (a bare "42" is an answer too).
    stated = first_group(_regexes(params), generated, last=True)
    parsed = math_answer(stated if stated is not None else generated)
    correct = parsed != "" and parsed == math_answer(str(row[EXPECTED]))
    return {"score": 1.0 if correct else 0.0, "parsed_answer": parsed}


@dataclass(frozen=True)
class _Builtin:
    identifier: str
    resource: str
    description: str
    scorer: RowScorer
    params: ScoringFnParams


ACCURACY = [AggregationFunctionType.accuracy]
BUILTINS = (
    _Builtin(
        "basic::equality",
        "equality",
        "Returns 1.0 if the input is equal to the target, 0.0 otherwise.",
        _equality,
        BasicScoringFnParams(aggregation_functions=ACCURACY),
    ),
    _Builtin(
        "basic::subset_of",
        "subset-of",
        "Returns 1.0 if the expected is included in generated, 0.0 otherwise.",
        _subset_of,
        BasicScoringFnParams(aggregation_functions=ACCURACY),
    ),
    _Builtin(
        "basic::regex_parser_multiple_choice_answer",
        "regex-parser-multiple-choice-answer",
        "Extract answer from response matching Answer: [the_answer_letter], and compare with "
        "expected result",
        _multiple_choice,
        RegexParserScoringFnParams(
            parsing_regexes=MULTIPLE_CHOICE_REGEXES, aggregation_functions=ACCURACY
        ),
    ),
    _Builtin(
        "basic::regex_parser_math_response",
        "regex-parser-math-response",
        "For math related benchmarks, extract answer from the generated response and "
        "expected_answer and see if they match",
        _math,
        RegexParserScoringFnParams(
            parsing_regexes=MATH_ANSWER_REGEXES, aggregation_functions=ACCURACY
        ),
    ),
)


@dataclass(frozen=True)
class _PythonFn:
    fn: ScoringFn
    call: PythonScorer


class BasicScoringImpl:
    """Built-in checks, aliases of them registered with their own params, Python functions."""

    def __init__(self, config: BasicScoringConfig, provider_id: str) -> None:
        self._config = config
        self._provider_id = provider_id
        self._builtins = {b.identifier: b for b in BUILTINS}
        self._by_resource = {b.resource: b for b in BUILTINS} | self._builtins
        self._registered: dict[str, tuple[ScoringFn, _Builtin]] = {}
        self._python: dict[str, _PythonFn] = {}

    async def list_scoring_functions(self) -> builtins.list[ScoringFn]:
        listed = [self._builtin_fn(b) for b in BUILTINS]
        return listed + [p.fn for p in self._python.values()]

    async def register_scoring_function(self, fn: ScoringFn) -> ScoringFn:
        resource = fn.provider_resource_id or fn.identifier
        builtin = self._by_resource.get(resource)
        if builtin is None:
            raise BadRequestError(
                f"Scoring function '{fn.identifier}': inline::basic has no function "
                f"'{resource}'; set provider_scoring_fn_id to one of: "
                f"{', '.join(sorted(self._by_resource))} (Python functions are registered "
                "from the notebook with llama_workbench.register_scoring_fn)."
            )
        params = overlay_params(builtin.params, fn.params)
        _check_params(fn.identifier, builtin, params)
        fn = fn.model_copy(update={"params": params})
        self._registered[fn.identifier] = (fn, builtin)
        return fn

    async def unregister_scoring_function(self, fn_id: str) -> None:
        if fn_id in self._builtins:
            raise BadRequestError(f"Scoring function '{fn_id}' is built into inline::basic.")
        self._registered.pop(fn_id, None)
        self._python.pop(fn_id, None)

    def register_python_function(
        self,
        fn_id: str,
        call: PythonScorer,
        return_type: ParamType,
        aggregation_functions: builtins.list[AggregationFunctionType],
        description: str | None = None,
    ) -> ScoringFn:
        """Score rows with `call(row)` in this process; registering the same id again replaces
        it (re-running a notebook cell)."""
        if fn_id in self._builtins or fn_id in self._registered:
            raise ConflictError(f"Scoring function id '{fn_id}' is taken; choose another id.")
        if not callable(call):
            raise BadRequestError(f"Scoring function '{fn_id}': {call!r} is not callable.")
        name = f"{getattr(call, '__module__', '?')}.{getattr(call, '__qualname__', repr(call))}"
        doc = (inspect.getdoc(call) or "").strip().splitlines()
        fn = ScoringFn(
            identifier=fn_id,
            provider_id=self._provider_id,
            provider_resource_id=fn_id,
            description=description or (doc[0] if doc else f"Python function {name}"),
            metadata={"python": name},
            return_type=return_type,
            params=BasicScoringFnParams(aggregation_functions=aggregation_functions),
            source="provider",
        )
        self._python[fn_id] = _PythonFn(fn, call)
        return fn

    async def score(
        self, input_rows: Rows, scoring_functions: Mapping[str, ScoringFnParams | None]
    ) -> ScoreResponse:
        results: dict[str, ScoringResult] = {}
        for fn_id, params in scoring_functions.items():
            python = self._python.get(fn_id)
            if python is not None:
                params = overlay_params(python.fn.params, params)
                rows = await _run_python(python.call, input_rows)
            else:
                builtin, params = self._resolve(fn_id, params)
                require_columns(fn_id, input_rows, (EXPECTED, GENERATED))
                rows = [builtin.scorer(row, params) for row in input_rows]
            results[fn_id] = scoring_result(fn_id, rows, params, input_rows)
        return ScoreResponse(results=results)

    async def shutdown(self) -> None:
        self._python.clear()

    def _resolve(
        self, fn_id: str, params: ScoringFnParams | None
    ) -> tuple[_Builtin, ScoringFnParams | None]:
        if fn_id in self._builtins:
            builtin = self._builtins[fn_id]
            params = overlay_params(builtin.params, params)
        elif fn_id in self._registered:
            fn, builtin = self._registered[fn_id]
            params = overlay_params(fn.params, params)
        else:
            known = [*self._builtins, *self._registered, *self._python]
            raise NotFoundError("Scoring function", fn_id, known, hint="(in inline::basic)")
        _check_params(fn_id, builtin, params)
        return builtin, params

    def _builtin_fn(self, builtin: _Builtin) -> ScoringFn:
        return ScoringFn(
            identifier=builtin.identifier,
            provider_id=self._provider_id,
            provider_resource_id=builtin.resource,
            description=builtin.description,
            return_type=NumberType(),
            params=builtin.params,
            source="provider",
        )


def _check_params(fn_id: str, builtin: _Builtin, params: ScoringFnParams | None) -> None:
    wanted = type(builtin.params)
    if not isinstance(params, wanted):
        got = params.type if params is not None else "none"
        raise BadRequestError(
            f"Scoring function '{fn_id}' takes params of type '{builtin.params.type}', got '{got}'."
        )
    if isinstance(params, RegexParserScoringFnParams) and not params.parsing_regexes:
        raise BadRequestError(f"Scoring function '{fn_id}' needs at least one parsing regex.")


async def _run_python(call: PythonScorer, rows: Rows) -> builtins.list[ScoringResultRow]:
    """A row the function fails on scores None with an `error`; the others still count."""
    if inspect.iscoroutinefunction(call):
        results = []
        for row in rows:
            try:
                results.append(_as_score_row(await call(dict(row))))
            except Exception as exc:
                results.append(_failed(exc))
        return results
    # A plain function runs in a worker thread: slow Python code must not stall the stack.
    return await asyncio.to_thread(_run_all, call, rows)


def _run_all(call: PythonScorer, rows: Rows) -> builtins.list[ScoringResultRow]:
    results = []
    for row in rows:
        try:
            results.append(_as_score_row(call(dict(row))))
        except Exception as exc:
            results.append(_failed(exc))
    return results


def _failed(exc: Exception) -> ScoringResultRow:
    return {"score": None, "error": f"{type(exc).__name__}: {exc}"}


def _as_score_row(value: Any) -> ScoringResultRow:
    if isinstance(value, Mapping):
        if "score" not in value:
            raise ValueError(f"returned a dict without a 'score' key ({sorted(value)})")
        return {**value, "score": _plain(value["score"])}
    return {"score": _plain(value)}


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return _plain(item())
    raise ValueError(
        f"returned {type(value).__name__}; return a number, a bool, a string, None or a dict "
        "with a 'score'"
    )
