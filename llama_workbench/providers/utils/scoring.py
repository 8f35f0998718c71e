"""What scoring providers share: aggregations of row scores, column checks, params overlay."""

from __future__ import annotations

import asyncio
import math
import re
import statistics
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

from llama_workbench.apis.scoring.models import ScoringResult, ScoringResultRow
from llama_workbench.apis.scoring_functions.models import AggregationFunctionType, ScoringFnParams
from llama_workbench.core.errors import BadRequestError

T = TypeVar("T")
Rows = Sequence[dict[str, Any]]

# Row columns of Llama Stack's convention for scoring.
INPUT_QUERY = "input_query"
EXPECTED = "expected_answer"
GENERATED = "generated_answer"
CONTEXT = "context"


def require_columns(fn_id: str, rows: Rows, columns: Iterable[str]) -> None:
    """Every row must carry every column (a None value counts as missing)."""
    wanted = list(columns)
    for index, row in enumerate(rows):
        for column in wanted:
            if row.get(column) is None:
                have = ", ".join(sorted(row)) or "no columns"
                raise BadRequestError(
                    f"Scoring function '{fn_id}' needs the column '{column}' in every row; "
                    f"row {index} has none (it has: {have}).",
                    details={"scoring_fn_id": fn_id, "row": index, "column": column},
                )


def overlay_params(
    base: ScoringFnParams | None, top: ScoringFnParams | None
) -> ScoringFnParams | None:
    """`top`'s explicitly set fields over `base`. Params of another type that set only
    aggregation functions change only those; otherwise they replace `base`, keeping its
    aggregation functions unless they name their own."""
    if top is None:
        return base
    if base is None:
        return top
    updates = {k: getattr(top, k) for k in top.model_fields_set if k != "type"}
    if type(top) is type(base) or set(updates) <= {"aggregation_functions"}:
        return base.model_copy(update=updates)
    if "aggregation_functions" not in top.model_fields_set:
        return top.model_copy(update={"aggregation_functions": base.aggregation_functions})
    return top


def scoring_result(
    fn_id: str,
    score_rows: list[ScoringResultRow],
    params: ScoringFnParams | None,
    input_rows: Rows | None = None,
) -> ScoringResult:
    functions = params.aggregation_functions if params is not None else []
    return ScoringResult(
        score_rows=score_rows,
        aggregated_results=aggregate(fn_id, score_rows, functions, input_rows),
    )


def aggregate(
    fn_id: str,
    score_rows: Sequence[ScoringResultRow],
    functions: Iterable[AggregationFunctionType | str],
    input_rows: Rows | None = None,
) -> dict[str, Any]:
    """Llama Stack 0.7.3's aggregates, shaped as its aggregate_metrics: one key per requested
    function, each holding that function's own dict ({"accuracy": {"accuracy", "num_correct",
    "num_total"}, "median": {"median"}, ...}). Rows scored None (a failed Python function, a judge
    answer no regex matched) are left out of the numeric aggregates; categorical_count shows them
    as "None"."""
    return {
        AggregationFunctionType(f).value: _aggregate(
            fn_id, AggregationFunctionType(f), score_rows, input_rows
        )
        for f in functions
    }


def _aggregate(
    fn_id: str,
    kind: AggregationFunctionType,
    score_rows: Sequence[ScoringResultRow],
    input_rows: Rows | None,
) -> dict[str, Any]:
    if kind is AggregationFunctionType.categorical_count:
        counts = Counter(str(row.get("score")) for row in score_rows)
        return {"categorical_count": {k: counts[k] for k in sorted(counts)}}
    values = _numbers(fn_id, kind, score_rows)
    scores = [v for _, v in values]
    if kind is AggregationFunctionType.accuracy:
        correct = float(sum(scores))
        accuracy = correct / len(scores) if scores else None
        return {"accuracy": accuracy, "num_correct": correct, "num_total": len(scores)}
    if kind is AggregationFunctionType.average:
        return {"average": statistics.fmean(scores) if scores else None}
    if kind is AggregationFunctionType.median:
        return {"median": statistics.median(scores) if scores else None}
    return {"weighted_average": _weighted(fn_id, values, score_rows, input_rows)}


def flat_aggregates(aggregated: dict[str, Any]) -> dict[str, Any]:
    """One function's aggregates without 0.7.3's nesting: {"accuracy": 0.5, "num_correct": 2, ...}."""
    flat: dict[str, Any] = {}
    for name, value in aggregated.items():
        flat.update(value if isinstance(value, dict) and name in value else {name: value})
    return flat


def _numbers(
    fn_id: str, kind: AggregationFunctionType, score_rows: Sequence[ScoringResultRow]
) -> list[tuple[int, float]]:
    values = []
    for index, row in enumerate(score_rows):
        score = row.get("score")
        if score is None:
            continue
        if not isinstance(score, int | float) or (isinstance(score, float) and math.isnan(score)):
            raise BadRequestError(
                f"Scoring function '{fn_id}': the {kind.value} aggregation needs numeric scores; "
                f"row {index} scored {score!r}. Use categorical_count for labels."
            )
        values.append((index, float(score)))
    return values


def _weighted(
    fn_id: str,
    values: list[tuple[int, float]],
    score_rows: Sequence[ScoringResultRow],
    input_rows: Rows | None,
) -> float | None:
    # A row's weight: its score row's "weight", else its input row's, else 1.
    total = weights = 0.0
    for index, score in values:
        weight = score_rows[index].get("weight")
        if weight is None and input_rows is not None:
            weight = input_rows[index].get("weight")
        weight = 1.0 if weight is None else weight
        if not isinstance(weight, int | float):
            raise BadRequestError(
                f"Scoring function '{fn_id}': row {index} has a non-numeric weight {weight!r}."
            )
        total += score * weight
        weights += weight
    return total / weights if weights else None


def first_group(regexes: Iterable[str], text: str, *, last: bool = False) -> str | None:
    """The first group (else the whole match) of the first regex that matches `text`; with
    `last`, of that regex's last match (final answers come at the end)."""
    for regex in regexes:
        matches = list(re.finditer(regex, text))
        if matches:
            match = matches[-1] if last else matches[0]
            return match.group(1) if match.re.groups else match.group(0)
    return None


def as_number(text: str) -> int | float | str:
    """ "4" -> 4, "0.5" -> 0.5; anything else stays text (judge labels such as "A")."""
    stripped = text.strip()
    for cast in (int, float):
        try:
            value = cast(stripped)
        except ValueError:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            return stripped
        return value
    return stripped


async def gather_all(awaitables: Iterable[Awaitable[T]]) -> list[T]:
    """Results in order; on the first failure the others are cancelled (no orphaned model
    calls) and that failure is raised."""
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    if not tasks:
        return []
    try:
        _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    except BaseException:
        for task in tasks:
            task.cancel()
        raise
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
    return [task.result() for task in tasks]


async def bounded_map(
    gate: asyncio.Semaphore, fn: Callable[[int, dict[str, Any]], Awaitable[T]], rows: Rows
) -> list[T]:
    """`fn(index, row)` for every row, at most `gate`'s count at once, results in row order."""

    async def one(index: int, row: dict[str, Any]) -> T:
        async with gate:
            return await fn(index, row)

    return await gather_all(one(i, row) for i, row in enumerate(rows))
