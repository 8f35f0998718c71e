"""Record-replay beyond live/record/replay: `record-if-missing`, and the inline providers
(inline::transformers, inline::sentence-transformers) replayed without loading a model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from llama_workbench import Stack
from llama_workbench.apis.inference.models import ChatCompletionRequest
from llama_workbench.core.errors import ProviderUnavailableError
from llama_workbench.providers.remote.inference.vllm.config import VLLMConfig
from llama_workbench.providers.utils.openai_compat import OpenAICompatAdapter
from llama_workbench.providers.utils.recording import recording
from tests.support.stub_server import StubOpenAIServer

# Written by our recording code from the starter's real models (SmolLM2-135M-Instruct through
# CTranslate2 int8, all-MiniLM-L6-v2). After a deliberate change, write them anew (loads both
# models, minutes on 2 cores) with
# `LLAMA_WORKBENCH_RERECORD=1 pytest tests/unit/providers/utils/test_call_recording.py`.
CASSETTES = Path(__file__).parents[3] / "data" / "cassettes" / "inline_starter"
RERECORD = os.environ.get("LLAMA_WORKBENCH_RERECORD") == "1"
HEAVY = ("torch", "transformers", "sentence_transformers", "ctranslate2")


def chat(text: str) -> ChatCompletionRequest:
    return ChatCompletionRequest(model="m", messages=[{"role": "user", "content": text}])


async def test_record_if_missing_replays_what_it_has_and_records_the_rest(tmp_path: Path) -> None:
    with StubOpenAIServer(models=["m"]) as stub:
        config = VLLMConfig(base_url=stub.base_url, max_retries=0)
        with recording("record-if-missing", tmp_path):
            adapter = OpenAICompatAdapter("vllm", config)
            first = await adapter.chat_completion(chat("hello"))
            assert len(stub.requests) == 1 and len(list(tmp_path.glob("*.json"))) == 1
            again = await adapter.chat_completion(chat("hello"))
            assert len(stub.requests) == 1  # answered from the cassette
            assert again.choices[0].message.content == first.choices[0].message.content
            await adapter.chat_completion(chat("new"))
            assert len(stub.requests) == 2 and len(list(tmp_path.glob("*.json"))) == 2
            await adapter.shutdown()
    # The server is gone: what is recorded replays, anything else goes to the network and fails.
    with recording("record-if-missing", tmp_path):
        offline = OpenAICompatAdapter("vllm", config)
        assert (await offline.chat_completion(chat("new"))).choices[
            0
        ].message.content == "echo: new"
        with pytest.raises(ProviderUnavailableError):
            await offline.chat_completion(chat("never asked"))
        await offline.shutdown()


CALLS = """
import json, sys
from llama_workbench import Stack, recording
from llama_workbench.core.errors import MissingRecordingError

CHAT = "transformers/HuggingFaceTB/SmolLM2-135M-Instruct"
EMBED = "sentence-transformers/all-MiniLM-L6-v2"
HEAVY = {heavy!r}
user = [{{"role": "user", "content": "What is the capital of France? Answer in one word."}}]

def calls(stack):
    chat = stack.inference.chat_completion
    stream = chat(model=CHAT, messages=user, max_tokens=8, temperature=0, stream=True)
    embedded = stack.inference.embeddings(model=EMBED, input=["Paris", "frost"]).data
    return {{
        "chat": chat(model=CHAT, messages=user, max_tokens=8, temperature=0).choices[0].message.content,
        "stream": [c.choices[0].delta.content for c in stream if c.choices],
        "completion": stack.inference.completion(
            model=CHAT, prompt="The capital of France is", max_tokens=4, temperature=0
        ).choices[0].text,
        "embeddings": [[len(d.embedding), round(d.embedding[0], 6)] for d in embedded],
    }}

def loaded():
    return [m for m in HEAVY if m in sys.modules]

out = {{}}
with recording(sys.argv[1], sys.argv[2]):
    with Stack.from_distribution("starter") as stack:
        out["answers"] = calls(stack)
        out["loaded"] = loaded()
        out["health"] = stack.providers.retrieve("transformers").health["models"]
        if sys.argv[1] == "replay":
            try:
                stack.inference.embeddings(model=EMBED, input=["never recorded"])
            except MissingRecordingError as exc:
                out["missing"] = str(exc)
        elif sys.argv[1] == "record-if-missing":
            # Not recorded: computed by the real model (loaded now), and recorded.
            new = stack.inference.embeddings(model=EMBED, input=["a new sentence"]).data[0]
            out["new"], out["loaded_after_new"] = len(new.embedding), loaded()
print("RESULT " + json.dumps(out))
"""


def run_calls(mode: str, folder: Path, home: Path) -> dict[str, Any]:
    """The calls in a fresh process (so imports tell what was loaded)."""
    env = {**os.environ, "LLAMA_WORKBENCH_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", CALLS.format(heavy=HEAVY), mode, str(folder)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, done.stderr[-3000:]
    return dict(json.loads(lines[-1][7:]))


EXPECTED = {
    "chat": "The capital of France is Paris.",
    "stream": ["", "The", " capital", " of", " France", " is", " Paris", ".", None],
    "completion": " Paris.\n-",
    "embeddings": [[384, 0.087819], [384, -0.120985]],
}


def test_inline_providers_replay_without_loading_a_model(tmp_path: Path) -> None:
    if RERECORD:
        shutil.rmtree(CASSETTES, ignore_errors=True)
        live = run_calls("record", CASSETTES, tmp_path / "record")
        assert live["answers"] == EXPECTED and set(live["loaded"]) == set(HEAVY)
    replayed = run_calls("replay", CASSETTES, tmp_path / "replay")
    assert replayed["answers"] == EXPECTED
    # No model was loaded: its engine says so, and nothing that loads one was even imported.
    assert replayed["loaded"] == []
    assert replayed["health"] == {"HuggingFaceTB/SmolLM2-135M-Instruct": "not loaded"}
    assert "No recording for inline::sentence-transformers embeddings" in replayed["missing"]


@pytest.mark.slow
def test_inline_record_if_missing_computes_and_records_only_the_new_call(tmp_path: Path) -> None:
    folder = tmp_path / "cassettes"
    shutil.copytree(CASSETTES, folder)
    provider = {"provider_id": "st", "provider_type": "inline::sentence-transformers", "config": {}}
    config = {
        "data_dir": str(tmp_path),
        "apis": ["inference"],
        "providers": {"inference": [provider]},
    }
    model = "st/all-MiniLM-L6-v2"
    with recording("record-if-missing", folder), Stack.from_config(config) as stack:
        served = stack._instances["inference/st"].served("all-MiniLM-L6-v2")
        replayed = stack.inference.embeddings(model=model, input=["Paris", "frost"])
        assert [[len(d.embedding), round(d.embedding[0], 6)] for d in replayed.data] == (
            EXPECTED["embeddings"]
        )
        assert served.loads == 0  # answered from the committed cassette
        new = stack.inference.embeddings(model=model, input=["a new sentence"])
        assert served.loads == 1 and len(new.data[0].embedding) == 384  # the real model
        (written,) = set(folder.glob("*.json")) - {folder / p.name for p in CASSETTES.iterdir()}
        record = json.loads(written.read_text())
        assert record["request"]["body"]["input"] == ["a new sentence"]
        # From now on the cassette answers: what it holds comes back.
        record["response"]["data"][0]["embedding"][0] = 42.0
        written.write_text(json.dumps(record))
        again = stack.inference.embeddings(model=model, input=["a new sentence"])
        assert again.data[0].embedding[0] == 42.0 and served.loads == 1
