"""The API table: each API a run config may enable, its Protocols, what it needs, its builder.

Strings ("module:Name") are imported when a stack is built with that API, so reading the table
(the CLI, the resolver's planning) imports no router and no Protocol.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

from llama_workbench.core.build_context import ApiDefinition, BuildContext
from llama_workbench.core.datatypes import Api
from llama_workbench.core.errors import ConfigError

API_DEFINITIONS: dict[Api, ApiDefinition] = {
    Api.inference: ApiDefinition(
        Api.inference,
        protocol="llama_workbench.apis.inference.api:Inference",
        provider_protocol="llama_workbench.apis.inference.api:InferenceProvider",
        build="llama_workbench.core.inference_router:build_inference",
        uses=(Api.files,),  # `file` content parts in chat
        table_api=Api.models,
        table_protocol="llama_workbench.apis.models.api:Models",
    ),
    Api.files: ApiDefinition(
        Api.files,
        protocol="llama_workbench.apis.files.api:Files",
        provider_protocol="llama_workbench.apis.files.api:FilesProvider",
        build="llama_workbench.core.api_table:build_single",
    ),
    Api.vector_io: ApiDefinition(
        Api.vector_io,
        protocol="llama_workbench.apis.vector_io.api:VectorIO",
        provider_protocol="llama_workbench.apis.vector_io.api:VectorIOProvider",
        build="llama_workbench.core.vector_stores:build_vector_io",
        requires=(Api.inference,),
        uses=(Api.files,),
    ),
    Api.safety: ApiDefinition(
        Api.safety,
        protocol="llama_workbench.apis.safety.api:Safety",
        provider_protocol="llama_workbench.apis.safety.api:SafetyProvider",
        build="llama_workbench.core.safety:build_safety",
        table_api=Api.shields,
        table_protocol="llama_workbench.apis.shields.api:Shields",
    ),
    Api.responses: ApiDefinition(
        Api.responses,
        protocol="llama_workbench.apis.responses.api:Responses",
        provider_protocol="llama_workbench.apis.responses.api:ResponsesProvider",
        build="llama_workbench.core.api_table:build_responses",
        table_api=Api.conversations,
        table_protocol="llama_workbench.apis.conversations.api:Conversations",
        requires=(Api.inference,),
        uses=(Api.vector_io, Api.tool_runtime, Api.safety),
    ),
    Api.tool_runtime: ApiDefinition(
        Api.tool_runtime,
        protocol="llama_workbench.apis.tool_runtime.api:ToolRuntime",
        provider_protocol="llama_workbench.apis.tool_runtime.api:ToolRuntimeProvider",
        build="llama_workbench.core.tool_runtime:build_tool_runtime",
    ),
    Api.datasetio: ApiDefinition(
        Api.datasetio,
        protocol="llama_workbench.apis.datasetio.api:DatasetIO",
        provider_protocol="llama_workbench.apis.datasetio.api:DatasetIOProvider",
        build="llama_workbench.core.datasets:build_datasetio",
        table_api=Api.datasets,
        table_protocol="llama_workbench.apis.datasets.api:Datasets",
    ),
    Api.scoring: ApiDefinition(
        Api.scoring,
        protocol="llama_workbench.apis.scoring.api:Scoring",
        provider_protocol="llama_workbench.apis.scoring.api:ScoringProvider",
        build="llama_workbench.core.scoring:build_scoring",
        table_api=Api.scoring_functions,
        table_protocol="llama_workbench.apis.scoring_functions.api:ScoringFunctions",
        uses=(Api.datasetio,),
    ),
    Api.eval: ApiDefinition(
        Api.eval,
        protocol="llama_workbench.apis.eval.api:Eval",
        provider_protocol="llama_workbench.apis.eval.api:EvalProvider",
        build="llama_workbench.core.eval:build_eval",
        table_api=Api.benchmarks,
        table_protocol="llama_workbench.apis.benchmarks.api:Benchmarks",
        requires=(Api.datasetio, Api.scoring, Api.inference),
        uses=(Api.responses,),
    ),
    Api.post_training: ApiDefinition(
        Api.post_training,
        protocol="llama_workbench.apis.post_training.api:PostTraining",
        provider_protocol="llama_workbench.apis.post_training.api:PostTrainingProvider",
        build="llama_workbench.core.post_training:build_post_training",
        requires=(Api.datasetio, Api.inference),
    ),
    Api.batches: ApiDefinition(
        Api.batches,
        protocol="llama_workbench.apis.batches.api:Batches",
        provider_protocol="llama_workbench.apis.batches.api:BatchesProvider",
        build="llama_workbench.core.api_table:build_single",
        requires=(Api.inference, Api.files),
        uses=(Api.responses,),
    ),
    Api.file_processors: ApiDefinition(
        Api.file_processors,
        protocol="llama_workbench.apis.file_processors.api:FileProcessors",
        provider_protocol="llama_workbench.apis.file_processors.api:FileProcessorsProvider",
        build="llama_workbench.core.api_table:build_single",
        uses=(Api.files,),
    ),
}
# Built into every stack, with no providers of their own.
BUILTIN_PROTOCOLS = {
    Api.providers: "llama_workbench.apis.providers.api:Providers",
    Api.inspect: "llama_workbench.apis.inspect.api:Inspect",
    Api.telemetry: "llama_workbench.apis.telemetry.api:Telemetry",  # with `telemetry.enabled`
    Api.prompts: "llama_workbench.apis.prompts.api:Prompts",  # a core service, in every stack
    Api.connectors: "llama_workbench.apis.connectors.api:Connectors",
    Api.admin: "llama_workbench.apis.admin.api:Admin",  # admin-only routes when auth is on
}
# APIs whose implementation is the routing table of a routed API (enabled with it).
TABLE_APIS = {d.table_api: d.api for d in API_DEFINITIONS.values() if d.table_api}


@functools.cache
def public_protocol(api: Api) -> type:
    """The Protocol callers of `api` use (the sync and async faces are generated from it)."""
    if api in BUILTIN_PROTOCOLS:
        path = BUILTIN_PROTOCOLS[api]
    elif api in TABLE_APIS:
        table_protocol = API_DEFINITIONS[TABLE_APIS[api]].table_protocol
        assert table_protocol is not None
        path = table_protocol
    else:
        path = API_DEFINITIONS[api].protocol
    protocol: type = import_attr(path)
    return protocol


def import_attr(path: str) -> Any:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


def load_builder(definition: ApiDefinition) -> Any:
    """The async builder function of an API (its router next to it, in core/)."""
    return import_attr(definition.build)


async def build_single(ctx: BuildContext) -> dict[Api, Any]:
    """APIs served by their one provider as it is (files, batches, file_processors)."""
    if len(ctx.providers) > 1:
        raise ConfigError(
            f"providers.{ctx.api}: one {ctx.api} provider per stack (have {', '.join(ctx.providers)})."
        )
    return {ctx.api: next(iter(ctx.providers.values()))}


async def build_responses(ctx: BuildContext) -> dict[Api, Any]:
    if len(ctx.providers) > 1:
        raise ConfigError(
            f"providers.responses: one responses provider per stack (have {', '.join(ctx.providers)})."
        )
    provider = next(iter(ctx.providers.values()))
    # The provider keeps conversations: responses read and extend them.
    return {Api.responses: provider, Api.conversations: provider.conversations}
