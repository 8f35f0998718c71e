"""The Inference API's router and the Models API's routing table (registered and listed models)."""

from __future__ import annotations

import asyncio
import builtins
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel

from llama_workbench.apis.inference.api import InferenceProvider, RerankProvider
from llama_workbench.apis.inference.models import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    EmbeddingsRequest,
    EmbeddingsResponse,
    StoredChatCompletion,
    StoredChatCompletionList,
)
from llama_workbench.apis.inference.rerank_models import RerankRequest, RerankResponse
from llama_workbench.apis.models.models import Model, ModelType, RegisterModelRequest
from llama_workbench.core.access import (
    MODEL,
    can_access,
    check_access,
    check_create,
    owner_for_new_resource,
)
from llama_workbench.core.completions_store import CompletionsStore, assembled
from llama_workbench.core.config import ModelInput
from llama_workbench.core.datatypes import Api
from llama_workbench.core.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    ProviderUnavailableError,
)
from llama_workbench.core.file_parts import inline_file_parts
from llama_workbench.core.resource_table import ResourceTable
from llama_workbench.storage.kv import KVStore

logger = logging.getLogger(__name__)

R = TypeVar("R", bound=BaseModel)
Req = TypeVar("Req", bound=BaseModel)

if TYPE_CHECKING:
    from llama_workbench.core.build_context import BuildContext


