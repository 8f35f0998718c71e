"""The vector stores themselves: their records, who may see them, the provider holding each, and
the embedding and chunking settings their files are indexed with (shared by the router and the
file-ingestion service)."""

from __future__ import annotations

import builtins
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError

from llama_workbench.apis.inference.models import EmbeddingsRequest
from llama_workbench.apis.vector_io.models import (
    ChunkingStrategy,
    ChunkingStrategyAuto,
    VectorStoreRecord,
)
from llama_workbench.core.access import VECTOR_STORE, can_access, check_access
from llama_workbench.core.errors import BadRequestError, NotFoundError, UnprocessableError
from llama_workbench.core.resource_table import ResourceTable
from llama_workbench.core.vector_stores.ingest import TextLimits
from llama_workbench.core.vector_stores.records import StoreRecords

if TYPE_CHECKING:
    from llama_workbench.apis.vector_io.api import VectorIOProvider
    from llama_workbench.core.inference_router import InferenceRouter, ModelsRoutingTable
    from llama_workbench.core.policy import Action
    from llama_workbench.core.vector_stores_config import VectorStoresConfig
    from llama_workbench.storage.kv import KVStore

logger = logging.getLogger(__name__)

_STRATEGY: TypeAdapter[Any] = TypeAdapter(ChunkingStrategy)
DAY_S = 86_400


class StoreCatalog:
    """Stores live in the kv registry (`table`), their files and batches in `records`, their
    chunks in the provider that holds each store."""

    def __init__(
        self,
        providers: Mapping[str, VectorIOProvider],
        kv: KVStore,
        inference: InferenceRouter,
        models: ModelsRoutingTable,
        config: VectorStoresConfig,
    ) -> None:
        self.providers = dict(providers)
        self.table: ResourceTable[VectorStoreRecord] = ResourceTable(
            "vector_store", VectorStoreRecord, kv
        )
        self.records = StoreRecords(kv)
        self.inference = inference
        self.models = models
        self.config = config
        self._limits: dict[str, TextLimits] = {}

    async def load(self) -> None:
        """Read the registry and open each store's index in its provider."""
        await self.table.load()
        for record in self.table.all():
            provider = self.providers.get(record.provider_id)
            if provider is None:
                logger.warning(
                    "vector store %s is held by provider %s, which this config lacks",
                    record.identifier,
                    record.provider_id,
                )
                continue
            await provider.create_index(record)

    def store(self, vector_store_id: str, action: Action = "read") -> VectorStoreRecord:
        """The store: a 404 when the caller may not read it, a 403 when not `action` it."""
        record = self.table.get(vector_store_id)
        if record is None or not visible(record) or expired(record):
            shown = [r.identifier for r in self.table.all() if visible(r)]
            raise NotFoundError("Vector store", vector_store_id, shown)
        check_access(record.owner, VECTOR_STORE, record.identifier, action)
        return record

    def exists(self, vector_store_id: str) -> bool:
        """Whether the store is still registered (not deleted meanwhile), whoever asks."""
        return self.table.get(vector_store_id) is not None

    def provider(self, record: VectorStoreRecord) -> VectorIOProvider:
        provider = self.providers.get(record.provider_id)
        if provider is None:
            raise BadRequestError(
                f"Vector store '{record.identifier}' lives in provider '{record.provider_id}', "
                f"which this stack does not configure (have: {', '.join(self.providers)})."
            )
        return provider

    async def embed(
        self, model_id: str, texts: builtins.list[str]
    ) -> builtins.list[builtins.list[float]]:
        if not texts:
            return []
        response = await self.inference.embeddings(EmbeddingsRequest(model=model_id, input=texts))
        return [d.embedding for d in sorted(response.data, key=lambda d: d.index)]  # type: ignore[misc]

    async def text_limits(self, model_id: str) -> TextLimits:
        """How the store's embedding model counts tokens, and how many it takes."""
        if model_id not in self._limits:
            from llama_workbench.providers.utils.chunking import hf_token_spans, word_token_spans

            tokenizer, limit = await self.inference.tokenizer_info(model_id)
            if tokenizer is None:
                self._limits[model_id] = TextLimits(word_token_spans, "words", None)
            else:
                # Named by the model it belongs to (its name_or_path is a local folder).
                self._limits[model_id] = TextLimits(hf_token_spans(tokenizer), model_id, limit)
        return self._limits[model_id]

    def strategy(self, value: Any) -> Any:
        """A request's chunking_strategy (auto when none), or a 422 naming what is wrong."""
        if value is None:
            return ChunkingStrategyAuto()
        try:
            return _STRATEGY.validate_python(value)
        except ValidationError as exc:
            raise UnprocessableError(
                f"Invalid chunking_strategy: {exc.errors()[0]['msg']}"
            ) from None

    async def touch(self, record: VectorStoreRecord) -> None:
        """A use of the store: last_active_at, and expires_at when it expires after inactivity."""
        store = record.object
        now = int(time.time())
        if store.last_active_at == now:
            return  # to the second, as the field is
        update: dict[str, Any] = {"last_active_at": now}
        if store.expires_after:
            update["expires_at"] = now + store.expires_after.days * DAY_S
        await self.table.put(
            record.model_copy(update={"object": store.model_copy(update=update)}), persist=True
        )


def visible(record: VectorStoreRecord) -> bool:
    return can_access(record.owner, VECTOR_STORE, record.identifier)


def expired(record: VectorStoreRecord) -> bool:
    expires_at = record.object.expires_at
    return expires_at is not None and expires_at <= time.time()
