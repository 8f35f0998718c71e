"""The Scoring and ScoringFunctions routes over HTTP: Llama Stack 0.7.3's paths, shapes and errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from llama_workbench import Stack
from llama_workbench.scoring import register_scoring_fn
from llama_workbench.server.app import create_app

ROUTES_TXT = Path(__file__).parents[2] / "data" / "reference" / "llama-stack-0.7.3-routes.txt"

# Property names (and the required ones) of the reference's /openapi.json schemas; ours add
# `owner` and `source` to ScoringFn, as to the other resources.
SHAPES: dict[str, tuple[set[str], set[str]]] = {
    "ScoringFn": (
        {
            "identifier",
            "provider_resource_id",
            "provider_id",
            "type",
            "description",
            "metadata",
            "return_type",
            "params",
            "owner",
            "source",
        },
        {"identifier", "provider_id", "return_type"},
    ),
    "ListScoringFunctionsResponse": ({"data"}, {"data"}),
    "ScoreResponse": ({"results"}, {"results"}),
    "ScoreBatchResponse": ({"dataset_id", "results"}, {"results"}),
    "ScoringResult": ({"score_rows", "aggregated_results"}, {"score_rows", "aggregated_results"}),
}
REQUESTS: dict[str, tuple[set[str], set[str]]] = {
    "RegisterScoringFunctionRequest": (
        {
            "scoring_fn_id",
            "description",
            "return_type",
            "provider_scoring_fn_id",
            "provider_id",
            "params",
        },
        {"scoring_fn_id", "description", "return_type"},
    ),
    "ScoreRequest": ({"input_rows", "scoring_functions"}, {"input_rows", "scoring_functions"}),
    "ScoreBatchRequest": (
        {"dataset_id", "scoring_functions", "save_results_dataset"},
        {"dataset_id", "scoring_functions"},
    ),
    "LLMAsJudgeScoringFnParams": (
        {"type", "judge_model", "prompt_template", "judge_score_regexes", "aggregation_functions"},
        {"judge_model"},
    ),
    "RegexParserScoringFnParams": ({"type", "parsing_regexes", "aggregation_functions"}, set()),
    "BasicScoringFnParams": ({"type", "aggregation_functions"}, set()),
}
ROW = {"input_query": "2+2?", "expected_answer": "4", "generated_answer": "The answer is 4."}


def _shaped(body: dict[str, Any], schema: str) -> dict[str, Any]:
    properties, required = SHAPES[schema]
    assert required <= set(body) <= properties, (schema, sorted(body))
    return body


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    config = {
        "data_dir": str(tmp_path_factory.mktemp("scoring-routes")),
        "apis": ["scoring", "datasetio"],
        "providers": {
            "scoring": [{"provider_id": "basic", "provider_type": "inline::basic"}],
            "datasetio": [{"provider_id": "localfs", "provider_type": "inline::localfs"}],
        },
    }
    with Stack.from_config(config) as built:
        built.datasets.register(
            purpose="eval/question-answer",
            source={"type": "rows", "rows": [ROW] * 3},
            dataset_id="qa",
        )
        yield built


@pytest.fixture
async def http(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(create_app(stack))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def test_paths_methods_and_summaries_match_the_reference(stack: Stack) -> None:
    wanted = set()
    for line in ROUTES_TXT.read_text().splitlines():
        if "/v1/scoring" not in line:
            continue
        method_path, _, rest = line.partition(" | ")
        method, path = method_path.split()
        status, summary = rest.split(" | ")[1:3]
        # OpenAPI writes {scoring_fn_id:path} as {scoring_fn_id}.
        wanted.add((method, path.replace(":path", ""), summary, status == "DEPRECATED"))
    paths = create_app(stack).openapi()["paths"]
    served = {
        (method.upper(), path, operation["summary"], operation.get("deprecated", False))
        for path, operations in paths.items()
        if path.startswith("/v1/scoring")
        for method, operation in operations.items()
    }
    assert len(wanted) == 6 and served == wanted


def test_request_schemas_match_the_reference(stack: Stack) -> None:
    schemas = create_app(stack).openapi()["components"]["schemas"]
    for name, (properties, required) in {**REQUESTS, **SHAPES}.items():
        schema = schemas[name]
        assert set(schema["properties"]) == properties, name
        assert set(schema.get("required", [])) == required, name
    aggregations = schemas["AggregationFunctionType"]["enum"]
    assert aggregations == [
        "average",
        "weighted_average",
        "median",
        "categorical_count",
        "accuracy",
    ]


async def test_list_get_register_and_delete(http: httpx.AsyncClient) -> None:
    listed = _shaped(
        (await http.get("/v1/scoring-functions")).json(), "ListScoringFunctionsResponse"
    )
    equality = next(f for f in listed["data"] if f["identifier"] == "basic::equality")
    assert _shaped(equality, "ScoringFn")["type"] == "scoring_function"
    assert equality["return_type"] == {"type": "number"}
    assert equality["params"] == {"type": "basic", "aggregation_functions": ["accuracy"]}
    assert (await http.get("/v1/scoring-functions/basic::equality")).json() == equality
    body = {
        "scoring_fn_id": "my/contains",
        "description": "expected inside generated",
        "return_type": {"type": "number"},
        "provider_scoring_fn_id": "subset-of",
        "params": {"type": "basic", "aggregation_functions": ["average"]},
    }
    made = await http.post("/v1/scoring-functions", json=body)
    assert made.status_code == 200
    assert _shaped(made.json(), "ScoringFn")["provider_resource_id"] == "subset-of"
    fetched = await http.get("/v1/scoring-functions/my/contains")  # ids with slashes: {path}
    assert fetched.json()["identifier"] == "my/contains"
    assert (await http.delete("/v1/scoring-functions/my/contains")).status_code == 200
    missing = await http.get("/v1/scoring-functions/my/contains")
    assert missing.status_code == 404
    error = missing.json()["error"]
    assert error["type"] == "not_found" and "basic::equality" in error["message"]


async def test_score(http: httpx.AsyncClient) -> None:
    body = {
        "input_rows": [ROW, {**ROW, "generated_answer": "The answer is 5."}],
        "scoring_functions": {
            "basic::regex_parser_math_response": None,
            "basic::subset_of": {"type": "basic", "aggregation_functions": ["average"]},
        },
    }
    response = await http.post("/v1/scoring/score", json=body)
    assert response.status_code == 200
    results = _shaped(response.json(), "ScoreResponse")["results"]
    math = _shaped(results["basic::regex_parser_math_response"], "ScoringResult")
    assert math == {
        "score_rows": [{"score": 1.0, "parsed_answer": "4"}, {"score": 0.0, "parsed_answer": "5"}],
        "aggregated_results": {"accuracy": {"accuracy": 0.5, "num_correct": 1.0, "num_total": 2}},
    }
    assert results["basic::subset_of"]["aggregated_results"] == {"average": {"average": 0.5}}


async def test_a_python_function_is_listed_and_callable_over_http(
    http: httpx.AsyncClient, stack: Stack
) -> None:
    def word_count(row: dict[str, Any]) -> int:
        return len(row["generated_answer"].split())

    register_scoring_fn(stack, "py::words", word_count)
    fn = (await http.get("/v1/scoring-functions/py::words")).json()
    assert fn["metadata"] == {"python": f"{__name__}.{word_count.__qualname__}"}
    body = {"input_rows": [ROW], "scoring_functions": {"py::words": None}}
    results = (await http.post("/v1/scoring/score", json=body)).json()["results"]
    assert results["py::words"] == {
        "score_rows": [{"score": 4}],
        "aggregated_results": {"average": {"average": 4.0}},
    }


async def test_score_batch(http: httpx.AsyncClient) -> None:
    body = {"dataset_id": "qa", "scoring_functions": {"basic::subset_of": None}}
    response = await http.post("/v1/scoring/score-batch", json=body)
    assert response.status_code == 200
    batch = _shaped(response.json(), "ScoreBatchResponse")
    assert batch["dataset_id"] == "qa"
    assert batch["results"]["basic::subset_of"]["aggregated_results"]["accuracy"]["num_total"] == 3


async def test_errors_in_the_common_shape(http: httpx.AsyncClient) -> None:
    bad_type = {"input_rows": [ROW], "scoring_functions": {"basic::equality": {"type": "fancy"}}}
    invalid = await http.post("/v1/scoring/score", json=bad_type)
    assert invalid.status_code == 400
    assert invalid.json()["error"]["type"] == "invalid_request_error"
    no_column = {
        "input_rows": [{"generated_answer": "x"}],
        "scoring_functions": {"basic::equality": None},
    }
    missing = await http.post("/v1/scoring/score", json=no_column)
    assert missing.status_code == 400
    assert (
        "needs the column 'expected_answer' in every row; row 0"
        in missing.json()["error"]["message"]
    )
    unknown = await http.post(
        "/v1/scoring/score", json={"input_rows": [ROW], "scoring_functions": {"x": None}}
    )
    assert unknown.status_code == 404


async def test_aggregates_are_keyed_by_the_requested_functions(http: httpx.AsyncClient) -> None:
    # Llama Stack 0.7.3's suite: one key per requested aggregation function, each holding
    # that function's own dict (accuracy's with num_correct and num_total).
    functions = ["accuracy", "median", "categorical_count", "average"]
    params = {"type": "basic", "aggregation_functions": functions}
    body = {"input_rows": [ROW, ROW], "scoring_functions": {"basic::subset_of": params}}
    results = (await http.post("/v1/scoring/score", json=body)).json()["results"]
    assert results["basic::subset_of"]["aggregated_results"] == {
        "accuracy": {"accuracy": 1.0, "num_correct": 2.0, "num_total": 2},
        "median": {"median": 1.0},
        "categorical_count": {"categorical_count": {"1.0": 2}},
        "average": {"average": 1.0},
    }
