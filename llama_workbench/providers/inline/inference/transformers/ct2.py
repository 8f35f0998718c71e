"""CTranslate2: a model converted once (cached by source hash and converter version), then served."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from llama_workbench.providers.inline.inference.transformers.jobs import RowState
from llama_workbench.providers.inline.inference.transformers.loader import (
    ADAPTER_CONFIG,
    LoadedModel,
    cache_key,
    ensure_hf_cache,
    load_tokenizer,
)
from llama_workbench.providers.utils.quiet import quiet_loading

logger = logging.getLogger(__name__)

CT2_FOLDER = "ctranslate2"  # under the provider's cache dir, beside the dequantized GGUFs
_MARKER = "llama_workbench_ct2.json"  # written last: a folder without it is not a conversion


def ctranslate2_installed() -> bool:
    """Whether ctranslate2 can be imported (without importing it)."""
    return importlib.util.find_spec("ctranslate2") is not None


def conversion_dir(path: Path, cache_dir: Path, compute_type: str) -> Path:
    """Where the conversion of `path` (GGUF, model or adapter folder) to `compute_type` lives."""
    import ctranslate2

    name = f"{source_key(path)}-ct2-{ctranslate2.__version__}-{compute_type}"
    return cache_dir / CT2_FOLDER / name


def is_converted(target: Path) -> bool:
    return (target / _MARKER).is_file()


def source_key(path: Path) -> str:
    """A GGUF's content hash; for a folder, a hash of its files' names, sizes and times and of
    its JSON files (config, adapter config); an adapter's key includes its base's."""
    if path.is_file():
        return cache_key(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        stat = file.stat()
        digest.update(f"{file.relative_to(path)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
        if file.suffix == ".json":
            digest.update(file.read_bytes())
    adapter = path / ADAPTER_CONFIG
    if adapter.is_file():
        base = json.loads(adapter.read_text()).get("base_model_name_or_path")
        if base and Path(base).expanduser().exists():
            digest.update(source_key(Path(base).expanduser()).encode())
    return f"{path.name}-{digest.hexdigest()[:16]}"


def hf_folder(path: Path, cache_dir: Path) -> Path:
    """The Hugging Face folder that converts: a GGUF's dequantized cache, or the folder itself."""
    return ensure_hf_cache(path, cache_dir) if path.is_file() else path


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock across threads and processes (flock on a file of its own)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def convert(
    target: Path, compute_type: str, source: Callable[[], Path], tokenizer: Path | None = None
) -> None:
    """Convert the folder `source()` gives into `target`, once: concurrent callers (threads or
    processes) wait for the first; it writes a temporary folder and renames it when complete.
    The tokenizer (the folder's, or `tokenizer`) is saved with it."""
    with _file_lock(target.parent / f"{target.name}.lock"):
        if is_converted(target):
            return
        folder = source()
        started = time.perf_counter()
        tmp = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}.tmp"
        try:
            _convert_into(folder, tmp, compute_type, tokenizer or folder)
            if target.exists():  # a leftover without its marker: never complete
                shutil.rmtree(target)
            os.replace(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    logger.info(
        "converted %s for CTranslate2 in %.1f s", folder.name, time.perf_counter() - started
    )


def _convert_into(folder: Path, tmp: Path, compute_type: str, tokenizer_path: Path) -> None:
    """CTranslate2's converter, run in a child Python process.

    The converter calls `gc.collect()` after each layer: in a process holding a large heap (a
    long-lived notebook kernel, a test session) each collection walks all of it, and a
    20-second conversion was measured taking 4-6 minutes, holding the GIL all along. The child
    starts with an empty heap, leaves the kernel responsive, and returns its memory when done.
    """
    import site

    import llama_workbench

    env = dict(os.environ)
    root = str(Path(llama_workbench.__file__).resolve().parent.parent)
    if root not in {*site.getsitepackages(), site.getusersitepackages()}:
        # A checkout on sys.path by hand: the child imports this same llama_workbench. (An
        # installed one it finds itself; site-packages ahead of the stdlib could shadow it.)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    args = [str(folder), str(tmp), compute_type, str(tokenizer_path)]
    main = f"import sys; from {__name__} import _child_main; sys.exit(_child_main(sys.argv[1:]))"
    done = subprocess.run(
        [sys.executable, "-c", main, *args], env=env, capture_output=True, text=True
    )
    if done.returncode == _UNSUPPORTED:
        said = done.stderr.strip().splitlines()
        raise ValueError(said[-1] if said else f"CTranslate2 can't convert {folder}")
    if done.returncode != 0 or not (tmp / _MARKER).is_file():
        raise RuntimeError(
            f"CTranslate2's conversion of {folder} failed (exit {done.returncode}):\n"
            f"{done.stderr[-3000:]}"
        )


def _convert_here(folder: Path, tmp: Path, compute_type: str, tokenizer_path: Path) -> None:
    from ctranslate2.converters import TransformersConverter

    with quiet_loading():
        converter = TransformersConverter(str(folder), low_cpu_mem_usage=True)
        converter.convert(str(tmp), quantization=compute_type, force=True)
        tokenizer = load_tokenizer(tokenizer_path)
    tokenizer.save_pretrained(str(tmp / "tokenizer"))
    meta = {
        "source": str(folder),
        "eos_ids": _eos_ids(folder, tokenizer),
        "pad_id": int(
            tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        ),
        "context_length": _context_length(folder),
    }
    (tmp / _MARKER).write_text(json.dumps(meta))


_UNSUPPORTED = 3  # the child's exit status for a model CTranslate2's converter doesn't know


def _child_main(argv: list[str]) -> int:
    """The child process's work: FOLDER TMP COMPUTE_TYPE TOKENIZER, converted into TMP.

    It ends itself if the process that started it goes away, so no conversion outlives it.
    """
    parent = os.getppid()

    def watch_parent() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch_parent, daemon=True).start()
    folder, tmp, compute_type, tokenizer = argv
    try:
        _convert_here(Path(folder), Path(tmp), compute_type, Path(tokenizer))
    except (ValueError, NotImplementedError) as exc:
        print(" ".join(str(exc).split()), file=sys.stderr)  # one line: the parent's message
        return _UNSUPPORTED
    return 0


