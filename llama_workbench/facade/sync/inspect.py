"""`stack.inspect`: the Inspect API as calls that return results.

Generated from llama_workbench/apis/inspect/api.py by `python -m llama_workbench.facade._codegen`;
edit the Protocol (or its request models) and run it again, never this file."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from llama_workbench.facade._runtime import SyncFace

if TYPE_CHECKING:
    from llama_workbench.apis.inspect.models import HealthInfo, VersionInfo


class InspectApi(SyncFace):
    """Health and version of the stack."""

    __slots__ = ()

    def health(self) -> HealthInfo:
        """OK when the stack is up."""
        return cast("HealthInfo", self._call("health", locals()))

    def version(self) -> VersionInfo:
        """The llama_workbench version."""
        return cast("VersionInfo", self._call("version", locals()))
