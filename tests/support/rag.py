"""The RAG test corpus (tests/data/rag), stack configs that index it, and made-up long text."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

CORPUS_DIR = Path(__file__).resolve().parents[1] / "data" / "rag"
_NOT_DOCUMENTS = {"README.md", "questions.jsonl"}


def corpus_files() -> list[Path]:
    """The corpus documents (every format), without its README and question list."""
    return sorted(p for p in CORPUS_DIR.iterdir() if p.is_file() and p.name not in _NOT_DOCUMENTS)


def questions() -> list[dict[str, Any]]:
    lines = (CORPUS_DIR / "questions.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def random_text(size: int, seed: int = 0) -> str:
    """Paragraphs of short made-up sentences, `size` characters or a little more."""
    rng = random.Random(seed)
    vocab = [
        "the", "model", "reads", "long", "documents", "and", "answers", "questions", "about",
        "retrieval",
    ]  # fmt: skip
    paragraphs: list[str] = []
    total = 0
    while total < size:
        sentences = [
            " ".join(rng.choices(vocab, k=rng.randint(4, 18))).capitalize() + "."
            for _ in range(rng.randint(1, 5))
        ]
        paragraphs.append(" ".join(sentences))
        total += len(paragraphs[-1]) + 2
    return "\n\n".join(paragraphs)


def squash(text: str) -> str:
    """Whitespace collapsed (PDF extraction breaks lines where the source had spaces)."""
    return re.sub(r"\s+", " ", text).strip()


def answered(question: dict[str, Any], filename: str, text: str) -> bool:
    return filename == question["file"] and squash(question["answer"]) in squash(text)


def rag_config(
    data_dir: Path, vector_io: list[dict[str, Any]] | None = None, **top: Any
) -> dict[str, Any]:
    """Embeddings (MiniLM, in-process), files on disk, and the given vector_io providers."""
    return {
        "data_dir": str(data_dir),
        "apis": ["inference", "files", "vector_io", "tool_runtime"],
        "providers": {
            "inference": [
                {
                    "provider_id": "st",
                    "provider_type": "inline::sentence-transformers",
                    "config": {},
                }
            ],
            "files": [{"provider_id": "localfs", "provider_type": "inline::localfs", "config": {}}],
            "vector_io": vector_io
            or [
                {"provider_id": "faiss", "provider_type": "inline::faiss", "config": {}},
                {"provider_id": "sqlite-vec", "provider_type": "inline::sqlite-vec", "config": {}},
            ],
            "tool_runtime": [
                {"provider_id": "rag", "provider_type": "inline::rag-runtime", "config": {}}
            ],
        },
        **top,
    }