def _eos_ids(folder: Path, tokenizer: Any) -> list[int]:
    ids: set[int] = set()
    for name in ("generation_config.json", "config.json"):
        file = folder / name
        value = json.loads(file.read_text()).get("eos_token_id") if file.is_file() else None
        ids.update([value] if isinstance(value, int) else list(value or []))
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    return sorted(ids)


def _context_length(folder: Path) -> int:
    config = json.loads((folder / "config.json").read_text())
    config = config.get("text_config", config)
    return int(config.get("max_position_embeddings") or 2048)


class LazyGenerator:
    """The CTranslate2 generator, opened by the thread that first generates with it.

    Measured here: a generator opened by a thread that then exits (our load thread) decodes ~10x
    slower (5-8 vs 50-70 tokens/s for a batch of 8), its worker's OpenMP threads orphaned; one
    opened by the long-lived generation thread runs at full speed.
    """

    def __init__(self, opener: Callable[[], Any]) -> None:
        self.open = opener  # also a fresh generator for a seeded job, see generate()
        self._generator: Any = None

    def get(self) -> Any:
        if self._generator is None:
            self._generator = self.open()
        return self._generator


def load_converted(
    target: Path, tokenizer_path: Path | None, compute_type: str, num_threads: int, source: str
) -> LoadedModel:
    """A CTranslate2 generator on the conversion in `target` (CUDA when a GPU is visible),
    opened on first use."""
    import ctranslate2

    started = time.perf_counter()
    meta = json.loads((target / _MARKER).read_text())
    device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"

    def reopen() -> Any:
        return ctranslate2.Generator(
            str(target),
            device=device,
            compute_type=compute_type,
            intra_threads=num_threads if device == "cpu" else 0,
            inter_threads=1,
        )

    with quiet_loading():
        tokenizer = load_tokenizer(tokenizer_path or target / "tokenizer")
    return LoadedModel(
        model=LazyGenerator(reopen),
        tokenizer=tokenizer,
        eos_ids=[int(i) for i in meta["eos_ids"]],
        pad_id=int(meta["pad_id"]),
        context_length=int(meta["context_length"]),
        source=source,
        load_seconds=time.perf_counter() - started,
        engine="ctranslate2",
        compute_type=compute_type,
        device=device,
    )


def generate(lm: LoadedModel, rows: list[RowState]) -> None:
    """One generate_batch call for the rows: each token goes to its row as it is decoded, and a
    finished row (EOS, stop string, its limit, loop, closed stream) stops there."""
    import ctranslate2

    sampling, generator = rows[0].job.sampling, lm.model.get()
    options: dict[str, Any] = {"sampling_topk": 1}
    if not sampling.greedy:
        # top_k 0 samples from the whole vocabulary, as transformers' top_k=0 does.
        options = {
            "sampling_topk": sampling.top_k or 0,
            "sampling_topp": sampling.top_p if sampling.top_p is not None else 1.0,
            "sampling_temperature": sampling.temperature,
        }
        if sampling.seed is not None:
            # CTranslate2 seeds a worker thread's random generator once, when it first samples:
            # a seeded job runs alone on a fresh generator (~0.1 s to open the bundled model).
            ctranslate2.set_random_seed(sampling.seed)
            generator = lm.model.open()

    def on_step(step: Any) -> bool:
        row = rows[step.batch_id]
        row.step(int(step.token_id))
        return row.done

    tokenizer = lm.tokenizer
    generator.generate_batch(
        [tokenizer.convert_ids_to_tokens(row.job.input_ids) for row in rows],
        max_length=max(row.job.max_tokens for row in rows),
        # The prompt goes through the decoder at once (fast prefill) and is not in the result.
        include_prompt_in_result=False,
        end_token=lm.eos_ids,
        repetition_penalty=sampling.penalty_for(lm.engine),
        no_repeat_ngram_size=sampling.no_repeat_ngram_size,
        callback=on_step,
        **options,
    )
