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
# A prose sentence (this many words or more, ended by . ! or ?) is never said twice: its second
# copy is held back while it is being written and dropped once complete. Lines of code or
# tables (ended by a newline) and short sentences keep the `repeats` rule.
MIN_PROSE_WORDS = 5
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


class LoopGuard:
    """Reports a loop: a block of tokens repeated `repeats` times in a row, one sentence of at
    least three words occurring `repeats` times anywhere in the output, or a prose sentence
    said a second time. `repeats` 0: never. After a loop, `cut` is where the output should end
    (the start of the repeated prose sentence), or None to keep it whole.
    """

    def __init__(self, repeats: int) -> None:
        self._repeats = repeats
        self._sentences: Counter[str] = Counter()
        self._prose: set[str] = set()
        self._split_at = 0  # the text before this offset has been counted into sentences
        self._gap_at = 0  # where the space before the next sentence begins (cut there)
        self.cut: int | None = None

    def looping(self, tokens: list[int], text: str) -> bool:
        """Check the output so far (all tokens, and their decoded text) after a new token."""
        if self._repeats < 2:
            return False
        return self._repeated_block(tokens) or self._repeated_sentence(text)

    def held(self, text: str) -> int:
        """How many characters at the end of `text` to hold back: the unfinished sentence,
        while it reads as the start of a prose sentence already said."""
        if self._repeats < 2 or not self._prose:
            return 0
        start, gap = self._split_at, self._gap_at
        for end in _SENTENCE_END.finditer(text, self._split_at):
            start, gap = end.end(), end.start()
        partial = " ".join(text[start:].lower().split())
        if partial and any(said.startswith(partial) for said in self._prose):
            return len(text) - gap  # the space before it too: a dropped repeat leaves none
        return 0

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
        start = self._split_at
        for end in _SENTENCE_END.finditer(text, self._split_at):
            sentence, gap = text[start : end.start()], self._gap_at
            start, self._split_at, self._gap_at = end.end(), end.end(), end.start()
            found = self._counted(sentence.strip())
            if found is not None:
                self.cut = gap if found == "prose" else None
                return True
        return False

    def _counted(self, sentence: str) -> str | None:
        """Count one complete sentence: "prose" or "repeat" when it makes a loop, else None."""
        words = sentence.lower().split()
        if len(words) < MIN_SENTENCE_WORDS:
            return None
        key = " ".join(words)
        if len(words) >= MIN_PROSE_WORDS and sentence[-1] in ".!?":
            if key in self._prose:
                return "prose"
            self._prose.add(key)
        self._sentences[key] += 1
        return "repeat" if self._sentences[key] >= self._repeats else None
