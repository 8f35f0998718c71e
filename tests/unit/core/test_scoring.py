"""The ScoringFunctions registry and the Scoring router: config, persistence, routing, score_batch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from llama_workbench import (
    BadRequestError,
    ConfigError,
    ConflictError,
    NotFoundError,
    Stack,
    UnprocessableError,
)
from llama_workbench.core.bridge import run_sync
from llama_workbench.core.scoring import ScoringRouter
from llama_workbench.scoring import register_scoring_fn
from tests.support.scripted_llm import ScriptedModelServer

MODEL = "scripted/scripted-model"
JUDGE_PARAMS = {
    "type": "llm_as_judge",
    "judge_model": MODEL,
    "prompt_template": "Score: {expected_answer}",
    "judge_score_regexes": [r"Score: (\d+)"],
    "aggregation_functions": ["average"],
}
DECLARED = [
    {
        "scoring_fn_id": "cfg::verdict",
        "description": "VERDICT: X",
        "return_type": {"type": "number"},
        "provider_scoring_fn_id": "basic::regex_parser_multiple_choice_answer",
        "params": {"type": "regex_parser", "parsing_regexes": [r"VERDICT: ([A-D])"]},
    },
    {
        "scoring_fn_id": "cfg::judge",
        "description": "an echo judge",
        "return_type": "number",
        "provider_id": "judge",
        "params": JUDGE_PARAMS,
    },
]
ROWS = [
    {"input_query": "q1", "expected_answer": "3", "generated_answer": "VERDICT: A"},
    {"input_query": "q2", "expected_answer": "5", "generated_answer": "3"},
]


def _config(data_dir: Path, model: ScriptedModelServer, **extra: Any) -> dict[str, Any]:
    return {
        "data_dir": str(data_dir),
        "apis": ["inference", "scoring"],
        "providers": {
            "inference": [model.provider_config()],
            "scoring": [
                {"provider_id": "basic", "provider_type": "inline::basic"},
                {"provider_id": "judge", "provider_type": "inline::llm-as-judge"},
            ],
        },
        "registered_resources": {"scoring_fns": DECLARED},
        **extra,
    }


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        yield server


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, model: ScriptedModelServer) -> Iterator[Stack]:
    with Stack.from_config(_config(tmp_path_factory.mktemp("scoring"), model)) as built:
        yield built


def test_config_functions_are_registered_at_startup(stack: Stack) -> None:
    listed = {f.identifier: f for f in stack.scoring_functions.list()}
    assert {"cfg::verdict", "cfg::judge", "basic::equality", "llm-as-judge::base"} <= set(listed)
    verdict = listed["cfg::verdict"]
    # No provider_id: the provider whose function it aliases.
    assert (verdict.provider_id, verdict.source) == ("basic", "config")
    assert verdict.params is not None and verdict.params.aggregation_functions == ["accuracy"]
    assert listed["cfg::judge"].provider_id == "judge"
    assert [f.identifier for f in stack.scoring_functions.list()] == sorted(listed)


def test_functions_of_two_providers_in_one_call(stack: Stack) -> None:
    # Positional and with dict params, as the eval provider calls it.
    response = stack.scoring.score(
        ROWS,
        {
            "cfg::judge": None,
            "cfg::verdict": None,
            "basic::equality": {"type": "basic", "aggregation_functions": ["average"]},
        },
    )
    assert list(response.results) == ["cfg::judge", "cfg::verdict", "basic::equality"]
    assert [r["score"] for r in response.results["cfg::judge"].score_rows] == [3, 5]
    assert response.results["cfg::judge"].aggregated_results == {"average": {"average": 4.0}}
    assert [r["score"] for r in response.results["cfg::verdict"].score_rows] == [0.0, 0.0]
    assert response.results["basic::equality"].aggregated_results == {"average": {"average": 0.0}}


def test_dataframes_in_and_out(stack: Stack) -> None:
    import pandas as pd

    frame = pd.DataFrame(ROWS)
    response = stack.scoring.score(frame, {"cfg::verdict": None, "cfg::judge": None})
    scores = response.to_pandas()
    assert list(scores.columns) == [
        "cfg::verdict",
        "cfg::verdict.parsed_answer",
        "cfg::judge",
        "cfg::judge.judge_feedback",
    ]
    assert scores["cfg::judge"].tolist() == [3, 5]
    assert scores["cfg::verdict.parsed_answer"][0] == "A"
    assert pd.isna(scores["cfg::verdict.parsed_answer"][1])


def test_registering_an_id_again_moves_it(stack: Stack) -> None:
    stack.scoring_functions.register(
        scoring_fn_id="user::moving", description="d", return_type="number",
        provider_scoring_fn_id="basic::equality",
    )  # fmt: skip
    moved = stack.scoring_functions.register(
        scoring_fn_id="user::moving", description="now a judge", return_type="number",
        provider_id="judge", params=JUDGE_PARAMS,
    )  # fmt: skip
    assert moved.provider_id == "judge" and moved.description == "now a judge"
    result = stack.scoring.score(ROWS, {"user::moving": None}).results["user::moving"]
    assert result.aggregated_results == {"average": {"average": 4.0}}
    basic = stack.impl("scoring_functions").providers["basic"]
    with pytest.raises(NotFoundError, match="'user::moving' not found"):
        run_sync(basic.score(ROWS, {"user::moving": None}), stack.loop)
    stack.scoring_functions.unregister("user::moving")


def test_unknown_functions_and_bad_requests(stack: Stack) -> None:
    with pytest.raises(NotFoundError) as caught:
        stack.scoring.score(ROWS, {"basic::equalty": None})
    assert caught.value.message.startswith(
        "Scoring function 'basic::equalty' not found. Available: "
    )
    assert "basic::equality" in caught.value.available and "cfg::judge" in caught.value.available
    with pytest.raises(NotFoundError, match="'nope' not found"):
        stack.scoring_functions.retrieve("nope")
    with pytest.raises(BadRequestError, match="at least one scoring function"):
        stack.scoring.score(ROWS, {})
    with pytest.raises(UnprocessableError, match="aggregation_functions"):
        stack.scoring.score(
            ROWS, {"basic::equality": {"type": "basic", "aggregation_functions": ["mode"]}}
        )


def test_registering_needs_a_provider_when_it_is_ambiguous(stack: Stack) -> None:
    with pytest.raises(
        BadRequestError, match=r"needs a provider_id .*2 scoring providers \(basic, judge\)"
    ):
        stack.scoring_functions.register(scoring_fn_id="x", description="d", return_type="number")
    with pytest.raises(NotFoundError, match="Scoring provider 'nope' not found"):
        stack.scoring_functions.register(
            scoring_fn_id="x", description="d", return_type="number", provider_id="nope"
        )
    with pytest.raises(UnprocessableError, match="return_type"):
        stack.scoring_functions.register(
            scoring_fn_id="x", description="d", return_type="decimal", provider_id="basic"
        )


def test_taken_ids_and_what_may_be_unregistered(stack: Stack) -> None:
    for taken in ("basic::equality", "cfg::judge"):
        with pytest.raises(ConflictError, match=f"'{taken}' is taken"):
            stack.scoring_functions.register(
                scoring_fn_id=taken, description="d", return_type="number",
                provider_scoring_fn_id="equality",
            )  # fmt: skip
    with pytest.raises(BadRequestError, match="comes from the run config"):
        stack.scoring_functions.unregister("cfg::judge")
    with pytest.raises(BadRequestError, match="built into inline::llm-as-judge"):
        stack.scoring_functions.unregister("llm-as-judge::base")
    with pytest.raises(ConflictError, match="'cfg::verdict' is taken"):
        register_scoring_fn(stack, "cfg::verdict", lambda row: 1)


def test_registrations_persist_across_a_rebuild(tmp_path: Path, model: ScriptedModelServer) -> None:
    with Stack.from_config(_config(tmp_path, model)) as first:
        fn = first.scoring_functions.register(
            scoring_fn_id="user::judge",
            description="mine",
            return_type="number",
            provider_id="judge",
            params={**JUDGE_PARAMS, "aggregation_functions": ["median"]},
        )
        first.scoring_functions.register(
            scoring_fn_id="user::gone", description="d", return_type="number",
            provider_scoring_fn_id="basic::subset_of",
        )  # fmt: skip
        first.scoring_functions.unregister("user::gone")
        register_scoring_fn(first, "py::one", lambda row: 1)
    with Stack.from_config(_config(tmp_path, model)) as second:
        ids = [f.identifier for f in second.scoring_functions.list()]
        assert "user::judge" in ids and "user::gone" not in ids
        assert "py::one" not in ids  # a Python function lives as long as its process' stack
        assert second.scoring_functions.retrieve("user::judge") == fn
        result = second.scoring.score(ROWS, {"user::judge": None}).results["user::judge"]
        assert result.aggregated_results == {"median": {"median": 4.0}}


def test_invalid_declared_functions_fail_at_startup(
    tmp_path: Path, model: ScriptedModelServer
) -> None:
    bad = [{"scoring_fn_id": "x", "return_type": "number", "params": {"type": "basic", "x": 1}}]
    config = _config(tmp_path, model)
    config["registered_resources"] = {"scoring_fns": bad}
    with pytest.raises(ConfigError) as caught:
        Stack.from_config(config)
    assert str(caught.value) == (
        "Invalid run config (2 problems):\n"
        "  <dict>: registered_resources.scoring_fns[0].description is required but missing\n"
        "  <dict>: registered_resources.scoring_fns[0].params.basic.x is not a known setting "
        "(a typo?)"
    )
    rejected = [
        {"scoring_fn_id": "y", "description": "d", "return_type": "number", "provider_id": "basic"}
    ]
    config["registered_resources"] = {"scoring_fns": rejected}
    with pytest.raises(ConfigError, match=r"scoring_fns\[0\] \(y\): .*has no function 'y'"):
        Stack.from_config(config)


class _FakeDatasetIO:
    """Rows served a page at a time, as a datasetio provider would."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.calls: list[tuple[str, int | None, int | None]] = []

    async def iterrows(
        self, dataset_id: str, start_index: int | None = None, limit: int | None = None
    ) -> Any:
        self.calls.append((dataset_id, start_index, limit))
        start = start_index or 0
        end = len(self.rows) if limit is None else start + limit
        return SimpleNamespace(data=self.rows[start:end], has_more=end < len(self.rows))


