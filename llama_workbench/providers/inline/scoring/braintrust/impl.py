"""inline::braintrust: autoevals scorers, their LLM and embedding calls answered by the stack."""

from __future__ import annotations

import asyncio
import builtins
import dataclasses
import importlib.util
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from llama_workbench.apis.inference.api import Inference
from llama_workbench.apis.scoring.models import ScoreResponse, ScoringResultRow
from llama_workbench.apis.scoring_functions.models import (
    AggregationFunctionType,
    BasicScoringFnParams,
    LLMAsJudgeScoringFnParams,
    NumberType,
    ScoringFn,
    ScoringFnParams,
)
from llama_workbench.core.errors import (
    BadRequestError,
    LlamaWorkbenchError,
    MissingDependencyError,
    NotFoundError,
)
from llama_workbench.providers.inline.scoring.braintrust.config import BraintrustScoringConfig
from llama_workbench.providers.inline.scoring.braintrust.scorers import (
    EMBED,
    JUDGE,
    SCORERS,
    Scorer,
)
from llama_workbench.providers.utils.scoring import (
    CONTEXT,
    EXPECTED,
    GENERATED,
    INPUT_QUERY,
    Rows,
    as_number,
    bounded_map,
    gather_all,
    overlay_params,
    require_columns,
    scoring_result,
)

if TYPE_CHECKING:
    from llama_workbench.providers.inline.scoring.braintrust.client import StackLLMClient


