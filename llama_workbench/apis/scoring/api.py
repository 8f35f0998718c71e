"""The Scoring API protocols: what callers use, and what scoring providers implement."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from llama_workbench.apis.scoring.models import ScoreBatchResponse, ScoreResponse
from llama_workbench.apis.scoring_functions.models import ScoringFn, ScoringFnParams

Rows = builtins.list[dict[str, Any]]


@runtime_checkable
class Scoring(Protocol):
    """Score rows (`input_query`, `expected_answer`, `generated_answer`, ...) with scoring functions."""

    async def score(
        self,
        input_rows: Rows,
        scoring_functions: Mapping[str, ScoringFnParams | dict[str, Any] | None],
    ) -> ScoreResponse:
        """Each function's per-row scores and aggregates; params (or None) override the
        registered ones field by field. Functions of different providers run concurrently.
        `input_rows` may also be a pandas DataFrame; `.to_pandas()` gives the scores as one."""
        ...

    async def score_batch(
        self,
        dataset_id: str,
        scoring_functions: Mapping[str, ScoringFnParams | dict[str, Any] | None],
        save_results_dataset: bool = False,
    ) -> ScoreBatchResponse:
        """Score every row of a dataset (needs the datasetio API); with save_results_dataset,
        the rows and their scores are registered as a new dataset."""
        ...


@runtime_checkable
class ScoringProvider(Protocol):
    """A scoring provider: offers built-in functions, accepts registered ones, runs them."""

    async def list_scoring_functions(self) -> builtins.list[ScoringFn]:
        """The functions it offers without registration (built in, or Python ones of this process)."""
        ...

    async def register_scoring_function(self, fn: ScoringFn) -> ScoringFn:
        """Accept a registered function (raise a clear error if it can't run it); may fill params."""
        ...

    async def unregister_scoring_function(self, fn_id: str) -> None:
        """Forget a registered function (built-in ones can't be removed)."""
        ...

    async def score(
        self, input_rows: Rows, scoring_functions: dict[str, ScoringFnParams | None]
    ) -> ScoreResponse:
        """Score with functions it lists or was given, by identifier; params are the merged ones."""
        ...

    async def shutdown(self) -> None: ...
