"""inline::braintrust: autoevals scorers whose LLM and embedding calls go to the stack's models."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest

from llama_workbench import BadRequestError, Stack
from llama_workbench.core.bridge import run_sync
from llama_workbench.providers.inline.scoring.braintrust.config import BraintrustScoringConfig
from llama_workbench.providers.inline.scoring.braintrust.impl import BraintrustScoringImpl
from tests.support.scripted_llm import ScriptedModelServer, call, say
from tests.support.stub_server import StubOpenAIServer

JUDGE = "scripted/scripted-model"
EMBEDDER = "stub/embed-b"


def _row(
    generated: Any, expected: str, query: str = "What is the capital of France?", **extra: Any
) -> dict[str, Any]:
    return {
        "input_query": query,
        "expected_answer": expected,
        "generated_answer": generated,
        **extra,
    }


def _similarity(a: str, b: str) -> float:
    """EmbeddingSimilarity of two texts under the stub's embeddings ([len, 1, 0]), scaled."""
    cosine = (len(a) * len(b) + 1) / (math.hypot(len(a), 1) * math.hypot(len(b), 1))
    return max((min(cosine, 1) - 0.7) / 0.3, 0)


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        yield server


@pytest.fixture(scope="module")
def embedder() -> Iterator[StubOpenAIServer]:
    with StubOpenAIServer(models=["embed-b"]) as server:
        yield server


@pytest.fixture(autouse=True)
def _empty_script(model: ScriptedModelServer) -> Iterator[None]:
    yield
    model.script()


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
    model: ScriptedModelServer,
    embedder: StubOpenAIServer,
) -> Iterator[Stack]:
    stub = {
        "provider_id": "stub",
        "provider_type": "remote::openai",
        "config": {
            "base_url": embedder.base_url,
            "api_key": "k",
            "embedding_models": {"embed-b": 3},
        },
    }
    config = {
        "data_dir": str(tmp_path_factory.mktemp("braintrust")),
        "apis": ["inference", "scoring"],
        "providers": {
            "inference": [model.provider_config(), stub],
            "scoring": [
                {
                    "provider_id": "braintrust",
                    "provider_type": "inline::braintrust",
                    "config": {"judge_model": JUDGE, "embedding_model": EMBEDDER},
                }
            ],
        },
    }
    with Stack.from_config(config) as built:
        yield built


def _score(stack: Stack, name: str, rows: list[dict[str, Any]], params: Any = None) -> Any:
    fn_id = f"braintrust::{name}"
    return stack.scoring.score(input_rows=rows, scoring_functions={fn_id: params}).results[fn_id]


def test_the_scorers_offered(stack: Stack) -> None:
    listed = {f.identifier: f for f in stack.scoring_functions.list()}
    assert set(listed) == {
        f"braintrust::{name}"
        for name in (
            "factuality", "answer-correctness", "answer-similarity", "answer-relevancy",
            "faithfulness", "context-entity-recall", "context-precision", "context-recall",
            "context-relevancy", "levenshtein", "exact-match", "numeric-diff", "json-diff",
        )
    }  # fmt: skip
    factuality = listed["braintrust::factuality"]
    assert factuality.provider_resource_id == "factuality"
    assert factuality.params is not None and factuality.params.aggregation_functions == ["average"]
    assert factuality.metadata == {"uses": ["judge"]}


def test_factuality_asks_the_judge_through_the_stack(
    stack: Stack, model: ScriptedModelServer
) -> None:
    model.script(call("select_choice", reasons="Same facts.", choice="C"))
    result = _score(stack, "factuality", [_row("Paris", "Paris is the capital")])
    assert result.score_rows == [
        {"score": 1.0, "metadata": {"choice": "C", "rationale": "Same facts."}}
    ]
    assert result.aggregated_results == {"average": {"average": 1.0}}
    sent = model.requests[-1]
    assert sent["model"] == "scripted-model" and sent["temperature"] == 0.0
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "select_choice"}}
    assert "[Expert]: Paris is the capital" in sent["messages"][0]["content"]


