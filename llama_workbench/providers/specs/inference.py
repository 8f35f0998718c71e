"""Inference providers: in-process models and the services that serve them."""

from __future__ import annotations

from llama_workbench.core.datatypes import Api, ProviderSpec

_P = "llama_workbench.providers"

_OPENAI_COMPAT = (
    ("openai", "OpenAIConfig", "OpenAI's API (or any server that speaks it)."),
    ("vllm", "VLLMConfig", "A vLLM server's OpenAI-compatible endpoint."),
    ("ollama", "OllamaConfig", "An Ollama server's OpenAI-compatible endpoint."),
    ("tgi", "TGIConfig", "A text-generation-inference server (its Messages API)."),
    ("llama-cpp", "LlamaCppServerConfig", "A llama.cpp server (llama-server)."),
    ("together", "TogetherConfig", "Together AI."),
    ("fireworks", "FireworksConfig", "Fireworks AI."),
    ("groq", "GroqConfig", "Groq."),
    ("nvidia", "NVIDIAConfig", "NVIDIA's hosted API or a NIM (chat, embeddings, rerank)."),
    ("llama-stack", "LlamaStackConfig", "Another Llama Stack or llama_workbench server."),
    ("gemini", "GeminiConfig", "Google Gemini, its OpenAI-compatible endpoint (chat, embeddings)."),
    ("azure", "AzureConfig", "Azure OpenAI: the v1 API, or deployments with an api-version."),
    ("sambanova", "SambaNovaConfig", "SambaNova Cloud (chat, embeddings)."),
    ("cerebras", "CerebrasConfig", "Cerebras Cloud (chat, completions)."),
    ("databricks", "DatabricksConfig", "Databricks Model Serving: a workspace URL and a token."),
    ("runpod", "RunpodConfig", "A RunPod endpoint's OpenAI-compatible API."),
    ("llama-openai-compat", "LlamaCompatConfig", "Meta's Llama API, OpenAI-compatible (chat)."),
)


def remote_specs(api: Api, table: tuple[tuple[str, str, str], ...]) -> list[ProviderSpec]:
    """Remote providers over httpx: (type, config class, description) rows."""
    specs = []
    for name, config_class, description in table:
        module = f"{_P}.remote.{api.value}.{name.replace('-', '_')}"
        specs.append(
            ProviderSpec(
                api=api,
                provider_type=f"remote::{name}",
                module=module,
                config_class=f"{module}.config:{config_class}",
                description=description,
                pip_packages=("httpx",),
            )
        )
    return specs


def inline_inference_specs() -> list[ProviderSpec]:
    """In-process models."""
    return [
        ProviderSpec(
            api=Api.inference,
            provider_type="inline::transformers",
            module=f"{_P}.inline.inference.transformers",
            config_class=f"{_P}.inline.inference.transformers.config:TransformersInferenceConfig",
            description="Any causal LM that transformers loads (a local folder or a GGUF file), in-process.",
            pip_packages=("torch", "transformers", "accelerate", "gguf"),
            pip_extra="inline",
        ),
        ProviderSpec(
            api=Api.inference,
            provider_type="inline::sentence-transformers",
            module=f"{_P}.inline.inference.sentence_transformers",
            config_class=f"{_P}.inline.inference.sentence_transformers.config:SentenceTransformersConfig",
            description="Embeddings with sentence-transformers, in-process.",
            pip_packages=("torch", "sentence-transformers"),
            pip_extra="inline",
        ),
        ProviderSpec(
            api=Api.inference,
            provider_type="inline::llama-cpp",
            module=f"{_P}.inline.inference.llama_cpp",
            config_class=f"{_P}.inline.inference.llama_cpp.config:LlamaCppInferenceConfig",
            description="GGUF models served in-process by llama.cpp (llama-cpp-python).",
            pip_packages=("llama_cpp",),
            pip_extra="llama-cpp",
        ),
    ]


# Services with their own protocol or auth flow: (type, config class, pip packages, extra,
# description). Their optional packages are imported on first use.
_NATIVE = (
    ("anthropic", "AnthropicConfig", (), None,
     "Anthropic's Messages API (tool use, streaming, system prompts)."),
    ("bedrock", "BedrockConfig", ("botocore",), "bedrock",
     "Amazon Bedrock's OpenAI-compatible endpoint: a Bedrock API key, or SigV4 (botocore)."),
    ("vertexai", "VertexAIConfig", ("google-auth",), "vertexai",
     "Vertex AI's OpenAI-compatible endpoint: an access token, or Application Default Credentials."),
    ("watsonx", "WatsonXConfig", (), None,
     "IBM watsonx.ai's chat and embeddings APIs (IBM Cloud IAM tokens from the API key)."),
    ("oci", "OCIConfig", ("oci",), "oci",
     "OCI Generative AI's OpenAI-compatible endpoint, every request signed (the oci package)."),
    ("passthrough", "PassthroughConfig", (), None,
     "Another Llama Stack server: requests forwarded as they are, with 0.7.3's key rules."),
)  # fmt: skip


def remote_inference_specs() -> list[ProviderSpec]:
    """Services that serve models."""
    native = [
        ProviderSpec(
            api=Api.inference,
            provider_type=f"remote::{name}",
            module=f"{_P}.remote.inference.{name}",
            config_class=f"{_P}.remote.inference.{name}.config:{config_class}",
            description=description,
            pip_packages=("httpx", *packages),
            pip_extra=extra,
        )
        for name, config_class, packages, extra, description in _NATIVE
    ]
    return [*remote_specs(Api.inference, _OPENAI_COMPAT), *native]
