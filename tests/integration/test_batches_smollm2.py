"""A batch on the real bundled SmolLM2 (starter distribution): every request answered, in order."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from llama_workbench import Stack
from tests.support.batches import ENDED, chat_lines, jsonl, parse_jsonl
from tests.support.waiting import wait_for

LLM = "transformers/HuggingFaceTB/SmolLM2-135M-Instruct"


@pytest.fixture(scope="module")
def starter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    mp = pytest.MonkeyPatch()
    mp.setenv("LLAMA_WORKBENCH_DATA_DIR", str(tmp_path_factory.mktemp("batches")))
    with Stack.from_distribution("starter") as stack:
        yield stack
    mp.undo()


def test_a_tiny_chat_batch_on_the_inline_model(starter: Stack) -> None:
    questions = ["What is the capital of France?", "Say hello.", "Name a color."]
    lines = chat_lines(LLM, questions, max_tokens=8, temperature=0)
    uploaded = starter.files.upload_file(jsonl(lines), "batch", "tiny.jsonl")
    batch = starter.batches.create_batch(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    done = wait_for(
        lambda: starter.batches.retrieve_batch(batch.id), lambda b: b.status in ENDED, 240
    )
    assert done.status == "completed" and done.error_file_id is None, done
    assert done.request_counts.model_dump() == {"total": 3, "completed": 3, "failed": 0}
    output = parse_jsonl(starter.files.retrieve_file_content(done.output_file_id))
    assert [o["custom_id"] for o in output] == ["r0", "r1", "r2"]
    bodies = [json.loads(o["response"]["body"]) for o in output]
    assert all(b["choices"][0]["message"]["content"].strip() for b in bodies)
    assert all(0 < b["usage"]["completion_tokens"] <= 8 for b in bodies)
    assert "Paris" in bodies[0]["choices"][0]["message"]["content"]
