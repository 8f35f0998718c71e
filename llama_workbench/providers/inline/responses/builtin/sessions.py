"""Agent sessions (the notebook Agent layer's records) in the provider's agent_state kv namespace."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from llama_workbench.core.errors import NotFoundError
from llama_workbench.storage.config import KVStoreRef

if TYPE_CHECKING:
    from llama_workbench.storage.kv import KVStore
    from llama_workbench.storage.manager import StorageManager


class AgentSessions:
    """Session records keyed by agent name: what survives a kernel restart besides the conversation."""

    def __init__(self, storage: StorageManager, ref: KVStoreRef) -> None:
        self._storage = storage
        self._ref = ref
        self._kv: KVStore | None = None
        self._opening = asyncio.Lock()

    async def _store(self) -> KVStore:
        async with self._opening:
            if self._kv is None:
                self._kv = await self._storage.kv(self._ref)
        return self._kv

    @staticmethod
    def _key(agent: str, session_id: str) -> str:
        return f"session/{agent}/{session_id}"

    async def save(self, agent: str, session_id: str, record: dict[str, Any]) -> None:
        await (await self._store()).set(self._key(agent, session_id), json.dumps(record))

    async def get(self, agent: str, session_id: str) -> dict[str, Any]:
        raw = await (await self._store()).get(self._key(agent, session_id))
        if raw is None:
            known = [r["session_id"] for r in await self.list(agent)]
            raise NotFoundError(f"Session of agent '{agent}'", session_id, known)
        value: dict[str, Any] = json.loads(raw)
        return value

    async def list(self, agent: str) -> list[dict[str, Any]]:
        """The agent's sessions, oldest first."""
        rows = await (await self._store()).items_with_prefix(f"session/{agent}/")
        records = [json.loads(value) for _, value in rows]
        return sorted(records, key=lambda r: (r.get("created_at", 0), r["session_id"]))

    async def delete(self, agent: str, session_id: str) -> None:
        await self.get(agent, session_id)
        await (await self._store()).delete(self._key(agent, session_id))
