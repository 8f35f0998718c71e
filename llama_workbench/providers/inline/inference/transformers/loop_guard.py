"""Spotting a generation that repeats itself, so it ends instead of looping until max_tokens."""

from __future__ import annotations

import re
from collections import Counter

# A block shorter than this many tokens is not a loop yet ("ha ha ha", "| --- |"): a tight
# loop is still caught once the block (then several periods long) has repeated. Short
# sentences ("I'm a cat.") are caught by the sentence count.
MIN_BLOCK_TOKENS = 6
MAX_BLOCK_TOKENS = 256
MIN_SENTENCE_WORDS = 3
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


class LoopGuard:
    """Reports a loop: a block of tokens repeated `repeats` times in a row, or one sentence of
    at least three words occurring `repeats` times anywhere in the output. `repeats` 0: never.
    """

    def __init__(self, repeats: int) -> None:
        self._repeats = repeats
        self._sentences: Counter[str] = Counter()
        self._split_at = 0  # the text before this offset has been counted into sentences

    def looping(self, tokens: list[int], text: str) -> bool:
        """Check the output so far (all tokens, and their decoded text) after a new token."""
        if self._repeats < 2:
            return False
        return self._repeated_block(tokens) or self._repeated_sentence(text)

    def _repeated_block(self, tokens: list[int]) -> bool:
        n, repeats = len(tokens), self._repeats
        last = tokens[-1] if tokens else None
        for size in range(MIN_BLOCK_TOKENS, min(MAX_BLOCK_TOKENS, n // repeats) + 1):
            # Cheap pre-check on the last token of each copy before comparing whole blocks.
            if any(tokens[n - 1 - k * size] != last for k in range(1, repeats)):
                continue
            block = tokens[n - size :]
            if all(tokens[n - (k + 1) * size : n - k * size] == block for k in range(1, repeats)):
                return True
        return False

    def _repeated_sentence(self, text: str) -> bool:
        # Only sentences that are complete (a terminator and a space or newline after them).
        pending = text[self._split_at :]
        ends = list(_SENTENCE_END.finditer(pending))
        if not ends:
            return False
        complete = pending[: ends[-1].start()]
        self._split_at += ends[-1].end()
        for sentence in _SENTENCE_END.split(complete):
            words = sentence.lower().split()
            if len(words) < MIN_SENTENCE_WORDS:
                continue
            key = " ".join(words)
            self._sentences[key] += 1
            if self._sentences[key] >= self._repeats:
                return True
        return False