class BraintrustScoringImpl:
    """The autoevals scorers, one `braintrust::<name>` function each."""

    def __init__(
        self, config: BraintrustScoringConfig, provider_id: str, inference: Inference
    ) -> None:
        self._config = config
        self._provider_id = provider_id
        self._inference = inference
        self._scorers = {f"braintrust::{s.resource}": s for s in SCORERS}
        self._registered: dict[str, tuple[ScoringFn, Scorer]] = {}
        self._gate = asyncio.Semaphore(config.max_concurrency)
        self._clients: dict[str | None, StackLLMClient] = {}

    async def list_scoring_functions(self) -> builtins.list[ScoringFn]:
        return [self._builtin_fn(fn_id, s) for fn_id, s in self._scorers.items()]

    async def register_scoring_function(self, fn: ScoringFn) -> ScoringFn:
        resource = fn.provider_resource_id or fn.identifier
        scorer = self._scorers.get(resource) or self._scorers.get(f"braintrust::{resource}")
        if scorer is None:
            raise BadRequestError(
                f"Scoring function '{fn.identifier}': inline::braintrust has no scorer "
                f"'{resource}'; set provider_scoring_fn_id to one of: "
                f"{', '.join(sorted(self._scorers))}."
            )
        self._registered[fn.identifier] = (fn, scorer)
        return fn

    async def unregister_scoring_function(self, fn_id: str) -> None:
        if fn_id in self._scorers:
            raise BadRequestError(f"Scoring function '{fn_id}' is built into inline::braintrust.")
        self._registered.pop(fn_id, None)

    async def score(
        self, input_rows: Rows, scoring_functions: Mapping[str, ScoringFnParams | None]
    ) -> ScoreResponse:
        # Every function is checked before the first model call.
        jobs = [self._job(fn_id, params, input_rows) for fn_id, params in scoring_functions.items()]
        scored = await gather_all(
            self._score_all(scorer, judge, input_rows) for _, _, scorer, judge in jobs
        )
        return ScoreResponse(
            results={
                fn_id: scoring_result(fn_id, rows, params, input_rows)
                for (fn_id, params, _, _), rows in zip(jobs, scored, strict=True)
            }
        )

    async def shutdown(self) -> None:
        self._clients.clear()

    def _job(
        self, fn_id: str, params: ScoringFnParams | None, rows: Rows
    ) -> tuple[str, ScoringFnParams | None, Scorer, str | None]:
        base: ScoringFnParams | None
        if fn_id in self._scorers:
            scorer, base = self._scorers[fn_id], self._default_params(self._scorers[fn_id])
        elif fn_id in self._registered:
            fn, scorer = self._registered[fn_id]
            base = overlay_params(self._default_params(scorer), fn.params)
        else:
            known = [*self._scorers, *self._registered]
            raise NotFoundError("Scoring function", fn_id, known, hint="(in inline::braintrust)")
        merged = overlay_params(base, params)
        judge = self._config.judge_model
        if isinstance(merged, LLMAsJudgeScoringFnParams) and merged.judge_model:
            judge = merged.judge_model
        if JUDGE in scorer.uses and not judge:
            raise BadRequestError(
                f"Scoring function '{fn_id}' needs a judge model: set judge_model in the "
                'inline::braintrust provider config, or pass params {"type": "llm_as_judge", '
                '"judge_model": "<model id>"}.'
            )
        if EMBED in scorer.uses and not self._config.embedding_model:
            raise BadRequestError(
                f"Scoring function '{fn_id}' needs an embedding model: set embedding_model in "
                "the inline::braintrust provider config."
            )
        for package in scorer.packages:
            if importlib.util.find_spec(package) is None:
                raise MissingDependencyError(package, needed_by=f"scoring function '{fn_id}'")
        require_columns(fn_id, rows, scorer.columns)
        return fn_id, merged, scorer, judge

    async def _score_all(
        self, scorer: Scorer, judge: str | None, rows: Rows
    ) -> builtins.list[ScoringResultRow]:
        evaluator = scorer.build(self._client(judge), judge, self._config.embedding_model)

        async def one(index: int, row: dict[str, Any]) -> ScoringResultRow:
            return await _evaluate(evaluator, scorer, row)

        return await bounded_map(self._gate, one, rows)

    def _client(self, judge: str | None) -> StackLLMClient:
        if judge not in self._clients:
            # autoevals (under the client) is imported on first scoring, not at build.
            from llama_workbench.providers.inline.scoring.braintrust.client import (
                InferenceAdapter,
                stack_client,
            )

            adapter = InferenceAdapter(
                self._inference, self._provider_id, judge, self._config.embedding_model
            )
            self._clients[judge] = stack_client(adapter)
        return self._clients[judge]

    def _default_params(self, scorer: Scorer) -> ScoringFnParams:
        return BasicScoringFnParams(aggregation_functions=[AggregationFunctionType.average])

    def _builtin_fn(self, fn_id: str, scorer: Scorer) -> ScoringFn:
        return ScoringFn(
            identifier=fn_id,
            provider_id=self._provider_id,
            provider_resource_id=scorer.resource,
            description=scorer.description + " See: github.com/braintrustdata/autoevals",
            return_type=NumberType(),
            params=self._default_params(scorer),
            metadata={"uses": list(scorer.uses)},
            source="provider",
        )


async def _evaluate(evaluator: Any, scorer: Scorer, row: dict[str, Any]) -> ScoringResultRow:
    """One row; a scorer that fails on it (a judge that didn't call the tool it was asked to,
    JSON it can't read) scores None with an `error`. The stack's own errors are raised."""
    output, expected = row.get(GENERATED), row.get(EXPECTED)
    if scorer.numbers:
        output, expected = _number(output), _number(expected)
    try:
        result = await evaluator.eval_async(
            output, expected, input=row.get(INPUT_QUERY), context=row.get(CONTEXT)
        )
    except LlamaWorkbenchError:
        raise
    except Exception as exc:
        return {"score": None, "error": f"{type(exc).__name__}: {exc}"}
    return {"score": result.score, "metadata": _jsonable(result.metadata)}


def _number(value: Any) -> Any:
    return as_number(value) if isinstance(value, str) else value


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        as_dict = getattr(value, "as_dict", None)
        return _jsonable(as_dict() if callable(as_dict) else dataclasses.asdict(value))
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
