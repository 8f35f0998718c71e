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


def remote_inference_specs() -> list[ProviderSpec]:
    """Services that serve models."""
    return remote_specs(Api.inference, _OPENAI_COMPAT)
