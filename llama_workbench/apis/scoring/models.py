"""Types of the Scoring API: rows in, per-row scores and aggregates out."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from llama_workbench.apis.base import ApiModel
from llama_workbench.apis.scoring_functions.models import ScoringFnParams
from llama_workbench.core.errors import MissingDependencyError

# One row's score: {"score": value, ...extra such as judge_feedback or parsed_answer}.
ScoringResultRow = dict[str, Any]


class ScoringResult(ApiModel):
    """One function's scores: a row per input row, and the aggregates its params ask for."""

    score_rows: list[ScoringResultRow] = Field(
        description="The scoring result for each row. Each row is a map of column name to value."
    )
    aggregated_results: dict[str, Any] = Field(description="Map of metric name to aggregated value")


class ScoreRequest(ApiModel):
    """Score `input_rows` with each function named (params override the registered ones)."""

    model_config = ConfigDict(extra="forbid")

    input_rows: list[dict[str, Any]] = Field(description="The rows to score.")
    scoring_functions: dict[str, ScoringFnParams | None] = Field(
        description="The scoring functions to use for the scoring."
    )


class ScoreResponse(ApiModel):
    results: dict[str, ScoringResult] = Field(
        description="A map of scoring function name to ScoringResult."
    )

    def to_pandas(self) -> Any:
        """A DataFrame with a row per input row: each function's score in a column named after
        it, its extra fields (judge_feedback, error, ...) in "<function>.<field>" columns."""
        return _score_frame(self.results)


class ScoreBatchRequest(ApiModel):
    """Score every row of `dataset_id`; optionally save the scored rows as a new dataset."""

    model_config = ConfigDict(extra="forbid")

    dataset_id: str = Field(min_length=1, description="The ID of the dataset to score.")
    scoring_functions: dict[str, ScoringFnParams | None] = Field(
        description="The scoring functions to use for the scoring."
    )
    save_results_dataset: bool = Field(
        False, description="Whether to save the results to a dataset."
    )


def _score_frame(results: dict[str, ScoringResult]) -> Any:
    try:
        import pandas as pd
    except ImportError:
        raise MissingDependencyError("pandas", "eval", needed_by="to_pandas()") from None
    count = max((len(r.score_rows) for r in results.values()), default=0)
    columns: dict[str, list[Any]] = {}
    for fn_id, result in results.items():
        for index, row in enumerate(result.score_rows):
            for key, value in row.items():
                name = fn_id if key == "score" else f"{fn_id}.{key}"
                columns.setdefault(name, [None] * count)[index] = value
    return pd.DataFrame(columns, index=range(count))


class ScoreBatchResponse(ApiModel):
    dataset_id: str | None = Field(
        None,
        description="The dataset that was scored; with save_results_dataset, the new dataset "
        "holding the scored rows.",
    )
    results: dict[str, ScoringResult] = Field(
        description="A map of scoring function name to ScoringResult"
    )

    def to_pandas(self) -> Any:
        """The scores as a DataFrame, as ScoreResponse.to_pandas()."""
        return _score_frame(self.results)
