"""Token-aware chunking of extracted documents, keeping character offsets for citations."""

from __future__ import annotations

import bisect
import itertools
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from llama_workbench.core.errors import BadRequestError
from llama_workbench.providers.utils.documents import ExtractedDocument

# A window may end early at a natural boundary found in its last 30% of tokens.
_BOUNDARY_FRACTION = 0.3

_WORD = re.compile(r"\w+|[^\w\s]")
_PARAGRAPH = re.compile(r"\n[ \t]*\n")
_SENTENCE = re.compile(r"[.!?][\"'\u201d\u2019)\]]*(?=\s)")
_LINE = re.compile(r"\n")


class TokenSpans(Protocol):
    """Char spans [start, end) of the tokens of `text`, in order."""

    def __call__(self, text: str) -> list[tuple[int, int]]: ...


def word_token_spans(text: str) -> list[tuple[int, int]]:
    """Words and punctuation marks as tokens: the fallback when no tokenizer is at hand."""
    return [match.span() for match in _WORD.finditer(text)]


def hf_token_spans(tokenizer: Any) -> TokenSpans:
    """Token spans from a Hugging Face tokenizer; slow (Python) tokenizers fall back to words.

    Accepts a transformers tokenizer or a `tokenizers.Tokenizer`.
    """
    backend = (
        tokenizer if hasattr(tokenizer, "to_str") else getattr(tokenizer, "backend_tokenizer", None)
    )
    if backend is None or not getattr(tokenizer, "is_fast", True):
        return word_token_spans
    # A copy, so the model's own tokenizer keeps its truncation and padding settings.
    from tokenizers import Tokenizer

    copy = Tokenizer.from_str(backend.to_str())
    copy.no_truncation()
    copy.no_padding()

    def spans(text: str) -> list[tuple[int, int]]:
        return list(copy.encode(text, add_special_tokens=False).offsets)

    return spans


@dataclass(frozen=True)
class TextChunk:
    """A chunk of a document: `text == document.text[start:end]`; pages are 1-based (PDF)."""

    index: int
    text: str
    start: int
    end: int
    token_count: int
    page: int | None
    page_end: int | None


def chunk_document(
    doc: ExtractedDocument,
    spans: TokenSpans,
    max_tokens: int,
    overlap_tokens: int,
    *,
    large_overlap: bool = False,
) -> list[TextChunk]:
    """Windows of at most `max_tokens` tokens, overlapping by `overlap_tokens`, cut at boundaries.

    The overlap is at most half the size (OpenAI's rule), or less than the size with
    `large_overlap` (Llama Stack 0.7.3's contextual chunking: 700/400 by default).
    """
    if max_tokens < 1:
        raise BadRequestError(f"max_chunk_size_tokens must be at least 1, got {max_tokens}")
    if large_overlap and not 0 <= overlap_tokens < max_tokens:
        raise BadRequestError(
            f"chunk_overlap_tokens must be less than max_chunk_size_tokens ({max_tokens}), "
            f"got {overlap_tokens}"
        )
    if not large_overlap and not 0 <= overlap_tokens <= max_tokens // 2:
        raise BadRequestError(
            f"chunk_overlap_tokens must be between 0 and half of max_chunk_size_tokens "
            f"({max_tokens // 2}), got {overlap_tokens}"
        )
    tokens = spans(doc.text)
    if len(tokens) <= max_tokens:
        whole = _chunk(doc, 0, 0, len(doc.text), len(tokens))
        return [whole] if whole else []
    windows = _Windows(doc.text, tokens, max_tokens, overlap_tokens)
    chunks: list[TextChunk] = []
    for first, last in windows:
        chunk = _chunk(doc, len(chunks), tokens[first][0], tokens[last][1], last - first + 1)
        if chunk:
            chunks.append(chunk)
    return chunks


def _chunk(
    doc: ExtractedDocument, index: int, start: int, end: int, count: int
) -> TextChunk | None:
    piece = doc.text[start:end]
    stripped = piece.strip()
    if not stripped:
        return None
    start += len(piece) - len(piece.lstrip())
    end = start + len(stripped)
    return TextChunk(
        index=index,
        text=stripped,
        start=start,
        end=end,
        token_count=count,
        page=doc.page_at(start),
        page_end=doc.page_at(end - 1),
    )


class _Windows:
    """Iterates (first, last) token indexes of each window over a tokenised text."""

    def __init__(
        self, text: str, tokens: Sequence[tuple[int, int]], max_tokens: int, overlap: int
    ) -> None:
        self.starts = [start for start, _ in tokens]
        # Running maximum: bisect needs sorted ends even if a tokenizer's offsets overlap.
        self.ends = list(itertools.accumulate((end for _, end in tokens), max))
        self.max_tokens = max_tokens
        self.overlap = overlap
        # The shortest window that may end at a boundary: 70% of the full size.
        self.min_tokens = max(1, max_tokens - math.floor(max_tokens * _BOUNDARY_FRACTION))
        # Boundaries by preference; each is a char position a window may end at.
        self.boundaries = [
            [match.start() for match in _PARAGRAPH.finditer(text)],
            [match.end() for match in _SENTENCE.finditer(text)],
            [match.start() for match in _LINE.finditer(text)],
        ]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        count, first = len(self.starts), 0
        while True:
            stop = first + self.max_tokens  # exclusive
            if stop >= count:
                yield first, count - 1
                return
            stop = self._cut(first, stop)
            yield first, stop - 1
            first = self._next_start(first, stop)

    def _cut(self, first: int, stop: int) -> int:
        """Where a full window should end (exclusive): at the best boundary, else a word gap."""
        shortest = first + self.min_tokens  # exclusive end of the shortest allowed window
        low, high = self.ends[shortest - 1], self.starts[stop]
        for positions in self.boundaries:
            at = bisect.bisect_right(positions, high) - 1
            if at >= 0 and positions[at] >= low:
                last = bisect.bisect_right(self.ends, positions[at]) - 1
                return min(max(last + 1, shortest), stop)
        # No boundary: cut between words where possible, so that re-tokenising a chunk on its
        # own gives the same tokens (a cut inside a word can split it into more pieces).
        for end in range(stop, shortest - 1, -1):
            if self.starts[end] > self.ends[end - 1]:
                return end
        return stop

    def _next_start(self, first: int, stop: int) -> int:
        """The next window's first token: `overlap` tokens back, moved forward to a word start."""
        start = max(first + 1, stop - self.overlap)
        for candidate in range(start, stop):
            if self.starts[candidate] > self.ends[candidate - 1]:
                return candidate
        return start