def test_a_judge_that_does_not_call_the_tool_scores_none(
    stack: Stack, model: ScriptedModelServer
) -> None:
    model.script(say("C, obviously"))
    result = _score(stack, "factuality", [_row("Paris", "Paris")])
    assert result.score_rows == [
        {"score": None, "error": "ValueError: No tool call found in response"}
    ]
    assert result.aggregated_results == {"average": {"average": None}}


def test_answer_correctness_blends_statement_f1_and_similarity(
    stack: Stack, model: ScriptedModelServer
) -> None:
    model.script(
        call("classify_statements", TP=["Paris is the capital"], FP=["It has 3M people"], FN=[])
    )
    row = _row("Paris is the capital; it has 3M people", "Paris is the capital")
    result = _score(stack, "answer-correctness", [row])
    f1 = 1 / (1 + 0.5)
    similarity = _similarity(row["generated_answer"], row["expected_answer"])
    assert result.score_rows[0]["score"] == pytest.approx(0.75 * f1 + 0.25 * similarity)
    metadata = result.score_rows[0]["metadata"]
    assert metadata["factuality_score"] == pytest.approx(f1)
    assert metadata["answer_similarity"]["name"] == "EmbeddingSimilarity"


def test_answer_similarity_uses_the_embedding_model(
    stack: Stack, embedder: StubOpenAIServer
) -> None:
    rows = [_row("Paris", "Paris"), _row("Paris", "Paris, the capital city of France")]
    result = _score(stack, "answer-similarity", rows)
    assert [r["score"] for r in result.score_rows] == [
        pytest.approx(1.0),
        pytest.approx(_similarity("Paris", "Paris, the capital city of France")),
    ]
    embedded = [r["body"]["model"] for r in embedder.requests if r["path"] == "/v1/embeddings"]
    assert embedded and set(embedded) == {"embed-b"}


def test_faithfulness_extracts_then_judges_statements(
    stack: Stack, model: ScriptedModelServer
) -> None:
    verdicts = [
        {"statement": "Paris is the capital", "verdict": 1, "reason": "stated"},
        {"statement": "It is in Spain", "verdict": 0, "reason": "contradicted"},
    ]
    model.script(
        call("extract_statements", statements=["Paris is the capital", "It is in Spain"]),
        call("judge_statements", faithfulness=verdicts),
    )
    row = _row("Paris is the capital, in Spain", "Paris", context="Paris is the capital of France.")
    result = _score(stack, "faithfulness", [row])
    assert result.score_rows[0]["score"] == 0.5
    assert result.score_rows[0]["metadata"]["faithfulness"] == verdicts


def test_context_precision_recall_and_relevancy(stack: Stack, model: ScriptedModelServer) -> None:
    context = "Paris is the capital. It is large."
    row = _row("Paris", "Paris", context=context)
    model.script(call("verify", reason="useful", verdict=1))
    assert _score(stack, "context-precision", [row]).score_rows[0]["score"] == 1
    statements = [
        {"statement": "Paris", "attributed": 1, "reason": "in context"},
        {"statement": "France", "attributed": 0, "reason": "not in context"},
    ]
    model.script(call("extract_statements", statements=statements))
    assert _score(stack, "context-recall", [row]).score_rows[0]["score"] == 0.5
    sentences = [{"sentence": "Paris is the capital.", "reasons": ["it answers"]}]
    model.script(call("extract_sentences", sentences=sentences))
    relevancy = _score(stack, "context-relevancy", [row]).score_rows[0]["score"]
    assert relevancy == pytest.approx(len("Paris is the capital.") / len(context))


