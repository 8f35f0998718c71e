"""Owners' attributes for `user in owners <attribute>` rules: resources record their owner's
name; the attributes each principal was last seen with live here, kept in the kv store."""

from __future__ import annotations

import json

from llama_workbench.core.access import Principal
from llama_workbench.storage.kv import KVStore

_PREFIX = "auth_principal:"


class OwnerDirectory:
    """Principal name -> attributes; read once at start, written when a principal's change."""

    def __init__(self, kv: KVStore) -> None:
        self._kv = kv
        self._known: dict[str, Principal] = {}

    async def load(self) -> None:
        for key, value in await self._kv.items_with_prefix(_PREFIX):
            name = key[len(_PREFIX) :]
            attributes = {k: tuple(v) for k, v in json.loads(value).items()}
            self._known[name] = Principal(name, attributes=attributes)

    async def remember(self, principal: Principal) -> None:
        """Record `principal`'s attributes (a kv write only when they changed)."""
        known = self._known.get(principal.name)
        if known is not None and known.attributes == principal.attributes:
            return
        self._known[principal.name] = principal
        value = json.dumps({k: list(v) for k, v in principal.attributes.items()}, sort_keys=True)
        await self._kv.set(_PREFIX + principal.name, value)

    def lookup(self, name: str) -> Principal:
        """The owner `name` with its attributes (none when it was never seen)."""
        return self._known.get(name) or Principal(name)
