"""The Shields registry (a routing table) and the Safety API routed over it to safety providers."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from llama_workbench.apis.safety.api import SafetyProvider
from llama_workbench.apis.safety.models import (
    ModerationObject,
    ModerationResult,
    RunModerationRequest,
    RunShieldBatchRequest,
    RunShieldRequest,
    RunShieldResponse,
)
from llama_workbench.apis.shields.models import RegisterShieldRequest, Shield
from llama_workbench.core.access import (
    SHIELD,
    can_access,
    check_access,
    check_create,
    owner_for_new_resource,
)
from llama_workbench.core.config import ShieldInput
from llama_workbench.core.datatypes import Api
from llama_workbench.core.errors import BadRequestError, ConflictError, NotFoundError
from llama_workbench.core.resource_table import ResourceTable
from llama_workbench.storage.kv import KVStore

BATCH_CONCURRENCY = 64  # shields that batch (toxicity) merge what arrives together

if TYPE_CHECKING:
    from llama_workbench.core.build_context import BuildContext


class ShieldsRoutingTable:
    """The Shields API: shields declared in the run config plus those users register."""

    def __init__(
        self, providers: Mapping[str, SafetyProvider], kv: KVStore, declared: list[ShieldInput]
    ) -> None:
        self._providers = dict(providers)
        self._table: ResourceTable[Shield] = ResourceTable("shield", Shield, kv)
        self._declared = declared

    async def initialize(self) -> None:
        await self._table.load()
        for item in self._declared:
            shield = self._shield_from(
                item.shield_id, item.provider_id, item.provider_shield_id, item.params, "config"
            )
            await self._table.put(
                await self._provider(shield).register_shield(shield), persist=False
            )

    async def list(self) -> builtins.list[Shield]:
        return sorted(
            (s for s in self._table.all() if can_access(s.owner, SHIELD, s.identifier)),
            key=lambda s: s.identifier,
        )

    async def retrieve(self, identifier: str) -> Shield:
        shield = self._table.get(identifier)
        if shield is None or not can_access(shield.owner, SHIELD, identifier):
            raise NotFoundError("Shield", identifier, [s.identifier for s in await self.list()])
        return shield

    async def register(self, request: RegisterShieldRequest) -> Shield:
        shield = self._shield_from(
            request.shield_id,
            request.provider_id,
            request.provider_shield_id,
            request.params,
            "user",
        )
        existing = self._table.get(shield.identifier)
        if existing is not None and (
            existing.source != "user" or not can_access(existing.owner, SHIELD, existing.identifier)
        ):
            raise ConflictError(f"Shield id '{shield.identifier}' is taken; choose another id.")
        if existing is not None:
            check_access(existing.owner, SHIELD, existing.identifier, "update")
        else:
            check_create(SHIELD, shield.identifier)
        shield = await self._provider(shield).register_shield(shield)
        await self._table.put(shield, persist=True)
        return shield

    async def unregister(self, identifier: str) -> None:
        shield = await self.retrieve(identifier)
        if shield.source != "user":
            raise BadRequestError(
                f"Shield '{identifier}' comes from the run config; remove it there instead."
            )
        check_access(shield.owner, SHIELD, identifier, "delete")
        await self._table.remove(identifier)

    def provider_for(self, shield: Shield) -> SafetyProvider:
        return self._provider(shield)

    def _provider(self, shield: Shield) -> SafetyProvider:
        provider = self._providers.get(shield.provider_id)
        if provider is None:
            raise NotFoundError("Safety provider", shield.provider_id, self._providers)
        return provider

    def _shield_from(
        self,
        shield_id: str,
        provider_id: str | None,
        provider_shield_id: str | None,
        params: dict[str, Any] | None,
        source: str,
    ) -> Shield:
        if provider_id is None:
            if len(self._providers) != 1:
                raise BadRequestError(
                    f"Shield '{shield_id}' needs a provider_id: this stack has "
                    f"{len(self._providers)} safety providers ({', '.join(sorted(self._providers))})."
                )
            provider_id = next(iter(self._providers))
        if provider_id not in self._providers:
            raise NotFoundError("Safety provider", provider_id, self._providers)
        return Shield(
            identifier=shield_id,
            provider_id=provider_id,
            provider_resource_id=provider_shield_id or shield_id,
            params=params,
            source=source,
            owner=owner_for_new_resource() if source == "user" else None,
        )


class SafetyRouter:
    """The Safety API: finds the shield, runs it on its provider."""

    def __init__(self, table: ShieldsRoutingTable, default_shield_id: str | None = None) -> None:
        self._table = table
        self._default = default_shield_id  # the run config's safety.default_shield_id

    async def run_shield(self, request: RunShieldRequest) -> RunShieldResponse:
        shield = await self._table.retrieve(request.shield_id)
        params = {**(shield.params or {}), **(request.params or {})}
        return await self._table.provider_for(shield).run_shield(shield, request.messages, params)

    async def run_shield_batch(
        self, request: RunShieldBatchRequest
    ) -> builtins.list[RunShieldResponse]:
        shield = await self._table.retrieve(request.shield_id)
        provider = self._table.provider_for(shield)
        params = {**(shield.params or {}), **(request.params or {})}
        batch = getattr(provider, "run_shield_batch", None)
        if batch is not None:  # a provider that checks many conversations in one go
            results: builtins.list[RunShieldResponse] = await batch(
                shield, request.conversations, params
            )
            return results
        gate = asyncio.Semaphore(BATCH_CONCURRENCY)

        async def one(messages: Any) -> RunShieldResponse:
            async with gate:
                return await provider.run_shield(shield, messages, params)

        return list(await asyncio.gather(*(one(c) for c in request.conversations)))

    async def run_moderation(self, request: RunModerationRequest) -> ModerationObject:
        texts = [request.input] if isinstance(request.input, str) else list(request.input)
        if not texts:
            raise BadRequestError("input must be a string or a non-empty list of strings.")
        # No model: the configured default shield (Llama Stack's safety.default_shield_id), else all.
        model = request.model or self._default
        shields = [await self._shield_for_model(model)] if model else await self._table.list()
        if not shields:
            raise BadRequestError("This stack has no shields to moderate with; register one.")
        per_shield = await asyncio.gather(
            *(self._table.provider_for(s).run_moderation(s, texts) for s in shields)
        )
        results = [_merge([r[i] for r in per_shield], shields) for i in range(len(texts))]
        model = request.model or ",".join(s.identifier for s in shields)
        return ModerationObject(model=model, results=results)

    async def _shield_for_model(self, model: str) -> Shield:
        shields = await self._table.list()
        for shield in shields:
            if model in (shield.identifier, shield.provider_resource_id):
                return shield
        raise NotFoundError(
            "Shield",
            model,
            [s.identifier for s in shields],
            hint="(moderations name a shield as the model)",
        )


def _merge(
    results: builtins.list[ModerationResult], shields: builtins.list[Shield]
) -> ModerationResult:
    """One input's verdicts from several shields: flagged if any flags, the highest scores."""
    if len(results) == 1:
        return results[0]
    merged = ModerationResult(flagged=any(r.flagged for r in results))
    for result, shield in zip(results, shields, strict=True):
        for name, hit in result.categories.items():
            merged.categories[name] = merged.categories.get(name, False) or hit
        # A safe shield's 1.0s say "safe" (see inline/safety/common.moderation): beside a flag they are 0.0.
        for name, score in result.category_scores.items():
            score = score if result.flagged or not merged.flagged else 0.0
            merged.category_scores[name] = max(score, merged.category_scores.get(name, 0.0))
        for name, kinds in result.category_applied_input_types.items():
            merged.category_applied_input_types[name] = sorted(
                set(merged.category_applied_input_types.get(name, [])) | set(kinds)
            )
        if result.flagged and merged.user_message is None:
            merged.user_message = result.user_message
        merged.metadata[shield.identifier] = result.metadata
    return merged


async def build_safety(ctx: BuildContext) -> dict[Api, Any]:
    """The safety router over its providers, and the shields routing table."""
    kv = await ctx.storage.kv("metadata")
    table = ShieldsRoutingTable(ctx.providers, kv, ctx.config.registered_resources.shields)
    await table.initialize()
    default = ctx.config.safety.default_shield_id if ctx.config.safety else None
    return {Api.safety: SafetyRouter(table, default), Api.shields: table}
