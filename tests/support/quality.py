"""The inline model's quality set (tests/data/inline_quality.jsonl): scoring answers and spotting
loops, shared by the quality test and bench/bench_inline.py --quality."""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from llama_workbench.apis.inference.models import ChatChoice, ChatCompletion, ChatCompletionRequest

PROMPTS = Path(__file__).resolve().parents[1] / "data" / "inline_quality.jsonl"
MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"


def prompt_set() -> list[dict[str, Any]]:
    """Rows of {"prompt": ..., "expect": [substrings, any of which is right]}."""
    return [json.loads(line) for line in PROMPTS.read_text().splitlines() if line.strip()]


def is_right(text: str, expected: list[str]) -> bool:
    """One expected substring at the start of a word, any case ("4" in "is 4.", not in "14")."""
    return any(re.search(r"\b" + re.escape(e), text, re.IGNORECASE) for e in expected)


def loops(choice: ChatChoice) -> bool:
    """Repeats itself: the loop guard fired, or a sentence or a 4-word sequence comes back."""
    if choice.metadata and "loop_guard" in choice.metadata:
        return True
    text = choice.message.content or ""
    sentences = [s.strip().lower() for s in re.split(r"(?<=[.!?])\s+|\n+", text)]
    if any(n > 1 for s, n in Counter(s for s in sentences if len(s.split()) >= 3).items()):
        return True
    words = text.lower().split()
    grams = Counter(tuple(words[i : i + 4]) for i in range(len(words) - 3))
    return any(n > 2 for n in grams.values())


async def answer_all(
    impl: Any, rows: list[dict[str, Any]], max_tokens: int, one_by_one: bool = False
) -> list[ChatChoice]:
    """Every prompt at temperature 0: all at once (the provider's queue batches them), or
    `one_by_one`, each answered alone (int8 batches depend on which prompts share them)."""

    async def one(prompt: str) -> ChatChoice:
        request = ChatCompletionRequest(
            model=MODEL,
            messages=[{"role": "user", "content": prompt}],
            temperature=0,
            max_tokens=max_tokens,
        )
        result = await impl.chat_completion(request)
        assert isinstance(result, ChatCompletion)
        return result.choices[0]

    if one_by_one:
        return [await one(row["prompt"]) for row in rows]
    return list(await asyncio.gather(*(one(row["prompt"]) for row in rows)))


def score(rows: list[dict[str, Any]], choices: list[ChatChoice]) -> tuple[int, int, list[str]]:
    """(right answers, looping answers, a line for each wrong or looping one)."""
    right = looping = 0
    notes = []
    for row, choice in zip(rows, choices, strict=True):
        text = choice.message.content or ""
        ok, looped = is_right(text, row["expect"]), loops(choice)
        right, looping = right + ok, looping + looped
        if not ok or looped:
            notes.append(f"{'wrong' if not ok else 'loops'}: {row['prompt']!r} -> {text!r}")
    return right, looping, notes
