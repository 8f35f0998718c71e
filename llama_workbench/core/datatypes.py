"""Shared vocabulary of the runtime: the API names and the provider specification."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llama_workbench.core.run_tracking import RunTracker
    from llama_workbench.execution.engine import ExecutionEngine
    from llama_workbench.storage.manager import StorageManager


class Api(StrEnum):
    """Every API name a run config may use (Llama Stack's names)."""

    inference = "inference"
    models = "models"
    safety = "safety"
    shields = "shields"
    vector_io = "vector_io"
    files = "files"
    datasetio = "datasetio"
    datasets = "datasets"
    scoring = "scoring"
    scoring_functions = "scoring_functions"
    eval = "eval"
    benchmarks = "benchmarks"
    post_training = "post_training"
    tool_runtime = "tool_runtime"
    tool_groups = "tool_groups"
    responses = "responses"
    conversations = "conversations"
    telemetry = "telemetry"
    batches = "batches"
    prompts = "prompts"
    file_processors = "file_processors"
    inspect = "inspect"
    providers = "providers"
    connectors = "connectors"
    admin = "admin"


@dataclass(frozen=True)
class ProviderSpec:
    """What the runtime needs to know about a provider before importing any of its code.

    `module` holds `create(config, deps)`; `config_class` is "module:Class". Both are imported
    only when the provider is used, so listing providers stays cheap.
    """

    api: Api
    provider_type: str
    module: str
    config_class: str
    description: str = ""
    api_dependencies: tuple[Api, ...] = ()
    optional_api_dependencies: tuple[Api, ...] = ()
    pip_packages: tuple[str, ...] = ()
    pip_extra: str | None = None
    deprecation: str | None = None
    source: str = field(default="builtin", compare=False)

    @property
    def is_remote(self) -> bool:
        return self.provider_type.startswith("remote::")


@dataclass(frozen=True)
class ProviderDeps:
    """Everything a provider factory receives besides its config: `create(config, deps)`."""

    provider_id: str
    apis: Mapping[Api, Any]
    storage: StorageManager
    data_dir: Path
    # The stack's execution engine (in-process or Ray); None where a provider is built alone.
    execution: ExecutionEngine | None = None
    # Where jobs log their runs (MLflow, from the stack); None where a provider is built alone.
    tracker: RunTracker | None = None
