"""Llama Stack 0.7.3's provider type names: which are ours under another name, which we lack."""

from __future__ import annotations

from llama_workbench.core.datatypes import Api

# Llama Stack's name -> ours, where this package has the equivalent provider.
ALIASES: dict[tuple[Api, str], str] = {
    (Api.inference, "remote::llama-cpp-server"): "remote::llama-cpp",
    (Api.tool_runtime, "inline::file-search"): "inline::rag-runtime",
    (Api.vector_io, "inline::sqlite_vec"): "inline::sqlite-vec",
    (Api.vector_io, "inline::qdrant"): "remote::qdrant",  # its `path:` is our local mode
}

# Every provider type of Llama Stack 0.7.3's registry, by API (names only). A run config that
# names one this package lacks starts without it (reported); any other unknown name is a typo.
_TYPES = {
    Api.batches: "inline::reference",
    Api.datasetio: "inline::localfs remote::huggingface remote::nvidia",
    Api.eval: "inline::builtin remote::nvidia",
    Api.file_processors: "inline::pypdf inline::docling",
    Api.files: "inline::localfs remote::s3 remote::openai",
    Api.inference: "inline::sentence-transformers inline::transformers remote::cerebras "
    "remote::ollama remote::vllm remote::fireworks remote::together remote::bedrock "
    "remote::databricks remote::nvidia remote::runpod remote::openai remote::anthropic "
    "remote::gemini remote::vertexai remote::groq remote::llama-openai-compat remote::sambanova "
    "remote::passthrough remote::watsonx remote::azure remote::oci remote::llama-cpp-server",
    Api.responses: "inline::builtin",
    Api.safety: "inline::prompt-guard inline::llama-guard inline::code-scanner remote::bedrock "
    "remote::nvidia remote::passthrough remote::sambanova",
    Api.scoring: "inline::basic inline::llm-as-judge inline::braintrust",
    Api.tool_runtime: "inline::file-search remote::brave-search remote::bing-search "
    "remote::tavily-search remote::wolfram-alpha remote::model-context-protocol",
    Api.vector_io: "inline::builtin inline::faiss inline::sqlite-vec inline::sqlite_vec "
    "inline::chromadb remote::chromadb remote::pgvector remote::weaviate inline::qdrant "
    "remote::qdrant inline::milvus remote::milvus remote::elasticsearch remote::oci "
    "remote::infinispan",
}
PROVIDER_TYPES: dict[Api, frozenset[str]] = {
    api: frozenset(names.split()) for api, names in _TYPES.items()
}


def is_llama_stack_type(api: Api, provider_type: str) -> bool:
    """Whether Llama Stack 0.7.3 has a provider of this type for this API."""
    return provider_type in PROVIDER_TYPES.get(api, frozenset())
