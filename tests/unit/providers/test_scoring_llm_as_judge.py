"""inline::llm-as-judge against a real OpenAI-compatible model server whose answers are scripted."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from llama_workbench import BadRequestError, NotFoundError, Stack
from llama_workbench.apis.inference.models import ChatCompletion, ChatCompletionRequest
from llama_workbench.apis.scoring_functions.models import LLMAsJudgeScoringFnParams
from llama_workbench.providers.inline.scoring.llm_as_judge.config import LlmAsJudgeScoringConfig
from llama_workbench.providers.inline.scoring.llm_as_judge.impl import LlmAsJudgeScoringImpl
from tests.support.scripted_llm import ScriptedModelServer, say

MODEL = "scripted/scripted-model"
# The scripted model echoes the prompt when nothing is scripted: "echo: Score: <expected>".
ECHO = {
    "type": "llm_as_judge",
    "judge_model": MODEL,
    "prompt_template": "Score: {expected_answer}",
    "judge_score_regexes": [r"Score: (\d+)"],
    "aggregation_functions": ["average", "median"],
}


def _row(generated: str, expected: str, query: str = "q") -> dict[str, Any]:
    return {"input_query": query, "expected_answer": expected, "generated_answer": generated}


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _empty_script(model: ScriptedModelServer) -> Iterator[None]:
    yield
    model.script()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, model: ScriptedModelServer) -> Iterator[Stack]:
    config = {
        "data_dir": str(tmp_path_factory.mktemp("judge")),
        "apis": ["inference", "scoring"],
        "providers": {
            "inference": [model.provider_config()],
            "scoring": [
                {
                    "provider_id": "judge",
                    "provider_type": "inline::llm-as-judge",
                    "config": {"judge_model": MODEL, "max_tokens": 64},
                }
            ],
        },
    }
    with Stack.from_config(config) as built:
        yield built


def _score(stack: Stack, fn_id: str, rows: list[dict[str, Any]], params: Any = None) -> Any:
    return stack.scoring.score(input_rows=rows, scoring_functions={fn_id: params}).results[fn_id]


def test_builtins_are_listed_with_the_configured_judge(stack: Stack) -> None:
    listed = {f.identifier: f for f in stack.scoring_functions.list()}
    assert set(listed) == {"llm-as-judge::base", "llm-as-judge::405b-simpleqa"}
    simpleqa = listed["llm-as-judge::405b-simpleqa"].params
    assert isinstance(simpleqa, LLMAsJudgeScoringFnParams)
    assert simpleqa.judge_model == MODEL and simpleqa.aggregation_functions == ["categorical_count"]
    assert simpleqa.prompt_template is not None and "{generated_answer}" in simpleqa.prompt_template


def test_each_row_is_judged_and_numeric_scores_aggregate(
    stack: Stack, model: ScriptedModelServer
) -> None:
    rows = [_row("a", "4"), _row("b", "2"), _row("c", "5")]
    result = _score(stack, "llm-as-judge::base", rows, ECHO)
    assert [r["score"] for r in result.score_rows] == [4, 2, 5]
    assert result.score_rows[0]["judge_feedback"] == "echo: Score: 4"
    assert result.aggregated_results == {
        "average": {"average": pytest.approx(11 / 3)},
        "median": {"median": 4},
    }
    sent = model.requests[-1]
    assert sent["model"] == "scripted-model" and sent["temperature"] == 0.0
    assert sent["max_tokens"] == 64
    assert sent["messages"][0]["role"] == "user"


def test_an_unreadable_judge_answer_scores_none_and_keeps_the_feedback(
    stack: Stack, model: ScriptedModelServer
) -> None:
    model.script(say("I refuse to grade this."))
    result = _score(stack, "llm-as-judge::base", [_row("a", "4")], ECHO)
    assert result.score_rows == [{"score": None, "judge_feedback": "I refuse to grade this."}]
    assert result.aggregated_results == {"average": {"average": None}, "median": {"median": None}}


def test_simpleqa_grades_with_letters_counted(stack: Stack, model: ScriptedModelServer) -> None:
    model.script(say("A"))
    first = _score(stack, "llm-as-judge::405b-simpleqa", [_row("Paris", "Paris", "Capital?")])
    model.script(say("B: the answer contradicts the gold target."))
    second = _score(stack, "llm-as-judge::405b-simpleqa", [_row("Lyon", "Paris", "Capital?")])
    assert first.score_rows[0]["score"] == "A" and second.score_rows[0]["score"] == "B"
    assert first.aggregated_results == {"categorical_count": {"categorical_count": {"A": 1}}}
    prompt = model.requests[-1]["messages"][0]["content"]
    assert "Question: Capital?\nGold target: Paris\nPredicted answer: Lyon" in prompt


def test_a_registered_judge_persists_its_params(stack: Stack) -> None:
    fn = stack.scoring_functions.register(
        scoring_fn_id="judge::echo",
        description="Echo judge",
        return_type={"type": "number"},
        params=ECHO,
    )
    assert fn.provider_id == "judge" and fn.provider_resource_id == "judge::echo"
    result = _score(stack, "judge::echo", [_row("x", "7")])
    assert result.score_rows[0]["score"] == 7
    # An alias of the SimpleQA grader keeps its template unless it brings its own.
    alias = stack.scoring_functions.register(
        scoring_fn_id="judge::strict-qa",
        description="SimpleQA, averaged",
        return_type="string",
        provider_scoring_fn_id="llm-as-judge::405b-simpleqa",
        params={"type": "llm_as_judge", "judge_model": MODEL, "aggregation_functions": []},
    )
    assert isinstance(alias.params, LLMAsJudgeScoringFnParams)
    assert alias.params.prompt_template is not None and alias.params.judge_score_regexes
    assert alias.params.aggregation_functions == []
    for fn_id in ("judge::echo", "judge::strict-qa"):
        stack.scoring_functions.unregister(fn_id)


def test_template_columns_must_be_in_every_row(stack: Stack) -> None:
    params = {**ECHO, "prompt_template": "Q: {input_query} Ctx: {context}"}
    with pytest.raises(BadRequestError, match="needs the column 'context' in every row; row 0"):
        _score(stack, "llm-as-judge::base", [_row("a", "1")], params)
    positional = {**ECHO, "prompt_template": "Q: {}"}
    with pytest.raises(BadRequestError, match="positional field"):
        _score(stack, "llm-as-judge::base", [_row("a", "1")], positional)
    formatted = {**ECHO, "prompt_template": "{generated_answer:d}"}
    with pytest.raises(BadRequestError, match=r"can't be filled from row 0 \(ValueError"):
        _score(stack, "llm-as-judge::base", [_row("a", "1")], formatted)


def test_base_needs_a_template_and_regexes(stack: Stack) -> None:
    with pytest.raises(BadRequestError, match="needs a prompt_template and at least one"):
        _score(stack, "llm-as-judge::base", [_row("a", "1")])


def test_an_unknown_judge_model_names_the_models(stack: Stack) -> None:
    with pytest.raises(NotFoundError, match="scripted/scripted-model"):
        _score(stack, "llm-as-judge::base", [_row("a", "1")], {**ECHO, "judge_model": "nope"})


class _CountingInference:
    """Answers "Score: 1" after a pause, counting the calls in flight."""

    def __init__(self) -> None:
        self.in_flight = self.peak = self.calls = 0
        self.requests: list[ChatCompletionRequest] = []

    async def chat_completion(self, request: ChatCompletionRequest) -> ChatCompletion:
        self.in_flight += 1
        self.calls += 1
        self.peak = max(self.peak, self.in_flight)
        self.requests.append(request)
        await asyncio.sleep(0.01)
        self.in_flight -= 1
        message = {"role": "assistant", "content": "Score: 1"}
        return ChatCompletion(model=request.model, choices=[{"message": message}])


async def test_judge_calls_are_bounded_by_max_concurrency() -> None:
    inference = _CountingInference()
    config = LlmAsJudgeScoringConfig(max_concurrency=3)
    judge = LlmAsJudgeScoringImpl(config, "judge", inference)  # type: ignore[arg-type]
    rows = [_row(str(i), "1") for i in range(10)]
    params = LLMAsJudgeScoringFnParams.model_validate(ECHO)
    response = await judge.score(rows, {"llm-as-judge::base": params})
    assert inference.peak == 3 and inference.calls == 10
    assert [r["score"] for r in response.results["llm-as-judge::base"].score_rows] == [1] * 10
    assert {r.temperature for r in inference.requests} == {0.0}


async def test_no_judge_model_anywhere_is_refused_before_any_call() -> None:
    inference = _CountingInference()
    judge = LlmAsJudgeScoringImpl(LlmAsJudgeScoringConfig(), "judge", inference)  # type: ignore[arg-type]
    with pytest.raises(BadRequestError, match="has no judge model"):
        await judge.score([_row("a", "b")], {"llm-as-judge::405b-simpleqa": None})
    assert inference.calls == 0
