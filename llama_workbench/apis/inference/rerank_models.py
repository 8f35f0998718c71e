"""Types of POST /v1alpha/inference/rerank (Llama Stack 0.7.3's RerankRequest/RerankResponse)."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from llama_workbench.apis.base import ApiModel
from llama_workbench.apis.inference.models import ImageContentPart, TextContentPart
from llama_workbench.core.errors import BadRequestError

RerankItem = str | TextContentPart | ImageContentPart


class RerankRequest(ApiModel):
    """Order `items` by their relevance to `query` with a rerank model."""

    model_config = ConfigDict(defer_build=True, protected_namespaces=())

    model: str = Field(description="The identifier of the reranking model to use.")
    query: RerankItem = Field(description="The search query to rank items against.")
    items: list[RerankItem] = Field(min_length=1, description="The items to rerank.")
    max_num_results: int | None = Field(
        None, ge=1, description="The most results to return. Default: all of them."
    )

    def texts(self) -> tuple[str, list[str]]:
        """The query and items as text; rerankers of text refuse image parts with a 400."""
        return _text(self.query, "query"), [
            _text(item, f"items[{i}]") for i, item in enumerate(self.items)
        ]


class RerankData(ApiModel):
    index: int = Field(ge=0, description="The item's index in the request's `items`.")
    relevance_score: float = Field(description="Higher is more relevant.")


class RerankResponse(ApiModel):
    """Results sorted by relevance score, highest first."""

    data: list[RerankData]

    @classmethod
    def from_scores(cls, scores: dict[int, float], limit: int | None) -> RerankResponse:
        """From each item's score by its index; ties keep the items' order."""
        order = sorted(scores, key=lambda i: (-scores[i], i))
        data = [RerankData(index=i, relevance_score=float(scores[i])) for i in order]
        return cls(data=data[:limit] if limit else data)


def _text(item: RerankItem, where: str) -> str:
    if isinstance(item, str):
        return item
    if isinstance(item, TextContentPart):
        return item.text
    raise BadRequestError(f"{where}: this rerank model ranks text; image parts are not supported.")
