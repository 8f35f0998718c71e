"""inline::basic through a Stack: exact, subset, multiple-choice and math checks, Python functions."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llama_workbench import BadRequestError, ConflictError, Stack
from llama_workbench.apis.scoring_functions.models import RegexParserScoringFnParams
from llama_workbench.providers.inline.scoring.basic.parsers import math_answer
from llama_workbench.providers.utils.scoring import flat_aggregates
from llama_workbench.scoring import aregister_scoring_fn, register_scoring_fn, scoring_function
from llama_workbench.tracking.mlflow_runs import flatten_metrics


def _row(generated: Any, expected: Any, **extra: Any) -> dict[str, Any]:
    return {"input_query": "q", "expected_answer": expected, "generated_answer": generated, **extra}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    config = {
        "data_dir": str(tmp_path_factory.mktemp("basic")),
        "apis": ["scoring"],
        "providers": {"scoring": [{"provider_id": "basic", "provider_type": "inline::basic"}]},
    }
    with Stack.from_config(config) as built:
        yield built


def _score(stack: Stack, fn_id: str, rows: list[dict[str, Any]], params: Any = None) -> Any:
    return stack.scoring.score(input_rows=rows, scoring_functions={fn_id: params}).results[fn_id]


def test_the_builtin_functions_are_listed_with_llama_stacks_ids_and_params(stack: Stack) -> None:
    listed = {f.identifier: f for f in stack.scoring_functions.list()}
    assert set(listed) == {
        "basic::equality",
        "basic::subset_of",
        "basic::regex_parser_multiple_choice_answer",
        "basic::regex_parser_math_response",
    }
    equality = listed["basic::equality"]
    assert (equality.provider_id, equality.provider_resource_id) == ("basic", "equality")
    assert equality.return_type.type == "number" and equality.source == "provider"
    assert equality.params is not None and equality.params.aggregation_functions == ["accuracy"]
    mc = listed["basic::regex_parser_multiple_choice_answer"].params
    assert isinstance(mc, RegexParserScoringFnParams) and len(mc.parsing_regexes) > 30


def test_equality_is_exact_and_aggregates_to_accuracy(stack: Stack) -> None:
    rows = [_row("Paris", "Paris"), _row("paris", "Paris"), _row(4, 4), _row("4", 4)]
    result = _score(stack, "basic::equality", rows)
    assert [r["score"] for r in result.score_rows] == [1.0, 0.0, 1.0, 0.0]
    assert result.aggregated_results == {
        "accuracy": {"accuracy": 0.5, "num_correct": 2.0, "num_total": 4}
    }


def test_subset_of_finds_the_expected_inside_the_generated(stack: Stack) -> None:
    rows = [_row("The capital is Paris.", "Paris"), _row("Lyon", "Paris"), _row("pi is 3.14", 3.14)]
    result = _score(stack, "basic::subset_of", rows)
    assert [r["score"] for r in result.score_rows] == [1.0, 0.0, 1.0]
    assert result.aggregated_results["accuracy"]["accuracy"] == pytest.approx(2 / 3)


def test_multiple_choice_letters_in_many_languages_and_scripts(stack: Stack) -> None:
    rows = [
        _row("Let me think... Answer: C", "C"),
        _row("answer : b", "B"),  # case-insensitive, on both sides
        _row("The best answer is A.", "A"),
        _row("答案\uff1a\uff24", "D"),  # full-width colon and letter
        _row("الإجابة: ب", "B"),  # Arabic letter
        _row("Réponse : A", "B"),  # parsed, but wrong
        _row("I think it is C", "C"),  # no "Answer:" label: not parsed
    ]
    result = _score(stack, "basic::regex_parser_multiple_choice_answer", rows)
    assert [r["score"] for r in result.score_rows] == [1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0]
    assert [r["parsed_answer"] for r in result.score_rows] == ["C", "B", "A", "D", "B", "A", None]
    assert result.aggregated_results == {
        "accuracy": {"accuracy": 5 / 7, "num_correct": 5.0, "num_total": 7}
    }


def test_math_responses_are_parsed_and_numbers_normalised(stack: Stack) -> None:
    rows = [
        _row("So the final answer is $\\boxed{1,000}$. I hope it is correct.", "1000"),
        _row("The answer is 1000.0", "1000"),
        _row("Adding up: \\boxed{\\frac{1}{2}}", "0.5"),
        _row("#### 3/4", "\\dfrac{3}{4}"),
        _row("x = 12, so the answer is x = 12 apples.", "12"),
        _row("42", "$42$"),
        _row("The final answer is \\boxed{\\text{Paris}}", "Paris"),
        _row("The answer is 7", "8"),
    ]
    result = _score(stack, "basic::regex_parser_math_response", rows)
    assert [r["score"] for r in result.score_rows] == [1.0] * 7 + [0.0]
    assert [r["parsed_answer"] for r in result.score_rows] == [
        "1000",
        "1000",
        "1/2",
        "3/4",
        "12",
        "42",
        "Paris",
        "7",
    ]


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("1,234,567", "1234567"),
        ("-\\frac{6}{4}", "-3/2"),
        ("\\frac12", "1/2"),
        ("2.50", "5/2"),
        ("45^\\circ", "45"),
        ("50\\%", "50"),
        ("\\left( 1, 2 \\right)", "(1,2)"),
        ("1/0", "1/0"),
    ],
)
def test_math_answer_canonical_forms(text: str, canonical: str) -> None:
    assert math_answer(text) == canonical


def test_params_override_the_registered_ones_field_by_field(stack: Stack) -> None:
    rows = [_row("Final: B", "B"), _row("Final: A", "B")]
    params = {"type": "regex_parser", "parsing_regexes": [r"Final: ([A-D])"]}
    result = _score(stack, "basic::regex_parser_multiple_choice_answer", rows, params)
    # The aggregation functions were not named: the registered ones (accuracy) stay.
    assert result.aggregated_results == {
        "accuracy": {"accuracy": 0.5, "num_correct": 1.0, "num_total": 2}
    }
    basic = {"type": "basic", "aggregation_functions": ["average", "categorical_count"]}
    result = _score(stack, "basic::regex_parser_multiple_choice_answer", rows, basic)
    assert result.aggregated_results == {
        "average": {"average": 0.0},
        "categorical_count": {"categorical_count": {"0.0": 2}},
    }


def test_an_alias_registered_with_its_own_regexes(stack: Stack) -> None:
    fn = stack.scoring_functions.register(
        scoring_fn_id="my::verdict",
        description="A VERDICT: X line",
        return_type="number",
        provider_scoring_fn_id="basic::regex_parser_multiple_choice_answer",
        params={"type": "regex_parser", "parsing_regexes": [r"VERDICT: (\w)"]},
    )
    assert fn.provider_id == "basic" and fn.params is not None
    assert fn.params.aggregation_functions == ["accuracy"]  # filled in from the built-in
    result = _score(stack, "my::verdict", [_row("VERDICT: D", "D"), _row("Answer: D", "D")])
    assert [r["score"] for r in result.score_rows] == [1.0, 0.0]
    with pytest.raises(BadRequestError, match=r"has no function 'no-such'.*basic::equality"):
        stack.scoring_functions.register(
            scoring_fn_id="my::bad",
            description="d",
            return_type="number",
            provider_scoring_fn_id="no-such",
        )
    stack.scoring_functions.unregister("my::verdict")


def test_missing_columns_and_wrong_params_are_clear_errors(stack: Stack) -> None:
    rows = [_row("a", "a"), {"input_query": "q", "generated_answer": "b"}]
    with pytest.raises(BadRequestError) as caught:
        _score(stack, "basic::equality", rows)
    assert caught.value.message == (
        "Scoring function 'basic::equality' needs the column 'expected_answer' in every row; "
        "row 1 has none (it has: generated_answer, input_query)."
    )
    assert caught.value.details == {
        "scoring_fn_id": "basic::equality",
        "row": 1,
        "column": "expected_answer",
    }
    llm = {"type": "llm_as_judge", "judge_model": "m"}
    with pytest.raises(BadRequestError, match="takes params of type 'basic', got 'llm_as_judge'"):
        _score(stack, "basic::equality", [_row("a", "a")], llm)


def test_python_functions_score_rows_and_a_failing_row_is_left_out(stack: Stack) -> None:
    def ratio(row: dict[str, Any]) -> float:
        """Characters of the answer per character expected."""
        return len(row["generated_answer"]) / len(row["expected_answer"])

    fn = register_scoring_fn(stack, "py::ratio", ratio)
    assert fn.metadata == {"python": f"{__name__}.{ratio.__qualname__}"}
    assert fn.description == "Characters of the answer per character expected."
    assert fn.params is not None and fn.params.aggregation_functions == ["average"]
    assert stack.scoring_functions.retrieve("py::ratio").source == "provider"
    rows = [_row("abcd", "ab"), _row("abc", ""), _row("a", "ab")]
    result = _score(stack, "py::ratio", rows)
    assert result.score_rows == [
        {"score": 2.0},
        {"score": None, "error": "ZeroDivisionError: division by zero"},
        {"score": 0.5},
    ]
    assert result.aggregated_results == {"average": {"average": 1.25}}
    stack.scoring_functions.unregister("py::ratio")
    assert "py::ratio" not in [f.identifier for f in stack.scoring_functions.list()]


def test_the_decorator_defaults_and_returned_dicts(stack: Stack) -> None:
    @scoring_function(stack, return_type="boolean")
    def short(row: dict[str, Any]) -> bool:
        return len(row["generated_answer"]) < 4

    @scoring_function(stack, "py::label", return_type="string")
    def label(row: dict[str, Any]) -> dict[str, Any]:
        size = "long" if len(row["generated_answer"]) > 3 else "short"
        return {"score": size, "length": len(row["generated_answer"])}

    rows = [_row("abc", "x"), _row("abcdef", "x"), _row("ab", "x")]
    response = stack.scoring.score(
        input_rows=rows, scoring_functions={"python::short": None, "py::label": None}
    )
    assert list(response.results) == ["python::short", "py::label"]
    flags = response.results["python::short"]
    assert [r["score"] for r in flags.score_rows] == [True, False, True]
    assert flags.aggregated_results == {
        "accuracy": {"accuracy": 2 / 3, "num_correct": 2.0, "num_total": 3}
    }
    labels = response.results["py::label"]
    assert labels.score_rows[1] == {"score": "long", "length": 6}
    assert labels.aggregated_results == {
        "categorical_count": {"categorical_count": {"long": 1, "short": 2}}
    }
    # Re-running the cell replaces the function.
    register_scoring_fn(stack, "python::short", lambda row: False, return_type="boolean")
    again = _score(stack, "python::short", rows)
    assert again.aggregated_results["accuracy"]["accuracy"] == 0.0


def test_bad_python_returns_become_row_errors(stack: Stack) -> None:
    outputs = iter([{"no": "score"}, [1, 2], 0.25])
    register_scoring_fn(stack, "py::odd", lambda row: next(outputs))
    result = _score(stack, "py::odd", [_row("a", "a")] * 3)
    assert result.score_rows[0] == {
        "score": None,
        "error": "ValueError: returned a dict without a 'score' key (['no'])",
    }
    assert result.score_rows[1]["error"].startswith("ValueError: returned list;")
    assert result.aggregated_results == {"average": {"average": 0.25}}


async def test_async_python_functions_from_async_code(stack: Stack) -> None:
    async def slow_len(row: dict[str, Any]) -> int:
        await asyncio.sleep(0)
        return len(row["generated_answer"])

    await aregister_scoring_fn(stack, "py::slow_len", slow_len, aggregation_functions=["median"])
    response = await stack.aio.scoring.score(
        input_rows=[_row("a", ""), _row("abc", ""), _row("abcd", "")],
        scoring_functions={"py::slow_len": None},
    )
    assert response.results["py::slow_len"].aggregated_results == {"median": {"median": 3}}


def test_python_ids_may_not_take_builtin_or_registered_ones(stack: Stack) -> None:
    with pytest.raises(ConflictError, match="'basic::equality' is taken"):
        register_scoring_fn(stack, "basic::equality", lambda row: 1)
    stack.scoring_functions.register(
        scoring_fn_id="my::eq",
        description="d",
        return_type="number",
        provider_scoring_fn_id="equality",
    )
    with pytest.raises(ConflictError, match="'my::eq' is taken"):
        register_scoring_fn(stack, "my::eq", lambda row: 1)
    stack.scoring_functions.unregister("my::eq")
    with pytest.raises(BadRequestError, match="is built into inline::basic"):
        stack.scoring_functions.unregister("basic::equality")


def test_a_stack_without_scoring_says_so(tmp_path: Path) -> None:
    config = {"data_dir": str(tmp_path), "apis": [], "providers": {}}
    with Stack.from_config(config) as bare, pytest.raises(BadRequestError, match="no scoring API"):
        register_scoring_fn(bare, "x", lambda row: 1)


def test_flat_aggregates_and_mlflow_names_drop_the_nesting() -> None:
    nested = {
        "accuracy": {"accuracy": 0.5, "num_correct": 1.0, "num_total": 2},
        "categorical_count": {"categorical_count": {"a": 2}},
    }
    assert flat_aggregates(nested) == {
        "accuracy": 0.5,
        "num_correct": 1.0,
        "num_total": 2,
        "categorical_count": {"a": 2},
    }
    assert flatten_metrics({"fn": nested}) == {
        "fn/accuracy": 0.5,
        "fn/accuracy/num_correct": 1.0,
        "fn/accuracy/num_total": 2.0,
        "fn/categorical_count/a": 2.0,
    }
