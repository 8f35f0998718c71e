"""Every provider the package knows, plus third-party ones from the `llama_workbench.providers` entry points."""

from __future__ import annotations

import builtins
import importlib
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable
from importlib.metadata import entry_points
from typing import Any

from pydantic import BaseModel

from llama_workbench.core.datatypes import Api, ProviderDeps, ProviderSpec
from llama_workbench.core.errors import ConfigError, MissingDependencyError
from llama_workbench.providers.llama_stack_names import ALIASES

ENTRY_POINT_GROUP = "llama_workbench.providers"

logger = logging.getLogger(__name__)

Factory = Callable[[Any, ProviderDeps], Awaitable[Any]]

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


def _builtin_specs() -> builtins.list[ProviderSpec]:
    specs = [
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
    specs += _rag_specs()
    specs += _safety_specs()
    specs += _remote_specs(Api.inference, _OPENAI_COMPAT)
    specs += _remote_specs(Api.tool_runtime, _SEARCH)
    return specs


_SEARCH = (  # Llama Stack 0.7.3's search tool runtimes, one builtin tool group each
    ("brave-search", "BraveSearchToolConfig", "web_search (builtin::websearch) by Brave Search."),
    ("tavily-search", "TavilySearchToolConfig", "web_search (builtin::websearch) by Tavily."),
    ("bing-search", "BingSearchToolConfig", "web_search (builtin::websearch) by Bing."),
    ("wolfram-alpha", "WolframAlphaToolConfig", "wolfram_alpha (builtin::wolfram_alpha)."),
)


def _remote_specs(api: Api, table: tuple[tuple[str, str, str], ...]) -> builtins.list[ProviderSpec]:
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


_SAFETY = (
    # (type, module, config class, description, extra, packages, needs inference)
    (
        "llama-guard",
        "llama_guard",
        "LlamaGuardConfig",
        "Llama Guard 3 (S1-S14) through the Inference API: any provider serving a guard model.",
        None,
        (),
        True,
    ),
    (
        "code-scanner",
        "code_scanner",
        "CodeScannerConfig",
        "Insecure code in messages, found by a static-analysis rule engine.",
        "safety",
        (),
        False,
    ),
    (
        "pii",
        "pii",
        "PIIShieldConfig",
        "Personal data (emails, phones, cards, IBANs, secrets), with optional redaction; no model.",
        "safety",
        (),
        False,
    ),
    (
        "regex",
        "regex",
        "RegexShieldConfig",
        "A configurable blocklist of words and regular expressions; no model.",
        "safety",
        (),
        False,
    ),
    (
        "prompt-guard",
        "prompt_guard",
        "PromptGuardConfig",
        "Prompt-injection and jailbreak detection by offline classifiers.",
        "safety",
        (),
        False,
    ),
    (
        "toxicity",
        "toxicity",
        "ToxicityConfig",
        "Offensive-language detection by an offline classifier.",
        "safety",
        (),
        False,
    ),
)


def _safety_specs() -> builtins.list[ProviderSpec]:
    """Safety providers (shields)."""
    return [
        ProviderSpec(
            api=Api.safety,
            provider_type=f"inline::{name}",
            module=f"{_P}.inline.safety.{module}",
            config_class=f"{_P}.inline.safety.{module}.config:{config_class}",
            description=description,
            api_dependencies=(Api.inference, Api.models) if needs_inference else (),
            pip_packages=packages,
            pip_extra=extra,
        )
        for name, module, config_class, description, extra, packages, needs_inference in _SAFETY
    ]


def _rag_specs() -> builtins.list[ProviderSpec]:
    """Files and vector index providers."""
    return [
        ProviderSpec(
            api=Api.files,
            provider_type="inline::localfs",
            module=f"{_P}.inline.files.localfs",
            config_class=f"{_P}.inline.files.localfs.config:LocalfsFilesConfig",
            description="Files on the local disk, metadata in the SQL store.",
        ),
        ProviderSpec(
            api=Api.file_processors,
            provider_type="inline::pypdf",
            module=f"{_P}.inline.file_processors.pypdf",
            config_class=f"{_P}.inline.file_processors.pypdf.config:PyPDFProcessorConfig",
            description="Files into chunks: PDF through pypdf, other documents through our parsers.",
            optional_api_dependencies=(Api.files,),
            pip_packages=("pypdf",),
        ),
        ProviderSpec(
            api=Api.vector_io,
            provider_type="inline::faiss",
            module=f"{_P}.inline.vector_io.faiss",
            config_class=f"{_P}.inline.vector_io.faiss.config:FaissVectorIOConfig",
            description="faiss indexes (flat or HNSW) persisted to disk; BM25 keyword search by SQLite FTS5.",
            api_dependencies=(Api.inference,),
            optional_api_dependencies=(Api.files,),
            pip_packages=("faiss-cpu", "numpy"),
            pip_extra="rag",
        ),
        ProviderSpec(
            api=Api.vector_io,
            provider_type="inline::sqlite-vec",
            module=f"{_P}.inline.vector_io.sqlite_vec",
            config_class=f"{_P}.inline.vector_io.sqlite_vec.config:SqliteVecVectorIOConfig",
            description="One SQLite file: sqlite-vec for vectors, FTS5 for keywords.",
            api_dependencies=(Api.inference,),
            optional_api_dependencies=(Api.files,),
            pip_packages=("sqlite-vec", "pysqlite3-binary", "numpy"),
            pip_extra="rag",
        ),
        ProviderSpec(
            api=Api.vector_io,
            provider_type="remote::pgvector",
            module=f"{_P}.remote.vector_io.pgvector",
            config_class=f"{_P}.remote.vector_io.pgvector.config:PGVectorVectorIOConfig",
            description="PostgreSQL with the pgvector extension; keyword search by Postgres full text.",
            api_dependencies=(Api.inference,),
            optional_api_dependencies=(Api.files,),
            pip_packages=("asyncpg",),
            pip_extra="postgres",
        ),
        ProviderSpec(
            api=Api.vector_io,
            provider_type="remote::qdrant",
            module=f"{_P}.remote.vector_io.qdrant",
            config_class=f"{_P}.remote.vector_io.qdrant.config:QdrantVectorIOConfig",
            description="A Qdrant server (or qdrant-client's local mode, given a path).",
            api_dependencies=(Api.inference,),
            optional_api_dependencies=(Api.files,),
            pip_packages=("qdrant-client",),
            pip_extra="qdrant",
        ),
        ProviderSpec(
            api=Api.vector_io,
            provider_type="remote::chromadb",
            module=f"{_P}.remote.vector_io.chromadb",
            config_class=f"{_P}.remote.vector_io.chromadb.config:ChromaVectorIOConfig",
            description="A Chroma server, over its REST API.",
            api_dependencies=(Api.inference,),
            optional_api_dependencies=(Api.files,),
            pip_packages=("httpx",),
        ),
        ProviderSpec(
            api=Api.tool_runtime,
            provider_type="inline::rag-runtime",
            module=f"{_P}.inline.tool_runtime.rag",
            config_class=f"{_P}.inline.tool_runtime.rag.config:RagToolRuntimeConfig",
            description="The builtin::rag tool group: knowledge_search over vector stores.",
            api_dependencies=(Api.vector_io,),
            optional_api_dependencies=(Api.files,),
        ),
        ProviderSpec(
            api=Api.tool_runtime,
            provider_type="remote::model-context-protocol",
            module=f"{_P}.remote.tool_runtime.model_context_protocol",
            config_class=f"{_P}.remote.tool_runtime.model_context_protocol.config:ModelContextProtocolConfig",
            description="The tools of MCP servers (stdio or streamable HTTP), one mcp::<name> group each.",
            pip_packages=("mcp",),
            pip_extra="agents",
        ),
        ProviderSpec(
            api=Api.datasetio,
            provider_type="inline::localfs",
            module=f"{_P}.inline.datasetio.localfs",
            config_class=f"{_P}.inline.datasetio.localfs.config:LocalfsDatasetIOConfig",
            description="Datasets from local files (CSV, JSONL, Parquet, saved datasets), "
            "DataFrames and inline rows; appended rows persist.",
            pip_packages=("pandas", "pyarrow", "datasets"),
            pip_extra="eval",
        ),
        ProviderSpec(
            api=Api.datasetio,
            provider_type="remote::huggingface",
            module=f"{_P}.remote.datasetio.huggingface",
            config_class=f"{_P}.remote.datasetio.huggingface.config:HuggingfaceDatasetIOConfig",
            description="Datasets through the `datasets` library (a hub id, a local path or cache).",
            pip_packages=("datasets",),
            pip_extra="eval",
        ),
        ProviderSpec(
            api=Api.scoring,
            provider_type="inline::basic",
            module=f"{_P}.inline.scoring.basic",
            config_class=f"{_P}.inline.scoring.basic.config:BasicScoringConfig",
            description="Exact match, subset, multiple-choice and math answer parsers, "
            "and Python functions registered from the notebook.",
            optional_api_dependencies=(Api.datasetio,),
        ),
        ProviderSpec(
            api=Api.scoring,
            provider_type="inline::llm-as-judge",
            module=f"{_P}.inline.scoring.llm_as_judge",
            config_class=f"{_P}.inline.scoring.llm_as_judge.config:LlmAsJudgeScoringConfig",
            description="A judge model, a prompt template and regexes that read its score.",
            api_dependencies=(Api.inference,),
            optional_api_dependencies=(Api.datasetio,),
        ),
        ProviderSpec(
            api=Api.scoring,
            provider_type="inline::braintrust",
            module=f"{_P}.inline.scoring.braintrust",
            config_class=f"{_P}.inline.scoring.braintrust.config:BraintrustScoringConfig",
            description="autoevals scorers (factuality, answer correctness, ...) run with the "
            "stack's own models.",
            api_dependencies=(Api.inference,),
            optional_api_dependencies=(Api.datasetio,),
            pip_packages=("autoevals",),
            pip_extra="eval",
        ),
        ProviderSpec(
            api=Api.eval,
            provider_type="inline::builtin",
            module=f"{_P}.inline.eval.builtin",
            config_class=f"{_P}.inline.eval.builtin.config:BuiltinEvalConfig",
            description="Benchmarks run as background jobs (resumable), tracked in MLflow.",
            api_dependencies=(Api.inference, Api.datasetio, Api.scoring),
            optional_api_dependencies=(Api.responses, Api.models),
            pip_packages=("pandas", "mlflow"),
            pip_extra="eval",
        ),
        ProviderSpec(
            api=Api.batches,
            provider_type="inline::reference",
            module=f"{_P}.inline.batches.reference",
            config_class=f"{_P}.inline.batches.reference.config:ReferenceBatchesConfig",
            description="OpenAI's Batches API: a JSONL file of requests run in the background "
            "(bounded concurrency, resumable), results in output and error files.",
            api_dependencies=(Api.inference, Api.files, Api.models),
            optional_api_dependencies=(Api.responses,),
        ),
        ProviderSpec(
            api=Api.post_training,
            provider_type="inline::huggingface",
            module=f"{_P}.inline.post_training.huggingface",
            config_class=f"{_P}.inline.post_training.huggingface.config:HuggingfacePostTrainingConfig",
            description="Supervised fine-tuning (LoRA or full) and DPO of inline transformers "
            "models on the CPU; results served at once, tracked in MLflow.",
            api_dependencies=(Api.inference, Api.datasetio),
            optional_api_dependencies=(Api.models,),
            pip_packages=("peft", "trl", "mlflow"),
            pip_extra="finetune",
        ),
        ProviderSpec(
            api=Api.responses,
            provider_type="inline::builtin",
            module=f"{_P}.inline.responses.builtin",
            config_class=f"{_P}.inline.responses.builtin.config:BuiltinResponsesConfig",
            description=(
                "The Responses and Conversations APIs in-process: the tool loop (file_search, "
                "MCP, functions), guardrails, chaining and storage."
            ),
            api_dependencies=(Api.inference,),
            optional_api_dependencies=(
                Api.models,
                Api.safety,
                Api.shields,
                Api.vector_io,
                Api.tool_runtime,
                Api.prompts,
                Api.connectors,
            ),
        ),
    ]


class ProviderRegistry:
    """Looks up ProviderSpecs by (api, provider_type); imports provider code only on demand."""

    def __init__(self, specs: Iterable[ProviderSpec], *, load_entry_points: bool = True) -> None:
        self._specs: dict[tuple[Api, str], ProviderSpec] = {}
        for spec in specs:
            self.add(spec)
        self._entry_points_pending = load_entry_points
        self._lock = threading.Lock()

    @classmethod
    def default(cls) -> ProviderRegistry:
        """The built-in providers plus any installed through the entry-point group."""
        return cls(_builtin_specs())

    def add(self, spec: ProviderSpec) -> None:
        if not isinstance(spec, ProviderSpec):
            raise ConfigError(f"Not a ProviderSpec: {spec!r}")
        self._specs[(Api(spec.api), spec.provider_type)] = spec

    def get(self, api: Api, provider_type: str) -> ProviderSpec:
        """The spec for `provider_type` (or Llama Stack's name of it) in `api`; the error lists
        the known types of that API."""
        if (api, provider_type) not in self._specs and (api, provider_type) in ALIASES:
            provider_type = ALIASES[(api, provider_type)]
        spec = self._specs.get((api, provider_type))
        if spec is None:
            self._load_entry_points()
            spec = self._specs.get((api, provider_type))
        if spec is None:
            known = sorted(t for (a, t) in self._specs if a == api)
            where = [a.value for (a, t) in self._specs if t == provider_type]
            hint = f" ('{provider_type}' is a provider of {', '.join(where)})" if where else ""
            raise ConfigError(
                f"Unknown provider type '{provider_type}' for API '{api}'{hint}. "
                f"Known: {', '.join(known) or 'none'}. Third-party providers register through "
                f"the '{ENTRY_POINT_GROUP}' entry-point group."
            )
        return spec

    def list(self, api: Api | None = None) -> builtins.list[ProviderSpec]:
        """All specs (of one API), sorted by API then type."""
        self._load_entry_points()
        specs = [s for (a, _), s in self._specs.items() if api is None or a == api]
        return sorted(specs, key=lambda s: (s.api.value, s.provider_type))

    def apis(self) -> builtins.list[Api]:
        """APIs that have at least one provider."""
        self._load_entry_points()
        return sorted({a for (a, _) in self._specs}, key=lambda a: a.value)

    def _load_entry_points(self) -> None:
        if not self._entry_points_pending:
            return
        with self._lock:
            if not self._entry_points_pending:
                return
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                for spec in _specs_from_entry_point(ep):
                    self.add(spec)
            self._entry_points_pending = False


def _specs_from_entry_point(ep: Any) -> builtins.list[ProviderSpec]:
    """An entry point names a ProviderSpec, a list of them, or a function returning either."""
    try:
        obj = ep.load()
        if callable(obj) and not isinstance(obj, ProviderSpec):
            obj = obj()
    except Exception as exc:
        raise ConfigError(
            f"The provider entry point '{ep.name} = {ep.value}' failed to load: {exc}"
        ) from exc
    specs = [obj] if isinstance(obj, ProviderSpec) else list(obj)
    for spec in specs:
        if not isinstance(spec, ProviderSpec):
            raise ConfigError(
                f"The provider entry point '{ep.name}' gave {spec!r}, not a ProviderSpec"
            )
    return [_with_source(s, f"entry point {ep.name}") for s in specs]


def _with_source(spec: ProviderSpec, source: str) -> ProviderSpec:
    from dataclasses import replace

    return replace(spec, source=source)


def _import(path: str, spec: ProviderSpec) -> Any:
    try:
        return importlib.import_module(path)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing and not missing.startswith("llama_workbench") and not path.startswith(missing):
            raise MissingDependencyError(
                missing.split(".")[0], spec.pip_extra, needed_by=spec.provider_type
            ) from exc
        raise ConfigError(f"Provider '{spec.provider_type}': module '{path}' not found") from exc


def load_config_class(spec: ProviderSpec) -> type[BaseModel]:
    """Import the provider's pydantic config class."""
    module_name, _, attr = spec.config_class.partition(":")
    cls = getattr(_import(module_name, spec), attr, None)
    if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
        raise ConfigError(
            f"Provider '{spec.provider_type}': '{spec.config_class}' is not a pydantic model"
        )
    return cls


def load_factory(spec: ProviderSpec) -> Factory:
    """Import the provider's `async create(config, deps)`."""
    factory = getattr(_import(spec.module, spec), "create", None)
    if not callable(factory):
        raise ConfigError(
            f"Provider '{spec.provider_type}': module '{spec.module}' has no create()"
        )
    return factory


_default: ProviderRegistry | None = None


def default_registry() -> ProviderRegistry:
    """The process-wide registry (built-ins + entry points), created on first use."""
    global _default
    if _default is None:
        _default = ProviderRegistry.default()
    return _default
