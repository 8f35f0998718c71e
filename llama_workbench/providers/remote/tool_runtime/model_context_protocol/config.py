"""Config of remote::model-context-protocol: the MCP servers whose tools the stack serves."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from llama_workbench.providers.utils.mcp import McpEndpoint
from llama_workbench.storage.config import KVStoreRef

GROUP_PREFIX = "mcp::"


def check_toolgroup_id(value: str) -> str:
    """`value` if it is an MCP tool group id (`mcp::<name>`), else a ValueError."""
    if not value.startswith(GROUP_PREFIX) or len(value) == len(GROUP_PREFIX):
        raise ValueError(f"toolgroup_id must look like 'mcp::<name>', got '{value}'")
    return value


class McpServerConfig(McpEndpoint):
    """One MCP server: its tool group id and where it is (url + headers, or command + args)."""

    toolgroup_id: str = Field(description="The tool group's id, e.g. mcp::weather.")

    _check_id = field_validator("toolgroup_id")(check_toolgroup_id)

    def endpoint(self) -> McpEndpoint:
        return McpEndpoint.model_validate(self.model_dump(exclude={"toolgroup_id"}))


class ModelContextProtocolConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    servers: list[McpServerConfig] = Field(
        default_factory=list, description="MCP servers, one tool group each."
    )
    persistence: KVStoreRef | None = Field(
        default_factory=lambda: KVStoreRef(backend="kv_default", namespace="tool_runtime_mcp"),
        description="Where tool groups registered at run time are kept (null: in memory only).",
    )

    @model_validator(mode="after")
    def _unique_ids(self) -> ModelContextProtocolConfig:
        ids = [s.toolgroup_id for s in self.servers]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"toolgroup_id repeated in servers: {', '.join(repeated)}")
        return self
