"""Batch test helpers: request lines, a JSONL file's bytes, and a stack config with batches."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ENDED = ("completed", "failed", "expired", "cancelled")


def chat_lines(model: str, questions: list[str], **fields: Any) -> list[dict[str, Any]]:
    """One chat request per question; custom ids r0, r1, ..."""
    return [
        {
            "custom_id": f"r{i}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": model, "messages": [{"role": "user", "content": q}], **fields},
        }
        for i, q in enumerate(questions)
    ]


def jsonl(lines: list[dict[str, Any]]) -> bytes:
    return ("\n".join(json.dumps(line) for line in lines) + "\n").encode()


def parse_jsonl(content: bytes | str) -> list[dict[str, Any]]:
    text = content.decode() if isinstance(content, bytes) else content
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def batch_config(data_dir: Path, inference: list[dict[str, Any]], **batches: Any) -> dict[str, Any]:
    """A stack with the given inference providers, files (localfs) and batches (reference)."""
    return {
        "data_dir": str(data_dir),
        "apis": ["inference", "files", "batches"],
        "providers": {
            "inference": inference,
            "files": [{"provider_id": "localfs", "provider_type": "inline::localfs"}],
            "batches": [
                {
                    "provider_id": "reference",
                    "provider_type": "inline::reference",
                    "config": batches,
                }
            ],
        },
    }
