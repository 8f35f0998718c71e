"""ResourceTable: the registered resources of one kind (models, shields, vector stores, ...)."""

from __future__ import annotations

import builtins
from typing import Generic, TypeVar

from pydantic import BaseModel

from llama_workbench.storage.kv import KVStore

R = TypeVar("R", bound=BaseModel)


class ResourceTable(Generic[R]):
    """Resources of one kind by identifier; those marked `persist` live in the kv store.

    The same class serves models now and shields, vector stores, datasets, scoring functions,
    benchmarks and tool groups as their APIs arrive: each is a pydantic model with `identifier`.
    """

    def __init__(self, kind: str, resource_cls: type[R], kv: KVStore) -> None:
        self.kind = kind
        self._cls = resource_cls
        self._kv = kv
        self._items: dict[str, R] = {}

    async def load(self) -> None:
        """Read the persisted resources (registered by users in earlier runs)."""
        for _key, value in await self._kv.items_with_prefix(f"{self.kind}:"):
            item = self._cls.model_validate_json(value)
            self._items[_identifier(item)] = item

    def get(self, identifier: str) -> R | None:
        return self._items.get(identifier)

    def all(self) -> builtins.list[R]:
        return list(self._items.values())

    async def put(self, item: R, *, persist: bool) -> None:
        identifier = _identifier(item)
        if persist:
            await self._kv.set(f"{self.kind}:{identifier}", item.model_dump_json())
        self._items[identifier] = item

    async def remove(self, identifier: str) -> None:
        await self._kv.delete(f"{self.kind}:{identifier}")
        self._items.pop(identifier, None)


def _identifier(item: BaseModel) -> str:
    return str(item.identifier)  # type: ignore[attr-defined]
