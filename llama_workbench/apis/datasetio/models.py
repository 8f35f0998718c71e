"""Types of the DatasetIO API (Llama Stack 0.7.3) and its offset pagination rule."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from llama_workbench.apis.base import ApiModel
from llama_workbench.core.errors import BadRequestError


class PaginatedResponse(ApiModel):
    """One page of rows; `has_more` says whether rows follow it."""

    data: list[dict[str, Any]]
    has_more: bool
    url: str | None = None


# The name this package uses; `PaginatedResponse` is the reference's schema name.
PaginatedRows = PaginatedResponse


class AppendRowsRequest(ApiModel):
    """Request body for appending rows to a dataset."""

    rows: list[dict[str, Any]] = Field(description="The rows to append to the dataset.")


def page_bounds(total: int, start_index: int | None, limit: int | None) -> tuple[int, int]:
    """(start, stop) of a page over `total` rows: start_index None = 0, limit None or -1 = all.

    A start beyond the end gives an empty page; negative values are a BadRequestError.
    """
    start = 0 if start_index is None else start_index
    if start < 0:
        raise BadRequestError(f"start_index must be >= 0, got {start}.")
    if limit is not None and limit < -1:
        raise BadRequestError(f"limit must be -1 (all rows) or >= 0, got {limit}.")
    stop = total if limit is None or limit == -1 else min(total, start + limit)
    return min(start, total), max(min(start, total), stop)
