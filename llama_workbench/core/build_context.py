"""What assembling an API needs: its row of the API table, and the context its builder gets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llama_workbench.core.datatypes import Api

if TYPE_CHECKING:
    from llama_workbench.core.config import StackConfig
    from llama_workbench.storage.manager import StorageManager


@dataclass(frozen=True)
class ApiDefinition:
    """How an API is assembled: its Protocols and its builder ("module:Name", imported on use)."""

    api: Api
    protocol: str  # what callers use: `stack.<api>`, the routes
    provider_protocol: str  # what its providers implement
    build: str  # "module:function", an async (BuildContext) -> {api: implementation}
    table_api: Api | None = None  # the API built with it (models for inference, conversations)
    table_protocol: str | None = None
    requires: tuple[Api, ...] = ()  # APIs its router calls (built first; must be enabled)
    uses: tuple[Api, ...] = ()  # APIs its router calls when they are enabled


@dataclass
class BuildContext:
    """What an API's builder gets: its constructed providers and the stack's shared parts."""

    api: Api
    config: StackConfig
    providers: dict[str, Any]
    storage: StorageManager
    apis: dict[Api, Any] = field(default_factory=dict)  # the APIs built before this one


# An API's builder: its router (and routing table) over the providers built for it.
Builder = Callable[[BuildContext], Awaitable[dict[Api, Any]]]
