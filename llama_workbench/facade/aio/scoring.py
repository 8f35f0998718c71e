"""`stack.aio.scoring`: the Scoring API as coroutines.

Generated from llama_workbench/apis/scoring/api.py by `python -m llama_workbench.facade._codegen`;
edit the Protocol (or its request models) and run it again, never this file."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from llama_workbench.facade._runtime import AsyncFace

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from llama_workbench.apis.scoring.api import Rows
    from llama_workbench.apis.scoring.models import ScoreBatchResponse, ScoreResponse
    from llama_workbench.apis.scoring_functions.models import ScoringFnParams


class AsyncScoringApi(AsyncFace):
    """Score rows (`input_query`, `expected_answer`, `generated_answer`, ...) with scoring functions."""

    __slots__ = ()

    async def score(
        self,
        input_rows: Rows,
        scoring_functions: Mapping[str, ScoringFnParams | dict[str, Any] | None],
    ) -> ScoreResponse:
        """Each function's per-row scores and aggregates; params (or None) override the
        registered ones field by field. Functions of different providers run concurrently.
        `input_rows` may also be a pandas DataFrame; `.to_pandas()` gives the scores as one.
        """
        return cast("ScoreResponse", await self._call("score", locals()))

    async def score_batch(
        self,
        dataset_id: str,
        scoring_functions: Mapping[str, ScoringFnParams | dict[str, Any] | None],
        save_results_dataset: bool = False,
    ) -> ScoreBatchResponse:
        """Score every row of a dataset (needs the datasetio API); with save_results_dataset,
        the rows and their scores are registered as a new dataset.
        """
        return cast("ScoreBatchResponse", await self._call("score_batch", locals()))
