"""`stack.aio.shields`: the Shields API as coroutines.

Generated from llama_workbench/apis/shields/api.py by `python -m llama_workbench.facade._codegen`;
edit the Protocol (or its request models) and run it again, never this file."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from llama_workbench.apis.shields.models import RegisterShieldRequest
from llama_workbench.facade._runtime import AsyncFace, fields_of

if TYPE_CHECKING:
    import builtins
    from typing import Any

    from llama_workbench.apis.shields.models import Shield


class AsyncShieldsApi(AsyncFace):
    """The registry of shields: from the run config, from providers, and registered by users."""

    __slots__ = ()

    async def list(self) -> builtins.list[Shield]:
        """Every shield the stack can run."""
        return cast("builtins.list[Shield]", await self._call("list", locals()))

    async def retrieve(self, identifier: str) -> Shield:
        """One shield; NotFoundError lists the others."""
        return cast("Shield", await self._call("retrieve", locals()))

    @fields_of(RegisterShieldRequest)
    async def register(
        self,
        *,
        shield_id: str,
        provider_shield_id: str | None = None,
        provider_id: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> Shield:
        """Register a shield; it persists across restarts.

        Keyword arguments: the fields of `RegisterShieldRequest`: Register `shield_id`, run by
        `provider_id` as `provider_shield_id` with `params`.
        """
        return cast("Shield", await self._send(RegisterShieldRequest, "register", locals()))

    async def unregister(self, identifier: str) -> None:
        """Remove a registered shield."""
        await self._call("unregister", locals())