def test_score_batch_reads_every_page(stack: Stack) -> None:
    rows = [{**ROWS[i % 2], "generated_answer": "VERDICT: B"} for i in range(5)]
    rows[2]["generated_answer"] = "VERDICT: C"
    datasetio = _FakeDatasetIO(rows)
    router = ScoringRouter(stack.impl("scoring_functions"), datasetio, page_size=2)
    params = {"type": "regex_parser", "aggregation_functions": ["categorical_count"]}
    response = run_sync(router.score_batch("qa", {"cfg::verdict": params}), stack.loop)
    assert datasetio.calls == [("qa", 0, 2), ("qa", 2, 2), ("qa", 4, 2)]
    assert response.dataset_id == "qa"
    result = response.results["cfg::verdict"]
    assert [r["parsed_answer"] for r in result.score_rows] == ["B", "B", "C", "B", "B"]
    assert result.aggregated_results == {"categorical_count": {"categorical_count": {"0.0": 5}}}
    with pytest.raises(BadRequestError, match="save_results_dataset needs the datasets API"):
        run_sync(router.score_batch("qa", {"cfg::verdict": None}, True), stack.loop)


def test_score_batch_without_datasetio_says_what_to_add(stack: Stack) -> None:
    with pytest.raises(
        BadRequestError, match=r"score_batch needs the datasetio API.*inline::localfs"
    ):
        stack.scoring.score_batch(dataset_id="qa", scoring_functions={"basic::equality": None})