class ModelsRoutingTable:
    """The Models API: registered models plus those providers list, federated in one list."""

    listing_ttl_s = 60.0

    def __init__(
        self, providers: Mapping[str, InferenceProvider], kv: KVStore, declared: list[ModelInput]
    ) -> None:
        self._providers = dict(providers)
        self._table: ResourceTable[Model] = ResourceTable("model", Model, kv)
        self._declared = declared
        self._listed: dict[str, list[Model]] = {}
        self._listed_at: dict[str, float] = {}
        self._lock = asyncio.Lock()

    async def initialize(self) -> None:
        await self._table.load()
        for item in self._declared:
            model = self._model_from(
                item.model_id,
                item.provider_id,
                item.provider_model_id,
                item.model_type,
                item.metadata,
                item.fallback_model_id,
                source="config",
            )
            model = await self._providers[model.provider_id].register_model(model)
            await self._table.put(model, persist=False)
        await self._reregister_user_models()

    async def _reregister_user_models(self) -> None:
        """Models users registered in earlier runs go back to their providers (a fine-tuned
        model's folder must be known to inline::transformers again to be served)."""
        for model in self._table.all():
            provider = self._providers.get(model.provider_id)
            if model.source != "user" or provider is None:
                continue
            try:
                await self._table.put(await provider.register_model(model), persist=False)
            except Exception as exc:  # listed still; using it reports what is wrong
                logger.warning("model %s: %s", model.identifier, exc)

    # -- the Models protocol

    async def list(self) -> builtins.list[Model]:
        await self._refresh_listings()
        return sorted(self._all(), key=lambda m: (m.provider_id, m.identifier))

    async def retrieve(self, model_id: str) -> Model:
        return await self.resolve(model_id)

    async def register(self, request: RegisterModelRequest) -> Model:
        model = self._model_from(
            request.model_id,
            request.provider_id,
            request.provider_model_id,
            request.model_type,
            request.metadata,
            request.fallback_model_id,
            source="user",
        )
        existing = self._table.get(model.identifier)
        if existing is not None and not can_access(existing.owner, MODEL, existing.identifier):
            raise ConflictError(f"Model id '{model.identifier}' is taken; choose another id.")
        if existing is not None:
            check_access(existing.owner, MODEL, existing.identifier, "update")
        else:
            check_create(MODEL, model.identifier)
        if existing is not None and (
            existing.provider_id != model.provider_id
            or existing.provider_resource_id != model.provider_resource_id
        ):
            raise ConflictError(
                f"Model '{model.identifier}' is already registered with provider "
                f"'{existing.provider_id}' as '{existing.provider_resource_id}'; unregister it first."
            )
        model = await self._providers[model.provider_id].register_model(model)
        await self._table.put(model, persist=True)
        return model

    async def unregister(self, model_id: str) -> None:
        model = await self.resolve(model_id)
        if model.source != "user":
            raise BadRequestError(
                f"Model '{model.identifier}' comes from the {model.source} (provider "
                f"'{model.provider_id}'); remove it there instead of unregistering it."
            )
        check_access(model.owner, MODEL, model.identifier, "delete")
        await self._table.remove(model.identifier)

    # -- lookup used by the routers

    async def resolve(self, model_id: str) -> Model:
        """Find a model by identifier, `provider_id/model`, or an unambiguous provider model id."""
        found = self._match(model_id)
        if found is None:
            await self._refresh_listings(force=True)
            found = self._match(model_id)
        if found is None:
            known = [m.identifier for m in await self.list()]
            raise NotFoundError("Model", model_id, known)
        return found

    def provider_for(self, model: Model) -> InferenceProvider:
        return self._providers[model.provider_id]

    def _all(self) -> builtins.list[Model]:
        """Every model the caller may see (with auth on, others' registrations are invisible)."""
        models = {m.identifier: m for listed in self._listed.values() for m in listed}
        models.update({m.identifier: m for m in self._table.all()})
        return [m for m in models.values() if can_access(m.owner, MODEL, m.identifier)]

    def _match(self, model_id: str) -> Model | None:
        models = self._all()
        for model in models:
            if model.identifier == model_id:
                return model
        provider_id, _, rest = model_id.partition("/")
        if rest and provider_id in self._providers:
            for model in models:
                if model.provider_id == provider_id and model.provider_resource_id == rest:
                    return model
        same = [m for m in models if m.provider_resource_id == model_id]
        if len({(m.provider_id, m.provider_resource_id) for m in same}) == 1:
            # Aliases of one provider model are not ambiguous: prefer the provider's own entry.
            return min(same, key=lambda m: m.source != "provider")
        if len(same) > 1:
            raise BadRequestError(
                f"Model id '{model_id}' is ambiguous: it is served as "
                f"{', '.join(sorted(m.identifier for m in same))}. Use one of those ids."
            )
        return same[0] if same else None

    def _model_from(
        self,
        model_id: str,
        provider_id: str | None,
        provider_model_id: str | None,
        model_type: str | ModelType,
        metadata: dict[str, Any],
        fallback_model_id: str | None,
        *,
        source: str,
    ) -> Model:
        if provider_id is None:
            if len(self._providers) != 1:
                raise BadRequestError(
                    f"Model '{model_id}' needs a provider_id: this stack has "
                    f"{len(self._providers)} inference providers ({', '.join(sorted(self._providers))})."
                )
            provider_id = next(iter(self._providers))
        if provider_id not in self._providers:
            raise NotFoundError("Inference provider", provider_id, self._providers)
        return Model(
            identifier=model_id,
            provider_id=provider_id,
            provider_resource_id=provider_model_id or model_id,
            model_type=ModelType(model_type),
            metadata=metadata,
            fallback_model_id=fallback_model_id,
            source=source,
            owner=owner_for_new_resource() if source == "user" else None,
        )

    async def _refresh_listings(self, force: bool = False) -> None:
        now = time.monotonic()
        stale = [
            pid
            for pid in self._providers
            if force or now - self._listed_at.get(pid, -1e9) > self.listing_ttl_s
        ]
        if not stale:
            return
        async with self._lock:
            results = await asyncio.gather(
                *(self._list_one(pid) for pid in stale), return_exceptions=True
            )
        for pid, result in zip(stale, results, strict=True):
            self._listed_at[pid] = now
            if isinstance(result, BaseException):
                # An unreachable remote provider must not break the list: its registered models
                # still show, and the error surfaces when one of them is used.
                logger.debug("provider %s could not list its models: %s", pid, result)
                self._listed.setdefault(pid, [])
            else:
                self._listed[pid] = result

    async def _list_one(self, provider_id: str) -> builtins.list[Model]:
        listed = await self._providers[provider_id].list_provider_models()
        return [
            Model(
                identifier=f"{provider_id}/{pm.provider_model_id}",
                provider_id=provider_id,
                provider_resource_id=pm.provider_model_id,
                model_type=pm.model_type,
                metadata=pm.metadata,
                source="provider",
            )
            for pm in listed
        ]


