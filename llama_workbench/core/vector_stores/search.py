"""Searching a vector store: attribute filters, hybrid rank fusion, reranking, the results."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from llama_workbench.apis.inference.rerank_models import RerankRequest
from llama_workbench.apis.vector_io.models import (
    RankingOptions,
    ScoredChunk,
    SearchContent,
    SearchResult,
    VectorStoreRecord,
)
from llama_workbench.core.errors import BadRequestError, UnprocessableError
from llama_workbench.core.vector_stores_config import QualifiedModel, VectorStoresConfig

if TYPE_CHECKING:
    from llama_workbench.core.vector_stores.catalog import StoreCatalog

_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
    "in": lambda a, b: a in b,
    "nin": lambda a, b: a not in b,
}
RRF_K = 60.0
DEFAULT_ALPHA = 0.5
RERANK_CANDIDATES = 5  # a reranked search reranks this many times the results it returns


# The keys of /v1/vector-io/query's `params`: ours (`ranker` nested) and Llama Stack 0.7.3's
# (reranker_type/reranker_params, neural_model/neural_weights, max_num_results after a rerank,
# embedding_dimensions).
QUERY_KEYS = frozenset(
    {
        "max_chunks", "mode", "score_threshold", "filters", "ranker", "reranker_type",
        "reranker_params", "neural_model", "neural_weights", "max_num_results",
        "embedding_dimensions",
    }
)  # fmt: skip


@dataclass(frozen=True)
class QueryParams:
    """The `params` of POST /v1/vector-io/query: max_chunks, mode, score_threshold, filters, and
    the ranker (nested, or 0.7.3's reranker_type/reranker_params); unknown keys are a 400."""

    k: int
    mode: str
    options: RankingOptions
    filters: dict[str, Any] | None

    @classmethod
    def parse(
        cls, params: Mapping[str, Any] | None, default_mode: str, dimension: int | None = None
    ) -> QueryParams:
        params = dict(params or {})
        unknown = sorted(set(params) - QUERY_KEYS)
        if unknown:
            raise BadRequestError(
                f"params: unknown keys {', '.join(unknown)} (known: {', '.join(sorted(QUERY_KEYS))})."
            )
        k = _count(params, "max_chunks", 10)
        if params.get("max_num_results") is not None:  # what a rerank keeps (0.7.3); a cap here
            k = min(k, _count(params, "max_num_results", k))
        dims = params.get("embedding_dimensions")
        if dims is not None and dimension is not None and dims != dimension:
            raise BadRequestError(
                f"params.embedding_dimensions is {dims!r}; this store's embeddings have "
                f"{dimension} dimensions."
            )
        options = _options(params)
        filters = params.get("filters")
        if filters is not None:
            check_filter(filters, "params.filters")
        return cls(k, params.get("mode") or default_mode, options, filters)


def _count(params: Mapping[str, Any], key: str, default: int) -> int:
    value = params.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadRequestError(f"params.{key} must be a positive integer, got {value!r}.")
    return value


def _options(params: Mapping[str, Any]) -> RankingOptions:
    ranker = params.get("ranker") or {}
    if "reranker_type" in params or "reranker_params" in params:  # Llama Stack 0.7.3's form
        ranker = {**(params.get("reranker_params") or {}), "type": params.get("reranker_type")}
    if not isinstance(ranker, Mapping):
        raise BadRequestError("params.ranker must be an object (type, alpha, impact_factor).")
    try:
        return RankingOptions(
            ranker=ranker.get("type"),
            alpha=ranker.get("alpha"),
            impact_factor=ranker.get("impact_factor"),
            model=ranker.get("model") or params.get("neural_model"),
            weights=params.get("neural_weights"),
            score_threshold=params.get("score_threshold") or 0.0,
        )
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise BadRequestError(f"Invalid params ({where}): {problem['msg']}") from None


def check_filter(spec: Any, path: str = "filters") -> None:
    """Raise a BadRequestError naming the first malformed part of an OpenAI attribute filter."""
    if not isinstance(spec, Mapping):
        raise BadRequestError(f"{path} must be an object, got {type(spec).__name__}.")
    kind = spec.get("type")
    if kind in ("and", "or"):
        parts = spec.get("filters")
        if not isinstance(parts, list) or not parts:
            raise BadRequestError(f"{path}.filters must be a non-empty list for type '{kind}'.")
        for i, part in enumerate(parts):
            check_filter(part, f"{path}.filters[{i}]")
        return
    if kind not in _COMPARISONS:
        known = ", ".join([*_COMPARISONS, "and", "or"])
        raise BadRequestError(f"{path}.type '{kind}' is not a filter type; use one of: {known}.")
    if not isinstance(spec.get("key"), str):
        raise BadRequestError(f"{path}.key must be the name of an attribute.")
    if "value" not in spec:
        raise BadRequestError(f"{path}.value is missing.")
    if kind in ("in", "nin") and not isinstance(spec["value"], list):
        raise BadRequestError(f"{path}.value must be a list for '{kind}'.")


def matches(spec: Mapping[str, Any], attributes: Mapping[str, Any]) -> bool:
    """Whether attributes pass a (checked) filter; a missing key or mismatched types fail it."""
    kind = spec["type"]
    if kind == "and":
        return all(matches(part, attributes) for part in spec["filters"])
    if kind == "or":
        return any(matches(part, attributes) for part in spec["filters"])
    key = spec["key"]
    if key not in attributes:
        return kind in ("ne", "nin")
    try:
        return bool(_COMPARISONS[kind](attributes[key], spec["value"]))
    except TypeError:
        return False


def fuse(
    vector: list[ScoredChunk], keyword: list[ScoredChunk], options: RankingOptions | None
) -> list[ScoredChunk]:
    """Combine vector and keyword results: reciprocal rank fusion (default) or weighted scores;
    a neural ranker reranks the fused (rrf) results afterwards."""
    ranker = (options.ranker if options else None) or "rrf"
    if ranker == "neural":
        ranker = "rrf"
    by_id = {h.chunk.chunk_id: h.chunk for h in [*vector, *keyword]}
    weights = (options.weights if options else None) or {}
    if ranker == "rrf":
        k = (options.impact_factor if options else None) or RRF_K
        wv, wk = (weights.get("vector", 0.0), weights.get("keyword", 0.0)) if weights else (1, 1)
        scores = {cid: wv * s for cid, s in _rrf(vector, k).items()}
        for chunk_id, score in _rrf(keyword, k).items():
            scores[chunk_id] = scores.get(chunk_id, 0.0) + wk * score
    elif ranker == "weighted":
        alpha = DEFAULT_ALPHA if options is None or options.alpha is None else options.alpha
        if weights and (options is None or options.alpha is None):  # alpha wins, as in 0.7.3
            total = weights.get("vector", 0.0) + weights.get("keyword", 0.0)
            alpha = weights.get("vector", 0.0) / total if total else DEFAULT_ALPHA
        v, kw = _normalized(vector), _normalized(keyword)
        scores = {cid: alpha * v.get(cid, 0.0) + (1 - alpha) * kw.get(cid, 0.0) for cid in by_id}
    else:
        raise BadRequestError(
            f"Unknown ranker '{ranker}' for hybrid search; use 'rrf' or 'weighted'."
        )
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    return [ScoredChunk(chunk=by_id[cid], score=score) for cid, score in ranked]


def unit_scores(hits: list[ScoredChunk]) -> list[ScoredChunk]:
    """Providers' cosine similarities, -1 to 1, as scores from 0 to 1: (1 + cos) / 2. Search
    scores are never negative, as OpenAI's and Llama Stack 0.7.3's (1 / L2 distance) are not."""
    return [ScoredChunk(chunk=h.chunk, score=(1.0 + h.score) / 2) for h in hits]


def _rrf(hits: list[ScoredChunk], k: float) -> dict[str, float]:
    return {h.chunk.chunk_id: 1.0 / (k + rank) for rank, h in enumerate(hits, start=1)}


def _normalized(hits: list[ScoredChunk]) -> dict[str, float]:
    """Min-max scaled to [0, 1] (BM25 and cosine scores live on different scales)."""
    if not hits:
        return {}
    low = min(h.score for h in hits)
    high = max(h.score for h in hits)
    span = high - low
    return {h.chunk.chunk_id: (h.score - low) / span if span else 1.0 for h in hits}


def rerank_model(options: RankingOptions | None, config: VectorStoresConfig) -> str | None:
    """The rerank model of a search: `model` of its options, or the config's default when the
    ranker is 'neural'; None when the search is not reranked."""
    if options is None or (options.model is None and options.ranker != "neural"):
        return None
    if options.model:
        return options.model
    # Kept by the config as an extra key of `vector_stores:` (Llama Stack's name and shape).
    raw = (config.model_extra or {}).get("default_reranker_model")
    if raw is None:
        raise BadRequestError(
            "ranking_options.ranker 'neural' needs ranking_options.model (a rerank model) or "
            "vector_stores.default_reranker_model in the run config."
        )
    try:
        default = QualifiedModel.model_validate(raw)
    except ValidationError as exc:
        raise BadRequestError(
            f"vector_stores.default_reranker_model in the run config: {exc.errors()[0]['msg']}"
        ) from None
    return f"{default.provider_id}/{default.model_id}" if default.provider_id else default.model_id


async def rerank_hits(
    inference: Any, model: str, query: str, hits: list[ScoredChunk], k: int
) -> list[ScoredChunk]:
    """The best `k` hits by the rerank model's relevance score (which becomes their score)."""
    if not hits:
        return hits
    request = RerankRequest(
        model=model, query=query, items=[h.chunk.content for h in hits], max_num_results=k
    )
    ranked = await inference.rerank(request)
    return [ScoredChunk(chunk=hits[r.index].chunk, score=r.relevance_score) for r in ranked.data]


async def search_store(
    stores: StoreCatalog,
    record: VectorStoreRecord,
    query: str,
    mode: str,
    k: int,
    options: RankingOptions | None,
    filters: dict[str, Any] | None,
) -> list[ScoredChunk]:
    """The store's best `k` chunks for `query`: vector, keyword or hybrid, filtered by file
    attributes, above the score threshold, reranked when ranking_options ask for it."""
    if mode not in ("vector", "keyword", "hybrid"):
        raise BadRequestError(f"search_mode '{mode}' is unknown; use vector, keyword or hybrid.")
    provider = stores.provider(record)
    embedding = None
    if mode != "keyword":
        (embedding,) = await stores.embed(record.embedding_model, [query])
    attributes = None
    if filters is not None:
        attributes = await stores.records.attributes(record.identifier)
    threshold = options.score_threshold if options and options.score_threshold else None
    reranker = rerank_model(options, stores.config)
    if reranker is not None:  # the reranker picks the best k of more candidates
        final_k, k = k, k * RERANK_CANDIDATES
    fetch = k * (4 if filters else 1) * (2 if mode == "hybrid" else 1)
    while True:
        vector = (
            unit_scores(await provider.query_vector(record.identifier, embedding, fetch))
            if embedding
            else []
        )
        keyword = (
            await provider.query_keyword(record.identifier, query, fetch)
            if mode != "vector"
            else []
        )
        hits = fuse(vector, keyword, options) if mode == "hybrid" else vector or keyword
        exhausted = len(vector) < fetch and len(keyword) < fetch
        if filters is not None and attributes is not None:
            hits = [h for h in hits if matches(filters, _attributes_of(h, attributes))]
        if threshold is not None:
            hits = [h for h in hits if h.score >= threshold]
        if len(hits) >= k or exhausted or filters is None:
            if reranker is not None:
                return await rerank_hits(stores.inference, reranker, query, hits[:k], final_k)
            return hits[:k]
        fetch *= 4  # filters removed too many: look further down the ranking


def parsed_ranking(value: RankingOptions | dict[str, Any] | None) -> RankingOptions | None:
    if value is None or isinstance(value, RankingOptions):
        return value
    try:
        return RankingOptions.model_validate(value)
    except ValidationError as exc:
        raise UnprocessableError(f"Invalid ranking_options: {exc.errors()[0]['msg']}") from None


def _attributes_of(hit: ScoredChunk, by_file: Mapping[str, Any]) -> Mapping[str, Any]:
    file_id = hit.chunk.chunk_metadata.file_id
    return by_file.get(file_id, {}) if file_id else hit.chunk.metadata


def search_result(hit: ScoredChunk, by_file: Mapping[str, Any]) -> SearchResult:
    chunk = hit.chunk
    meta = chunk.chunk_metadata
    file_id = meta.file_id or str(chunk.metadata.get("document_id") or chunk.chunk_id)
    filename = meta.filename or str(chunk.metadata.get("filename") or meta.source or file_id)
    attributes = (
        by_file.get(file_id)
        if meta.file_id
        else {k: v for k, v in chunk.metadata.items() if isinstance(v, str | int | float | bool)}
    )
    return SearchResult(
        file_id=file_id,
        filename=filename,
        score=hit.score,
        attributes=attributes or None,
        content=[SearchContent(text=chunk.content, chunk_metadata=meta, metadata=chunk.metadata)],
    )