def test_score_batch_over_a_real_dataset_saves_the_results(tmp_path: Path) -> None:
    config = {
        "data_dir": str(tmp_path),
        "apis": ["scoring", "datasetio"],
        "providers": {
            "scoring": [{"provider_id": "basic", "provider_type": "inline::basic"}],
            "datasetio": [{"provider_id": "localfs", "provider_type": "inline::localfs"}],
        },
    }
    rows = [
        {
            "input_query": f"q{i}",
            "expected_answer": "A",
            "generated_answer": f"Answer: {'AB'[i % 2]}",
        }
        for i in range(5)
    ]
    with Stack.from_config(config) as stack:
        stack.datasets.register(
            purpose="eval/question-answer", source={"type": "rows", "rows": rows}, dataset_id="qa"
        )
        fn_id = "basic::regex_parser_multiple_choice_answer"
        response = stack.scoring.score_batch(
            dataset_id="qa", scoring_functions={fn_id: None}, save_results_dataset=True
        )
        assert response.results[fn_id].aggregated_results == {
            "accuracy": {"accuracy": 0.6, "num_correct": 3.0, "num_total": 5}
        }
        assert response.dataset_id is not None and response.dataset_id.startswith("qa-scores-")
        saved = stack.datasetio.iterrows(dataset_id=response.dataset_id)
        assert saved.data[1] == {**rows[1], fn_id: {"score": 0.0, "parsed_answer": "B"}}
        metadata = stack.datasets.retrieve(response.dataset_id).metadata
        assert metadata == {"scored_dataset_id": "qa", "scoring_functions": [fn_id]}
