"""Chat `file` content parts: the file (an uploaded id, or its bytes) reaches the model as text."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from llama_workbench import Stack
from llama_workbench.apis.inference.models import ChatCompletion, ChatCompletionRequest
from llama_workbench.core.errors import BadRequestError, NotFoundError
from tests.support.fields import CHAT, scripted_model, scripted_stack_config
from tests.support.rag import CORPUS_DIR
from tests.support.scripted_llm import ScriptedModelServer

PDF = CORPUS_DIR / "orrin_ridge_observatory_annual_report_2023.pdf"
DOCX = CORPUS_DIR / "greywater_botanical_garden_catalogue.docx"


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedModelServer]:
    with scripted_model() as server:
        yield server


@pytest.fixture(scope="module")
def stack(model: ScriptedModelServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    config = scripted_stack_config(model, tmp_path_factory.mktemp("file-parts"))
    with Stack.from_config(config) as built:
        yield built


def ask(stack: Stack, *parts: dict[str, Any]) -> ChatCompletion:
    content = [{"type": "text", "text": "What is in this file?"}, *parts]
    request = ChatCompletionRequest.model_validate(
        {"model": CHAT, "messages": [{"role": "user", "content": content}]}
    )
    result = stack.inference.chat_completion(request)
    assert isinstance(result, ChatCompletion)
    return result


def sent_parts(model: ScriptedModelServer) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = model.requests[-1]["messages"][-1]["content"]
    return parts


def test_a_file_id_is_read_through_the_files_api(stack: Stack, model: ScriptedModelServer) -> None:
    uploaded = stack.files.upload_file(str(DOCX))
    answer = ask(stack, {"type": "file", "file": {"file_id": uploaded.id}})
    question, file_part = sent_parts(model)
    assert question == {"type": "text", "text": "What is in this file?"}
    assert file_part["type"] == "text"
    assert file_part["text"].startswith(f'<file name="{DOCX.name}">\n')
    assert "Greywater" in file_part["text"] and file_part["text"].endswith("\n</file>")
    assert "Greywater" in (answer.choices[0].message.content or "")


def test_file_data_as_a_data_url_or_plain_base64(stack: Stack, model: ScriptedModelServer) -> None:
    data = base64.b64encode(PDF.read_bytes()).decode()
    ask(stack, {"type": "file", "file": {"file_data": f"data:application/pdf;base64,{data}"}})
    (_, part) = sent_parts(model)
    assert part["text"].startswith('<file name="file">') and "Orrin Ridge" in part["text"]
    notes = base64.b64encode(b"The gate code is 4417.").decode()
    ask(stack, {"type": "file", "file": {"file_data": notes, "filename": "notes.txt"}})
    (_, part) = sent_parts(model)
    assert part["text"] == '<file name="notes.txt">\nThe gate code is 4417.\n</file>'


def test_bad_file_parts_are_refused(stack: Stack) -> None:
    with pytest.raises(NotFoundError, match="file-nope") as info:
        ask(stack, {"type": "file", "file": {"file_id": "file-nope"}})
    assert info.value.status_code == 404
    with pytest.raises(BadRequestError, match="not valid base64"):
        ask(stack, {"type": "file", "file": {"file_data": "data:text/plain;base64,@@@"}})
    with pytest.raises(ValueError, match="Either file_data or file_id"):
        ask(stack, {"type": "file", "file": {"filename": "x.txt"}})


def test_the_stored_completion_keeps_the_file_part(stack: Stack) -> None:
    notes = base64.b64encode(b"Stored as sent.").decode()
    answer = ask(stack, {"type": "file", "file": {"file_data": notes, "filename": "n.txt"}})
    stored = stack.inference.get_chat_completion(answer.id)
    content = stored.input_messages[0].content
    assert isinstance(content, list) and content[1].type == "file"