def test_context_entity_recall_pairs_entities_by_embeddings(
    stack: Stack, model: ScriptedModelServer
) -> None:
    # Entities of the expected answer and of the context are asked for at once.
    model.script(*[call("extract_entities", entities=["Paris", "France"])] * 2)
    row = _row("", "Paris, France", context="Paris is in France.")
    assert _score(stack, "context-entity-recall", [row]).score_rows[0]["score"] == pytest.approx(
        1.0
    )


def test_answer_relevancy_compares_generated_questions(
    stack: Stack, model: ScriptedModelServer
) -> None:
    question = "What is the capital of France?"
    model.script(
        *[call("generate_question", question="Which city is France's capital?", noncommittal=0)] * 3
    )
    row = _row("Paris", "Paris", query=question, context="Paris is the capital.")
    result = _score(stack, "answer-relevancy", [row])
    expected = _similarity("Which city is France's capital?", question)
    assert result.score_rows[0]["score"] == pytest.approx(expected)
    assert model.requests[-1]["temperature"] == 0.5  # autoevals' own setting is kept


def test_the_scorers_that_need_no_model(stack: Stack) -> None:
    assert _score(stack, "levenshtein", [_row("hello wrld", "hello world")]).score_rows[0][
        "score"
    ] == pytest.approx(1 - 1 / 11)
    rows = [_row({"a": 1}, '{"a":1}'), _row('{"a": 1}', '{"a":1}'), _row("a", "a")]
    exact = _score(stack, "exact-match", rows)
    assert [r["score"] for r in exact.score_rows] == [1, 0, 1]  # JSON only when a side is JSON
    numeric = _score(stack, "numeric-diff", [_row("105", "100"), _row("many", "100")])
    assert numeric.score_rows[0]["score"] == pytest.approx(1 - 5 / 205)
    assert numeric.score_rows[1]["score"] is None and "error" in numeric.score_rows[1]
    assert numeric.aggregated_results == {"average": {"average": pytest.approx(1 - 5 / 205)}}
    diff = _score(stack, "json-diff", [_row('{"a": 1, "b": "x"}', '{"a": 1, "b": "x"}')])
    assert diff.score_rows[0]["score"] == 1


def test_missing_columns_are_named(stack: Stack) -> None:
    with pytest.raises(
        BadRequestError, match="'braintrust::faithfulness' needs the column 'context'"
    ):
        _score(stack, "faithfulness", [_row("a", "b")])


def test_an_alias_with_other_aggregations(stack: Stack, model: ScriptedModelServer) -> None:
    stack.scoring_functions.register(
        scoring_fn_id="bt::edit",
        description="edit distance, median",
        return_type="number",
        provider_scoring_fn_id="levenshtein",
        params={"type": "basic", "aggregation_functions": ["median"]},
    )
    result = stack.scoring.score(
        input_rows=[_row("ab", "ab"), _row("ab", "ac"), _row("ab", "xy")],
        scoring_functions={"bt::edit": None},
    )
    assert result.results["bt::edit"].aggregated_results == {"median": {"median": 0.5}}
    stack.scoring_functions.unregister("bt::edit")


def test_models_come_from_the_config_or_the_params(
    stack: Stack, model: ScriptedModelServer
) -> None:
    inference = stack.impl("inference")
    bare = BraintrustScoringImpl(BraintrustScoringConfig(), "bt", inference)
    rows = [_row("Paris", "Paris")]
    with pytest.raises(BadRequestError, match="needs a judge model"):
        run_sync(bare.score(rows, {"braintrust::factuality": None}), stack.loop)
    with pytest.raises(BadRequestError, match="needs an embedding model"):
        run_sync(bare.score(rows, {"braintrust::answer-similarity": None}), stack.loop)
    model.script(call("select_choice", reasons="r", choice="D"))
    from llama_workbench.apis.scoring_functions.models import LLMAsJudgeScoringFnParams

    params = LLMAsJudgeScoringFnParams(judge_model=JUDGE)
    response = run_sync(bare.score(rows, {"braintrust::factuality": params}), stack.loop)
    assert response.results["braintrust::factuality"].score_rows[0]["score"] == 0
