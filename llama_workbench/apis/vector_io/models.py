"""Types of the Vector IO API: OpenAI-compatible vector stores, plus Llama Stack's chunk insert/query."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from llama_workbench.apis.base import ApiModel

DEFAULT_CHUNK_SIZE_TOKENS = 800
DEFAULT_CHUNK_OVERLAP_TOKENS = 400

SearchMode = Literal["vector", "keyword", "hybrid"]
FileStatus = Literal["completed", "in_progress", "cancelled", "failed"]
Attributes = dict[str, str | float | bool]


# ----------------------------------------------------------------------------- chunks


class ChunkMetadata(ApiModel):
    """Facts about a chunk that are not shown to the model (ids, offsets, token counts)."""

    model_config = ConfigDict(extra="allow")

    chunk_id: str | None = None
    document_id: str | None = None
    source: str | None = None
    created_timestamp: int | None = None
    updated_timestamp: int | None = None
    chunk_window: str | None = None
    chunk_tokenizer: str | None = None
    content_token_count: int | None = None
    metadata_token_count: int | None = None
    # Where the chunk came from, for citations.
    file_id: str | None = None
    filename: str | None = None
    chunk_index: int | None = None
    start_offset: int | None = None
    end_offset: int | None = None
    page: int | None = None
    page_end: int | None = None


class Chunk(ApiModel):
    """A piece of a document: `metadata` may be shown to the model, `chunk_metadata` is not."""

    content: str
    chunk_id: str
    metadata: dict[str, Any] = Field(default_factory=dict)
    chunk_metadata: ChunkMetadata = Field(default_factory=ChunkMetadata)

    @field_validator("content", mode="before")
    @classmethod
    def _text_content(cls, value: Any) -> Any:
        # Interleaved content (a list of {"type": "text", "text": ...} items) becomes its text.
        if isinstance(value, list):
            return "\n".join(
                item.get("text", "") if isinstance(item, dict) else str(item) for item in value
            )
        if isinstance(value, dict):
            return value.get("text", "")
        return value


class EmbeddedChunk(Chunk):
    """A chunk with its embedding."""

    model_config = ConfigDict(protected_namespaces=())

    embedding: list[float]
    embedding_model: str
    embedding_dimension: int


class ScoredChunk(ApiModel):
    """A chunk a provider found, with its score (higher is better)."""

    chunk: EmbeddedChunk
    score: float


class QueryChunksResponse(ApiModel):
    chunks: list[EmbeddedChunk]
    scores: list[float]


class InsertChunksRequest(ApiModel):
    """POST /v1/vector-io/insert: chunks with embeddings (or without: they are embedded)."""

    vector_store_id: str
    chunks: list[EmbeddedChunk | Chunk]
    ttl_seconds: int | None = None


class QueryChunksRequest(ApiModel):
    """POST /v1/vector-io/query: `params` takes max_chunks, mode, score_threshold, ranker."""

    vector_store_id: str
    query: str
    params: dict[str, Any] | None = None

    @field_validator("query", mode="before")
    @classmethod
    def _text_query(cls, value: Any) -> Any:
        return Chunk._text_content(value)


# ----------------------------------------------------------------------------- vector stores


class FileCounts(ApiModel):
    completed: int = 0
    cancelled: int = 0
    failed: int = 0
    in_progress: int = 0
    total: int = 0


class ExpiresAfter(ApiModel):
    anchor: Literal["last_active_at"] = "last_active_at"
    days: int = Field(ge=1, le=365)


class VectorStoreObject(ApiModel):
    """A vector store (OpenAI's object); the embedding model and provider are in `metadata`."""

    id: str
    object: Literal["vector_store"] = "vector_store"
    created_at: int
    name: str | None = None
    usage_bytes: int = 0
    file_counts: FileCounts = Field(default_factory=FileCounts)
    status: Literal["expired", "in_progress", "completed"] = "completed"
    expires_after: ExpiresAfter | None = None
    expires_at: int | None = None
    last_active_at: int | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class VectorStoreRecord(ApiModel):
    """What the routing table keeps per store (the public object plus how to serve it)."""

    model_config = ConfigDict(protected_namespaces=())

    identifier: str
    provider_id: str
    embedding_model: str
    embedding_dimension: int
    owner: str | None = None
    object: VectorStoreObject


class ChunkingStrategyStaticConfig(ApiModel):
    max_chunk_size_tokens: int = Field(DEFAULT_CHUNK_SIZE_TOKENS, ge=100, le=4096)
    chunk_overlap_tokens: int = Field(DEFAULT_CHUNK_OVERLAP_TOKENS, ge=0)


class ChunkingStrategyAuto(ApiModel):
    type: Literal["auto"] = "auto"


class ChunkingStrategyStatic(ApiModel):
    type: Literal["static"] = "static"
    static: ChunkingStrategyStaticConfig


DEFAULT_CONTEXT_PROMPT = (
    "<document>\n{{WHOLE_DOCUMENT}}\n</document>\n"
    "Here is the chunk we want to situate within the whole document\n"
    "<chunk>\n{{CHUNK_CONTENT}}\n</chunk>\n"
    "Please give a short succinct description to situate this chunk of text within the overall "
    "document for the purposes of improving search retrieval of the chunk. "
    "Answer only with the succinct description and nothing else."
)  # Llama Stack 0.7.3's words


class ChunkingStrategyContextualConfig(ApiModel):
    """Contextual chunking (Llama Stack 0.7.3): an LLM writes a line that situates each chunk in
    its document, prepended to the chunk before it is embedded."""

    model_id: str | None = Field(
        None,
        min_length=1,
        description="The LLM (default: the config's vector_stores.contextual_retrieval_params.model).",
    )
    context_prompt: str = Field(
        DEFAULT_CONTEXT_PROMPT,
        description="A template with {{WHOLE_DOCUMENT}} before {{CHUNK_CONTENT}}.",
    )
    max_chunk_size_tokens: int = Field(700, ge=100, le=4096)
    chunk_overlap_tokens: int = Field(400, ge=0)
    timeout_seconds: int | None = Field(None, ge=1, description="Per LLM call.")
    max_concurrency: int | None = Field(None, ge=1, description="LLM calls at once.")

    @model_validator(mode="after")
    def _check(self) -> ChunkingStrategyContextualConfig:
        if self.chunk_overlap_tokens >= self.max_chunk_size_tokens:
            raise ValueError("chunk_overlap_tokens must be less than max_chunk_size_tokens")
        prompt = self.context_prompt
        for name in ("{{WHOLE_DOCUMENT}}", "{{CHUNK_CONTENT}}"):
            if name not in prompt:
                raise ValueError(f"context_prompt must contain {name} placeholder")
        if prompt.index("{{WHOLE_DOCUMENT}}") >= prompt.index("{{CHUNK_CONTENT}}"):
            raise ValueError("context_prompt must have {{WHOLE_DOCUMENT}} before {{CHUNK_CONTENT}}")
        return self


class ChunkingStrategyContextual(ApiModel):
    type: Literal["contextual"] = "contextual"
    contextual: ChunkingStrategyContextualConfig


ChunkingStrategy = Annotated[
    ChunkingStrategyAuto | ChunkingStrategyStatic | ChunkingStrategyContextual,
    Field(discriminator="type"),
]


class CreateVectorStoreRequest(ApiModel):
    """POST /v1/vector_stores. `embedding_model`, `embedding_dimension` and `provider_id` are
    Llama Stack's extra_body fields; without them the stack's defaults apply. Other extra fields
    (e.g. 0.7.3's provider_vector_store_id) are a 400 that names them, never dropped."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    name: str | None = None
    file_ids: list[str] = Field(default_factory=list)
    expires_after: ExpiresAfter | None = None
    chunking_strategy: ChunkingStrategy | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    embedding_model: str | None = None
    embedding_dimension: int | None = Field(None, ge=1)
    provider_id: str | None = None


class UpdateVectorStoreRequest(ApiModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    expires_after: ExpiresAfter | None = None
    metadata: dict[str, Any] | None = None


class VectorStoreListResponse(ApiModel):
    object: Literal["list"] = "list"
    data: list[VectorStoreObject]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False


class VectorStoreDeleteResponse(ApiModel):
    id: str
    object: Literal["vector_store.deleted"] = "vector_store.deleted"
    deleted: bool = True


# ----------------------------------------------------------------------------- search


class RankingOptions(ApiModel):
    """How results are ranked: `ranker` "rrf" (default for hybrid), "weighted" or "neural"."""

    model_config = ConfigDict(extra="allow")

    ranker: str | None = None
    score_threshold: float | None = 0.0
    alpha: float | None = Field(
        None, ge=0.0, le=1.0, description="Weighted: share of vector score."
    )
    impact_factor: float | None = Field(None, gt=0.0, description="RRF's k (default 60).")
    weights: dict[str, float] | None = Field(
        None,
        description=(
            "Hybrid search: the shares of the vector and keyword rankings (summing to 1); "
            "for 'weighted' they set alpha, for 'rrf' they scale each ranking's terms."
        ),
    )
    model: str | None = Field(
        None,
        description=(
            "A rerank model: the results are reranked by it (ranker 'neural' without a model "
            "uses the config's vector_stores.default_reranker_model)."
        ),
    )

    @field_validator("weights")
    @classmethod
    def _check_weights(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is None:
            return value
        if not set(value) <= {"vector", "keyword", "neural"}:
            raise ValueError("weights keys must be from {'vector', 'keyword', 'neural'}")
        if abs(sum(value.values()) - 1.0) > 0.001:
            raise ValueError("weights must sum to 1.0")
        if value.get("neural"):  # 0.7.3 takes it and uses it nowhere; we say so
            raise ValueError(
                "weights.neural is not supported: a reranked search orders by the reranker's "
                "scores; give vector and keyword weights"
            )
        return value


class SearchVectorStoreRequest(ApiModel):
    """POST /v1/vector_stores/{id}/search."""

    query: str | list[str]
    filters: dict[str, Any] | None = None
    max_num_results: int | None = Field(10, ge=1, le=50, description="null: the default, 10.")
    ranking_options: RankingOptions | None = None
    rewrite_query: bool = False
    search_mode: SearchMode = "vector"


class SearchContent(ApiModel):
    type: Literal["text"] = "text"
    text: str
    embedding: list[float] | None = None
    chunk_metadata: ChunkMetadata | None = None
    metadata: dict[str, Any] | None = None


class SearchResult(ApiModel):
    file_id: str
    filename: str
    score: float
    attributes: Attributes | None = None
    content: list[SearchContent]


class SearchResultsPage(ApiModel):
    object: Literal["vector_store.search_results.page"] = "vector_store.search_results.page"
    search_query: list[str]
    data: list[SearchResult]
    has_more: bool = False
    next_page: str | None = None


# ----------------------------------------------------------------------------- store files


class FileLastError(ApiModel):
    code: Literal["server_error", "rate_limit_exceeded", "unsupported_file", "invalid_file"]
    message: str


class VectorStoreFileObject(ApiModel):
    id: str
    object: Literal["vector_store.file"] = "vector_store.file"
    attributes: Attributes = Field(default_factory=dict)
    chunking_strategy: ChunkingStrategy = Field(default_factory=ChunkingStrategyAuto)
    created_at: int
    last_error: FileLastError | None = None
    status: FileStatus
    usage_bytes: int = 0
    vector_store_id: str


class AttachFileRequest(ApiModel):
    """POST /v1/vector_stores/{id}/files."""

    file_id: str
    attributes: Attributes | None = None
    chunking_strategy: ChunkingStrategy | None = None


class UpdateVectorStoreFileRequest(ApiModel):
    attributes: Attributes


class VectorStoreFileListResponse(ApiModel):
    object: Literal["list"] = "list"
    data: list[VectorStoreFileObject]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False


class VectorStoreFileDeleteResponse(ApiModel):
    id: str
    object: Literal["vector_store.file.deleted"] = "vector_store.file.deleted"
    deleted: bool = True


class VectorStoreFileContentResponse(ApiModel):
    object: Literal["vector_store.file_content.page"] = "vector_store.file_content.page"
    data: list[SearchContent]
    has_more: bool = False
    next_page: str | None = None


class CreateFileBatchRequest(ApiModel):
    """POST /v1/vector_stores/{id}/file_batches."""

    file_ids: list[str] = Field(min_length=1)
    attributes: Attributes | None = None
    chunking_strategy: ChunkingStrategy | None = None


class VectorStoreFileBatchObject(ApiModel):
    id: str
    object: Literal["vector_store.file_batch"] = "vector_store.file_batch"
    created_at: int
    vector_store_id: str
    status: FileStatus
    file_counts: FileCounts
