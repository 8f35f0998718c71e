"""inline::llm-as-judge: each row goes to a judge model; a regex reads the score in its answer."""

from __future__ import annotations

import asyncio
import builtins
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llama_workbench.apis.inference.api import Inference
from llama_workbench.apis.inference.models import ChatCompletion, ChatCompletionRequest
from llama_workbench.apis.scoring.models import ScoreResponse, ScoringResultRow
from llama_workbench.apis.scoring_functions.models import (
    AggregationFunctionType,
    LLMAsJudgeScoringFnParams,
    NumberType,
    ScoringFn,
    ScoringFnParams,
)
from llama_workbench.core.errors import BadRequestError, NotFoundError, ProviderError
from llama_workbench.providers.inline.scoring.llm_as_judge.config import LlmAsJudgeScoringConfig
from llama_workbench.providers.utils.scoring import (
    Rows,
    as_number,
    bounded_map,
    first_group,
    gather_all,
    overlay_params,
    require_columns,
    scoring_result,
)

# SimpleQA's grading scheme (openai/simple-evals): correct, incorrect or not attempted.
SIMPLEQA_TEMPLATE = """\
Grade a predicted answer to a question against the gold target. Reply with one letter:
A: CORRECT - the prediction holds the key information of the gold target and contradicts \
nothing in it. Wording, capitalization, punctuation and order don't matter; hedging is fine \
when the gold target is fully there; a number must match the gold target to its last \
significant figure; details the question already implies may be left out; small misspellings \
of names are fine.
B: INCORRECT - the prediction says something that contradicts the gold target (even when \
hedged), or offers several candidates of which some are wrong.
C: NOT_ATTEMPTED - the prediction lacks the key information of the gold target but \
contradicts nothing (e.g. "I don't know", or a request for more context).

Question: {input_query}
Gold target: {expected_answer}
Predicted answer: {generated_answer}

Reply with just "A", "B" or "C"."""


@dataclass(frozen=True)
class _Builtin:
    identifier: str
    resource: str
    description: str
    template: str | None
    regexes: tuple[str, ...]
    aggregation: tuple[AggregationFunctionType, ...]


BUILTINS = (
    _Builtin(
        "llm-as-judge::base",
        "llm-as-judge-base",
        "A judge model grades each row with your prompt_template; judge_score_regexes read "
        "the score from its answer.",
        None,
        (),
        (),
    ),
    _Builtin(
        "llm-as-judge::405b-simpleqa",
        "llm-as-judge-405b-simpleqa",
        "SimpleQA grading (A: correct, B: incorrect, C: not attempted) by a judge model.",
        SIMPLEQA_TEMPLATE,
        (r"^\s*\(?([ABC])\b", r"\b([ABC])\b"),
        (AggregationFunctionType.categorical_count,),
    ),
)


@dataclass(frozen=True)
class _Job:
    fn_id: str
    params: LLMAsJudgeScoringFnParams
    prompts: tuple[str, ...]  # one per row