class InferenceRouter:
    """The Inference API: looks the model up, calls the provider that owns it, with fallback."""

    def __init__(
        self,
        table: ModelsRoutingTable,
        store: CompletionsStore | None = None,
        files: Any | None = None,
    ) -> None:
        self._table = table
        self._store = store
        self._files = files  # reads `file` content parts

    async def chat_completion(
        self, request: ChatCompletionRequest
    ) -> ChatCompletion | AsyncIterator[ChatCompletionChunk]:
        # The model gets the files' text; the stored completion keeps the request as sent.
        routed = await inline_file_parts(request, self._files)
        result: ChatCompletion | AsyncIterator[ChatCompletionChunk] = await self._route(
            routed, ModelType.llm, lambda p, r: p.chat_completion(r)
        )
        if self._store is None or request.store is False:
            return result
        if isinstance(result, ChatCompletion):
            self._store.record(request, result)
            return result
        store = self._store
        return assembled(result, lambda completion: store.record(request, completion))

    async def list_chat_completions(
        self,
        after: str | None = None,
        limit: int = 20,
        model: str | None = None,
        order: Literal["asc", "desc"] = "desc",
    ) -> StoredChatCompletionList:
        return await self._stored().list(after, limit, model, order)

    async def get_chat_completion(self, completion_id: str) -> StoredChatCompletion:
        return await self._stored().get(completion_id)

    async def shutdown(self) -> None:
        if self._store is not None:
            await self._store.close()

    def _stored(self) -> CompletionsStore:
        if self._store is None:
            raise BadRequestError(
                "Stored chat completions are off in this stack: add `inference: {backend: sql_default, "
                "table_name: inference_store}` under storage.stores in the run config."
            )
        return self._store

    async def completion(
        self, request: CompletionRequest
    ) -> Completion | AsyncIterator[Completion]:
        result: Completion | AsyncIterator[Completion] = await self._route(
            request, ModelType.llm, lambda p, r: p.completion(r)
        )
        return result

    async def embeddings(self, request: EmbeddingsRequest) -> EmbeddingsResponse:
        result: EmbeddingsResponse = await self._route(
            request, ModelType.embedding, lambda p, r: p.embeddings(r)
        )
        return result

    async def rerank(self, request: RerankRequest) -> RerankResponse:
        result: RerankResponse = await self._route(request, ModelType.rerank, _rerank)
        return result

    async def tokenizer_info(self, model_id: str) -> tuple[Any, int | None]:
        """(tokenizer, input limit) of an embedding model whose provider exposes them, else (None, None)."""
        model = await self._table.resolve(model_id)
        info = getattr(self._table.provider_for(model), "tokenizer_info", None)
        if info is None:
            return None, None
        result: tuple[Any, int | None] = await info(model.provider_resource_id)
        return result

    async def _route(
        self,
        request: Any,
        kind: ModelType,
        call: Callable[[InferenceProvider, Any], Awaitable[Any]],
    ) -> Any:
        model = await self._table.resolve(request.model)
        tried: list[str] = []
        while True:
            _check_kind(model, kind)
            tried.append(model.identifier)
            provider = self._table.provider_for(model)
            try:
                result = await call(
                    provider, request.model_copy(update={"model": model.provider_resource_id})
                )
            except ProviderUnavailableError:
                fallback = model.fallback_model_id
                if not fallback or fallback in tried:
                    raise
                logger.info("model %s unreachable, falling back to %s", model.identifier, fallback)
                model = await self._table.resolve(fallback)
                continue
            return _relabel(result, request.model)


async def _rerank(provider: InferenceProvider, request: RerankRequest) -> RerankResponse:
    if not isinstance(provider, RerankProvider):
        raise BadRequestError(
            f"Model '{request.model}' is served by a provider that cannot rerank; "
            "register the rerank model with a provider that serves rerank models."
        )
    return await provider.rerank(request)


def _check_kind(model: Model, kind: ModelType) -> None:
    if model.model_type == kind:
        return
    what = {
        ModelType.llm: "a chat (LLM)",
        ModelType.embedding: "an embedding",
        ModelType.rerank: "a rerank",
    }
    use = {
        ModelType.llm: "chat or completions",
        ModelType.embedding: "embeddings",
        ModelType.rerank: "rerank (POST /v1alpha/inference/rerank)",
    }[model.model_type]
    raise BadRequestError(
        f"Model '{model.identifier}' is {what[model.model_type]} model; use it for {use}."
    )


def _relabel(result: Any, model_id: str) -> Any:
    """Report the model under the id the caller asked for, streaming or not."""
    if isinstance(result, BaseModel):
        if "model" in type(result).model_fields and getattr(result, "model", None) != model_id:
            result.model = model_id  # type: ignore[attr-defined]
        return result
    if hasattr(result, "__anext__"):
        return _relabel_stream(result, model_id)
    return result


async def _relabel_stream(stream: AsyncIterator[Any], model_id: str) -> AsyncIterator[Any]:
    try:
        async for chunk in stream:
            chunk.model = model_id
            yield chunk
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()


async def build_inference(ctx: BuildContext) -> dict[Api, Any]:
    """The inference router over its providers, and the models routing table."""
    from llama_workbench.storage.config import InferenceStoreRef, SqlStoreRef

    kv = await ctx.storage.kv("metadata")
    table = ModelsRoutingTable(ctx.providers, kv, ctx.config.registered_resources.models)
    await table.initialize()
    store = None
    ref = ctx.config.storage.stores.get("inference")
    if isinstance(ref, InferenceStoreRef):
        store = CompletionsStore(ctx.storage, ref, max_queue=ref.max_write_queue_size)
    elif isinstance(ref, SqlStoreRef):
        store = CompletionsStore(ctx.storage, ref)
    router = InferenceRouter(table, store, ctx.apis.get(Api.files))
    return {Api.inference: router, Api.models: table}
