"""`server.quota`: requests per client per period, counted in a kv store (a restart keeps the
counts), a 429 with Retry-After beyond the limit."""

from __future__ import annotations

import asyncio
import math
import time
from datetime import UTC, datetime

from llama_workbench.core.errors import RateLimitError
from llama_workbench.core.server_config import QuotaConfig
from llama_workbench.storage.kv import KVStore

PERIOD_S = {"day": 86_400, "hour": 3_600, "minute": 60, "second": 1}


class Quota:
    """Counts per (client, window); authenticated clients by principal, others by address."""

    def __init__(self, config: QuotaConfig, kv: KVStore, *, auth_enabled: bool) -> None:
        self.config = config
        self.kv = kv
        self.window_s = PERIOD_S[config.period]
        # Without authentication everyone is anonymous, as in Llama Stack.
        self.authenticated_limit = (
            config.authenticated_max_requests if auth_enabled else config.anonymous_max_requests
        )
        # This window's counts, read from the kv store once per client and written through.
        self._counts: dict[str, int] = {}
        self._window = -1
        self._lock = asyncio.Lock()

    async def take(self, principal: str | None, address: str | None) -> None:
        """Count one request; a RateLimitError (429) once the client is over its limit."""
        now = time.time()
        window = int(now // self.window_s)
        if principal is not None:
            who, limit = f"user:{principal}", self.authenticated_limit
        else:
            who, limit = f"anon:{address or 'unknown'}", self.config.anonymous_max_requests
        key = f"quota:{who}:{window}"
        async with self._lock:
            if window != self._window:
                self._counts.clear()
                self._window = window
            count = self._counts.get(key)
            if count is None:
                stored = await self.kv.get(key)
                count = int(stored) if stored else 0
            count += 1
            self._counts[key] = count
            ends = (window + 1) * self.window_s
            if count <= limit + 1:  # past that the stored count already says "over"
                expires = datetime.fromtimestamp(ends, UTC)
                await self.kv.set(key, str(count), expiration=expires)
        if count > limit:
            retry_after = max(1, math.ceil(ends - now))
            raise RateLimitError(
                f"Quota exceeded: {limit} requests per {self.config.period}; "
                f"retry in {retry_after} s.",
                retry_after=retry_after,
            )
