"""POST /v1alpha/file-processors/process on our server (inline::pypdf): uploads and file ids."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from llama_workbench import Stack
from llama_workbench.server.runner import BackgroundServer, start_server
from tests.support.rag import CORPUS_DIR
from tests.support.stub_server import free_port

PDF = CORPUS_DIR / "orrin_ridge_observatory_annual_report_2023.pdf"
HTML = CORPUS_DIR / "lanthorn_cup_race_guide.html"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    config = {
        "data_dir": str(tmp_path_factory.mktemp("file-processors")),
        "apis": ["files", "file_processors"],
        "providers": {
            "files": [{"provider_id": "localfs", "provider_type": "inline::localfs", "config": {}}],
            "file_processors": [
                {
                    "provider_id": "pypdf",
                    "provider_type": "inline::pypdf",
                    "config": {"max_file_size_bytes": 2_000_000},
                }
            ],
        },
    }
    with Stack.from_config(config) as stack, start_server(stack, port=free_port()) as running:
        yield running


def process(server: BackgroundServer, **form: Any) -> httpx.Response:
    upload = form.pop("file", None)
    files = {"file": upload} if upload is not None else None
    data = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in form.items()}
    return httpx.post(
        f"{server.url}/v1alpha/file-processors/process", data=data, files=files, timeout=60
    )


def test_an_uploaded_pdf_is_one_chunk_with_its_metadata(server: BackgroundServer) -> None:
    answer = process(server, file=(PDF.name, PDF.read_bytes(), "application/pdf"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    meta = body["metadata"]
    assert meta["processor"] == "pypdf" and meta["extraction_method"] == "pypdf"
    assert meta["page_count"] == 4 and meta["file_size_bytes"] == PDF.stat().st_size
    assert meta["title"] == "Orrin Ridge Observatory: Annual Report 2023"
    assert meta["author"] == "Orrin Ridge Observatory"
    (chunk,) = body["chunks"]
    assert chunk["content"].startswith("Orrin Ridge Observatory: Annual Report 2023\nDirector")
    assert "  " not in chunk["content"] and "287 clear nights" in chunk["content"]
    assert chunk["metadata"]["filename"] == PDF.name
    assert chunk["metadata"]["document_id"] == chunk["chunk_metadata"]["document_id"]
    assert chunk["chunk_metadata"]["chunk_id"] == chunk["chunk_id"]


def test_a_stored_file_chunked_static_and_auto(server: BackgroundServer) -> None:
    with PDF.open("rb") as f:
        stored = httpx.post(
            f"{server.url}/v1/files", files={"file": f}, data={"purpose": "assistants"}
        ).json()
    static = {
        "type": "static",
        "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 20},
    }
    answer = process(server, file_id=stored["id"], chunking_strategy=static)
    assert answer.status_code == 200, answer.text
    chunks = answer.json()["chunks"]
    assert len(chunks) > 5
    assert all(c["chunk_metadata"]["content_token_count"] <= 100 for c in chunks)
    assert {c["metadata"]["file_id"] for c in chunks} == {stored["id"]}
    assert [c["chunk_metadata"]["chunk_index"] for c in chunks] == list(range(len(chunks)))
    auto = process(server, file_id=stored["id"], chunking_strategy={"type": "auto"}).json()
    assert 1 < len(auto["chunks"]) < len(chunks)


def test_other_documents_through_our_parsers(server: BackgroundServer) -> None:
    answer = process(server, file=(HTML.name, HTML.read_bytes(), "text/html"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["metadata"]["extraction_method"] == "llama_workbench"
    assert body["metadata"]["mime_type"] == "text/html"
    assert "<" not in body["chunks"][0]["content"]
    empty = process(server, file=("blank.txt", b"  \n\n ", "text/plain"))
    assert empty.status_code == 200 and empty.json()["chunks"] == []


@pytest.mark.parametrize(
    ("form", "words"),
    [
        ({}, "exactly one of file"),
        ({"file_id": "file-x", "file": ("a.txt", b"a", "text/plain")}, "exactly one of file"),
        ({"file": ("a.txt", b"a", "text/plain"), "chunking_strategy": "{"}, "Invalid JSON"),
        ({"file": ("a.txt", b"a", "text/plain"), "chunking_strategy": {"type": "x"}}, "type: x"),
        (
            {
                "file": ("a.txt", b"a"),
                "chunking_strategy": {"type": "static", "static": {"max_chunk_size_tokens": 5}},
            },
            "static.max_chunk_size_tokens",
        ),
        ({"file": ("a.txt", b"a"), "options": "[1]"}, "options must be a JSON object"),
        ({"file": ("x.pdf", b"%PDF-1.4 broken", "application/pdf")}, "not a readable PDF"),
    ],
)
def test_bad_requests_are_400s(server: BackgroundServer, form: dict[str, Any], words: str) -> None:
    answer = process(server, **form)
    assert answer.status_code == 400, answer.text
    assert words in answer.json()["error"]["message"]


def test_missing_file_and_size_limit(server: BackgroundServer, tmp_path: Path) -> None:
    missing = process(server, file_id="file-nope")
    assert missing.status_code == 404
    big = process(server, file=("big.txt", b"x" * 2_000_001, "text/plain"))
    assert big.status_code == 413 and "2000000" in big.json()["error"]["message"]


def test_library_mode(tmp_path: Path) -> None:
    config = {
        "data_dir": str(tmp_path),
        "apis": ["file_processors"],
        "providers": {
            "file_processors": [
                {"provider_id": "p", "provider_type": "inline::pypdf", "config": {}}
            ]
        },
    }
    with Stack.from_config(config) as stack:
        result = stack.file_processors.process_file(content=b"one two three", filename="n.txt")
        assert [c.content for c in result.chunks] == ["one two three"]
        with pytest.raises(Exception, match="needs the Files API"):
            stack.file_processors.process_file(file_id="file-1")


def test_a_file_id_of_another_principal_is_not_found(tmp_path: Path) -> None:
    tokens = [{"token": "tok-a", "principal": "a"}, {"token": "tok-b", "principal": "b"}]
    config = {
        "data_dir": str(tmp_path),
        "apis": ["files", "file_processors"],
        "providers": {
            "files": [{"provider_id": "fs", "provider_type": "inline::localfs", "config": {}}],
            "file_processors": [{"provider_id": "p", "provider_type": "inline::pypdf"}],
        },
        "server": {"auth": {"tokens": tokens}},
    }
    with Stack.from_config(config) as stack, start_server(stack, port=free_port()) as running:
        a, b = ({"Authorization": f"Bearer tok-{who}"} for who in "ab")
        stored = httpx.post(
            f"{running.url}/v1/files",
            files={"file": ("notes.txt", b"private notes")},
            data={"purpose": "assistants"},
            headers=a,
        ).json()
        url = f"{running.url}/v1alpha/file-processors/process"
        mine = httpx.post(url, data={"file_id": stored["id"]}, headers=a)
        assert mine.status_code == 200 and mine.json()["chunks"][0]["content"] == "private notes"
        assert httpx.post(url, data={"file_id": stored["id"]}, headers=b).status_code == 404
