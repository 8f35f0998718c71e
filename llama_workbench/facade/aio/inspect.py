"""`stack.aio.inspect`: the Inspect API as coroutines.

Generated from llama_workbench/apis/inspect/api.py by `python -m llama_workbench.facade._codegen`;
edit the Protocol (or its request models) and run it again, never this file."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from llama_workbench.facade._runtime import AsyncFace

if TYPE_CHECKING:
    from llama_workbench.apis.inspect.models import HealthInfo, VersionInfo


class AsyncInspectApi(AsyncFace):
    """Health and version of the stack."""

    __slots__ = ()

    async def health(self) -> HealthInfo:
        """OK when the stack is up."""
        return cast("HealthInfo", await self._call("health", locals()))

    async def version(self) -> VersionInfo:
        """The llama_workbench version."""
        return cast("VersionInfo", await self._call("version", locals()))
