"""inline::transformers on CTranslate2 (its default engine when installed): the engine choice, the
cached conversion, health, penalties, the loop guard on the real model, an adapter's switch."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from llama_workbench.apis.inference.models import (
    ChatCompletion,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
)
from llama_workbench.apis.models.models import Model
from llama_workbench.core.errors import MissingDependencyError
from llama_workbench.providers.inline.inference.transformers import TransformersInferenceImpl, ct2
from llama_workbench.providers.inline.inference.transformers import impl as impl_module
from llama_workbench.providers.inline.inference.transformers.loader import (
    cache_key,
    default_gguf_path,
)
from llama_workbench.providers.inline.inference.transformers.responses import LOOP_NOTE
from tests.support.waiting import wait_until

from .conftest import LLM, new_llm

ctranslate2 = pytest.importorskip("ctranslate2")


def chat(content: str, **fields: Any) -> ChatCompletionRequest:
    fields.setdefault("max_tokens", 24)
    return ChatCompletionRequest.model_validate(
        {"model": LLM, "messages": [{"role": "user", "content": content}], **fields}
    )


async def answer(impl: TransformersInferenceImpl, request: ChatCompletionRequest) -> str:
    result = await impl.chat_completion(request)
    assert isinstance(result, ChatCompletion)
    return result.choices[0].message.content or ""


async def test_the_engine_is_ctranslate2_when_installed_else_transformers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (await new_llm(tmp_path)).engine_name == "ctranslate2"
    assert (await new_llm(tmp_path, engine="transformers")).engine_name == "transformers"
    monkeypatch.setattr(impl_module, "ctranslate2_installed", lambda: False)
    fallback = await new_llm(tmp_path)
    assert fallback.engine_name == "transformers"
    assert (await fallback.health())["compute_type"] == "float32"
    with pytest.raises(MissingDependencyError, match=r"llama-workbench\[inline\]"):
        await new_llm(tmp_path, engine="ctranslate2")


async def test_health_and_model_metadata_show_the_engine(llm: TransformersInferenceImpl) -> None:
    health = await llm.health()
    assert health == {
        "status": "OK",
        "engine": "ctranslate2",
        "compute_type": "int8",
        "models": {LLM: "ctranslate2 int8 on cpu"},
    }
    (listed,) = await llm.list_provider_models()
    assert listed.metadata == {"engine": "ctranslate2", "compute_type": "int8"}


def test_the_stack_shows_a_providers_health(tmp_path: Path) -> None:
    from llama_workbench import Stack

    config = {
        "data_dir": str(tmp_path),
        "apis": ["inference"],
        "providers": {
            "inference": [
                {"provider_id": "tf", "provider_type": "inline::transformers", "config": {}}
            ]
        },
    }
    with Stack.from_config(config) as stack:
        (info,) = stack.providers.list()
        assert info.health["engine"] == "ctranslate2" and info.health["compute_type"] == "int8"
        assert info.health["models"] == {LLM: "not loaded"}


async def test_the_conversion_is_cached_by_source_hash_and_converter_version(
    llm: TransformersInferenceImpl, llm_data_dir: Path
) -> None:
    await answer(llm, chat("What is the capital of France?"))
    folders = list((llm_data_dir / "models" / ct2.CT2_FOLDER).iterdir())
    name = f"{cache_key(default_gguf_path())}-ct2-{ctranslate2.__version__}-int8"
    assert [p.name for p in folders if p.is_dir()] == [name]  # no temporary folder left
    assert (folders[0].parent / name / "model.bin").is_file()
    # A fresh provider loads the conversion (no dequantizing, no converting) and batches.
    fresh = await new_llm(llm_data_dir, max_batch_size=4, batch_wait_ms=1000)
    engine = fresh.engine(LLM)
    questions = ["What is the capital of France?", "What is 2+2?", "Name a colour.", "Hi"]
    try:
        answers = await asyncio.gather(*(answer(fresh, chat(q)) for q in questions))
        assert engine.loaded is not None and engine.loaded.source == "cache"
        assert engine.stats.loads == 1 and engine.stats.largest_batch == 4
        assert "Paris" in answers[0] and "4" in answers[1]
    finally:
        await fresh.shutdown()


def test_concurrent_first_conversions_convert_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []

    def fake_convert(folder: Path, tmp: Path, compute_type: str, tokenizer: Path) -> None:
        calls.append(tmp)
        tmp.mkdir(parents=True)
        threading.Event().wait(0.2)  # long enough for the others to queue on the lock
        (tmp / "model.bin").write_text(compute_type)
        (tmp / ct2._MARKER).write_text("{}")

    monkeypatch.setattr(ct2, "_convert_into", fake_convert)
    target = tmp_path / "ctranslate2" / "model-ct2-int8"
    threads = [
        threading.Thread(target=ct2.convert, args=(target, "int8", lambda: tmp_path))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and ct2.is_converted(target)
    assert sorted(p.name for p in target.parent.iterdir()) == [
        "model-ct2-int8",
        "model-ct2-int8.lock",
    ]


def test_the_converter_runs_in_a_child_process(
    llm: TransformersInferenceImpl,
    llm_data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """CTranslate2's converter collects garbage after every layer: in this process (a kernel's
    large heap) that cost minutes. Converting here must never collect in this process."""
    import gc

    collections: list[object] = []
    monkeypatch.setattr(gc, "collect", lambda *args: collections.append(args) or 0)
    folder = ct2.hf_folder(default_gguf_path(), llm_data_dir / "models")  # cached by `llm`
    out = tmp_path / "converted"
    ct2._convert_into(folder, out, "int8", folder)
    assert ct2.is_converted(out) and (out / "model.bin").is_file()
    assert (out / "tokenizer" / "tokenizer.json").is_file()
    assert collections == []


def test_a_failed_conversion_says_why(tmp_path: Path) -> None:
    unknown = tmp_path / "unknown"
    unknown.mkdir()
    (unknown / "config.json").write_text('{"model_type": "no-such-architecture"}')
    # A model the converter doesn't know is a ValueError, as in-process (transformers serves it).
    with pytest.raises(ValueError, match="no-such-architecture"):
        ct2._convert_into(unknown, tmp_path / "out", "int8", unknown)
    with pytest.raises(RuntimeError, match=r"conversion of .*missing failed \(exit 1\)"):
        ct2._convert_into(tmp_path / "missing", tmp_path / "out", "int8", tmp_path / "missing")
    assert not (tmp_path / "out").exists()


async def test_a_model_ctranslate2_cannot_convert_is_served_by_transformers(
    llm_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unsupported(*args: object) -> None:
        raise ValueError("No conversion is registered for the model configuration")

    monkeypatch.setattr(ct2, "conversion_dir", lambda *args: tmp_path / "never")
    monkeypatch.setattr(ct2, "convert", unsupported)
    impl = await new_llm(llm_data_dir)
    try:
        assert "Paris" in await answer(impl, chat("What is the capital of France?"))
        assert (await impl.health())["models"] == {LLM: "transformers float32 on cpu"}
    finally:
        await impl.shutdown()


async def test_sampling_penalties_and_seed(llm: TransformersInferenceImpl) -> None:
    seeded = chat("Tell me a joke.", temperature=0.9, top_p=0.95, top_k=40, seed=3)
    assert await answer(llm, seeded) == await answer(llm, seeded)
    penalised = chat("List the days of the week.", repetition_penalty=1.3, no_repeat_ngram_size=3)
    assert await answer(llm, penalised)


async def test_the_loop_guard_ends_a_repeating_completion(llm: TransformersInferenceImpl) -> None:
    request = CompletionRequest.model_validate(
        {
            "model": LLM,
            "prompt": "I like cats. I like cats. I like cats.",
            "max_tokens": 120,
            "repetition_penalty": 1.0,  # the model's raw habit: it goes on repeating
        }
    )
    result = await llm.completion(request)
    assert isinstance(result, Completion)
    choice = result.choices[0]
    assert choice.finish_reason == "stop" and choice.metadata == {"loop_guard": LOOP_NOTE}
    assert result.usage is not None and result.usage.completion_tokens < 60


@pytest.mark.slow
async def test_an_adapter_is_served_at_once_and_moves_to_ctranslate2(
    llm: TransformersInferenceImpl, llm_data_dir: Path, tmp_path: Path
) -> None:
    adapter = await asyncio.to_thread(_make_adapter, llm_data_dir, tmp_path / "adapter")
    model = Model(identifier="tuned", provider_id="inline", provider_resource_id=str(adapter))
    await llm.register_model(model)
    request = chat("What is the capital of France?").model_copy(update={"model": str(adapter)})
    first = await answer(llm, request)
    engine = llm.engine(str(adapter))
    assert engine.loaded is not None and engine.loaded.engine == "transformers"
    assert "Paris" in first
    # The merge and conversion take ~20 s here; the limit bounds a hang, not the speed (one
    # full-suite run on a slowed host took over 240 s).
    await asyncio.to_thread(wait_until, lambda: engine.stats.engine_switches == 1, None, 600)
    assert "Paris" in await answer(llm, request)
    assert engine.loaded is not None and engine.loaded.describe() == "ctranslate2 int8 on cpu"
    assert (await llm.health())["models"][str(adapter)] == "ctranslate2 int8 on cpu"


def _make_adapter(data_dir: Path, target: Path) -> Path:
    """A LoRA adapter on the bundled model, saved untrained (so it answers as the base does)."""
    import json

    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = next(p for p in (data_dir / "models").iterdir() if p.name.startswith("SmolLM2"))
    model = AutoModelForCausalLM.from_pretrained(str(base), local_files_only=True)
    config = LoraConfig(r=4, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    get_peft_model(model, config).save_pretrained(str(target))
    adapter_config = target / "adapter_config.json"
    settings = json.loads(adapter_config.read_text())
    settings["base_model_name_or_path"] = str(default_gguf_path())
    adapter_config.write_text(json.dumps(settings))
    return target