class LlmAsJudgeScoringImpl:
    """Judge functions: the built-in ones and those registered with their own params."""

    def __init__(
        self, config: LlmAsJudgeScoringConfig, provider_id: str, inference: Inference
    ) -> None:
        self._config = config
        self._provider_id = provider_id
        self._inference = inference
        self._builtins = {b.identifier: self._builtin_fn(b) for b in BUILTINS}
        self._by_resource = {b.resource: b.identifier for b in BUILTINS}
        self._registered: dict[str, ScoringFn] = {}
        self._gate = asyncio.Semaphore(config.max_concurrency)

    async def list_scoring_functions(self) -> builtins.list[ScoringFn]:
        return list(self._builtins.values())

    async def register_scoring_function(self, fn: ScoringFn) -> ScoringFn:
        if fn.params is not None and not isinstance(fn.params, LLMAsJudgeScoringFnParams):
            raise BadRequestError(
                f"Scoring function '{fn.identifier}' takes params of type 'llm_as_judge', "
                f"got '{fn.params.type}'."
            )
        resource = fn.provider_resource_id or fn.identifier
        base = self._builtins.get(self._by_resource.get(resource, resource))
        if base is not None:  # an alias: what its params leave out comes from the built-in
            fn = fn.model_copy(update={"params": overlay_params(base.params, fn.params)})
        self._registered[fn.identifier] = fn
        return fn

    async def unregister_scoring_function(self, fn_id: str) -> None:
        if fn_id in self._builtins:
            raise BadRequestError(f"Scoring function '{fn_id}' is built into inline::llm-as-judge.")
        self._registered.pop(fn_id, None)

    async def score(
        self, input_rows: Rows, scoring_functions: Mapping[str, ScoringFnParams | None]
    ) -> ScoreResponse:
        # Every function is checked before the first judge call.
        jobs = [self._job(fn_id, params, input_rows) for fn_id, params in scoring_functions.items()]
        scored = await gather_all(self._judge_all(job, input_rows) for job in jobs)
        return ScoreResponse(
            results={
                job.fn_id: scoring_result(job.fn_id, rows, job.params, input_rows)
                for job, rows in zip(jobs, scored, strict=True)
            }
        )

    async def shutdown(self) -> None:
        return None

    def _job(self, fn_id: str, params: ScoringFnParams | None, rows: Rows) -> _Job:
        fn = self._builtins.get(fn_id) or self._registered.get(fn_id)
        if fn is None:
            known = [*self._builtins, *self._registered]
            raise NotFoundError("Scoring function", fn_id, known, hint="(in inline::llm-as-judge)")
        merged = overlay_params(fn.params, params)
        if not isinstance(merged, LLMAsJudgeScoringFnParams):
            got = merged.type if merged is not None else "none"
            raise BadRequestError(
                f"Scoring function '{fn_id}' needs params of type 'llm_as_judge' "
                f"(judge_model, prompt_template, judge_score_regexes), got '{got}'."
            )
        if not merged.judge_model:
            raise BadRequestError(
                f"Scoring function '{fn_id}' has no judge model: pass params "
                '{"type": "llm_as_judge", "judge_model": "<model id>"} or set judge_model in '
                "the inline::llm-as-judge provider config."
            )
        if not merged.prompt_template or not merged.judge_score_regexes:
            raise BadRequestError(
                f"Scoring function '{fn_id}' needs a prompt_template and at least one "
                "judge_score_regexes entry in its params."
            )
        require_columns(fn_id, rows, _template_columns(fn_id, merged.prompt_template))
        prompts = tuple(
            _render(fn_id, merged.prompt_template, i, row) for i, row in enumerate(rows)
        )
        return _Job(fn_id, merged, prompts)

    async def _judge_all(self, job: _Job, rows: Rows) -> builtins.list[ScoringResultRow]:
        async def one(index: int, row: dict[str, Any]) -> ScoringResultRow:
            return await self._judge(job.params, job.prompts[index])

        return await bounded_map(self._gate, one, rows)

    async def _judge(self, params: LLMAsJudgeScoringFnParams, prompt: str) -> ScoringResultRow:
        request = ChatCompletionRequest(
            model=params.judge_model,
            messages=[{"role": "user", "content": prompt}],
            temperature=0.0,
            max_tokens=self._config.max_tokens,
        )
        response = await self._inference.chat_completion(request)
        if not isinstance(response, ChatCompletion) or not response.choices:
            raise ProviderError(self._provider_id, "the judge model returned no answer")
        feedback = response.choices[0].message.content or ""
        rating = first_group(params.judge_score_regexes, feedback)
        # No regex matched: no score, but the judge's words stay for a look.
        return {
            "score": as_number(rating) if rating is not None else None,
            "judge_feedback": feedback,
        }

    def _builtin_fn(self, builtin: _Builtin) -> ScoringFn:
        return ScoringFn(
            identifier=builtin.identifier,
            provider_id=self._provider_id,
            provider_resource_id=builtin.resource,
            description=builtin.description,
            return_type=NumberType(),
            params=LLMAsJudgeScoringFnParams(
                judge_model=self._config.judge_model or "",
                prompt_template=builtin.template,
                judge_score_regexes=list(builtin.regexes),
                aggregation_functions=list(builtin.aggregation),
            ),
            source="provider",
        )


def _render(fn_id: str, template: str, index: int, row: dict[str, Any]) -> str:
    try:
        return template.format_map(row)
    except (AttributeError, IndexError, KeyError, TypeError, ValueError) as exc:
        raise BadRequestError(
            f"Scoring function '{fn_id}': prompt_template can't be filled from row {index} "
            f"({type(exc).__name__}: {exc})."
        ) from None


def _template_columns(fn_id: str, template: str) -> list[str]:
    """The row columns a template names: {input_query}, {expected_answer}, ..."""
    names = []
    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(template)]
    except ValueError as exc:
        raise BadRequestError(
            f"Scoring function '{fn_id}': prompt_template is not a valid format string ({exc}); "
            "write literal braces as {{ and }}."
        ) from None
    for field in fields:
        if field is None:
            continue
        name = field.split(".")[0].split("[")[0]
        if not name or name.isdigit():
            raise BadRequestError(
                f"Scoring function '{fn_id}': prompt_template has a positional field "
                f"'{{{field}}}'; name a row column, e.g. {{input_query}}."
            )
        names.append(name)
    return list(dict.fromkeys(names))
