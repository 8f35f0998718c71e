"""Token-aware chunking: sizes, overlap, natural boundaries, offsets, pages, real MiniLM tokens."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from llama_workbench.core.errors import BadRequestError
from llama_workbench.providers.utils.chunking import (
    TextChunk,
    chunk_document,
    hf_token_spans,
    word_token_spans,
)
from llama_workbench.providers.utils.documents import ExtractedDocument
from tests.support.rag import random_text


def words(count: int, start: int = 0) -> str:
    return " ".join(f"w{i}" for i in range(start, start + count))


def chunk(text: str, max_tokens: int, overlap: int = 0) -> list[TextChunk]:
    return chunk_document(ExtractedDocument(text), word_token_spans, max_tokens, overlap)


def assert_consistent(doc: ExtractedDocument, chunks: list[TextChunk], spans: Any) -> None:
    """Offsets match the text, indexes run 0.., and every token lies inside some chunk."""
    assert [c.index for c in chunks] == list(range(len(chunks)))
    for c in chunks:
        assert doc.text[c.start : c.end] == c.text == c.text.strip() != ""
    covered = iter(chunks)
    current = next(covered)
    for start, end in spans(doc.text):
        while not (current.start <= start and end <= current.end):
            current = next(covered)  # StopIteration here means a token was left out


@pytest.mark.parametrize(("max_tokens", "overlap"), [(0, 0), (-5, 0), (10, 6), (10, -1), (1, 1)])
def test_invalid_sizes_are_bad_requests(max_tokens: int, overlap: int) -> None:
    with pytest.raises(BadRequestError, match="max_chunk_size_tokens"):
        chunk("a b c", max_tokens, overlap)


def test_short_document_is_one_chunk() -> None:
    text = "  \n Short text, few tokens.\n\n"
    (only,) = chunk(text, 100, 20)
    assert (only.text, only.start, only.end) == ("Short text, few tokens.", 4, 27)
    assert (only.index, only.token_count, only.page, only.page_end) == (0, 6, None, None)


def test_empty_and_whitespace_documents_give_no_chunks() -> None:
    assert chunk("", 10) == []
    assert chunk(" \n\n \t", 10) == []


def test_fixed_windows_overlap_by_the_requested_tokens() -> None:
    chunks = chunk(words(25), 10, 3)
    assert [c.text.split()[0] for c in chunks] == ["w0", "w7", "w14", "w21"]
    assert [c.token_count for c in chunks] == [10, 10, 10, 4]
    for before, after in itertools.pairwise(chunks):
        assert before.text.split()[-3:] == after.text.split()[:3]


def test_windows_end_at_the_best_boundary_in_their_last_30_percent() -> None:
    paragraph = chunk(f"{words(7)}.\n\n{words(1, 7)}. {words(1, 8)}\n{words(11, 9)}", 10)
    assert paragraph[0].text == f"{words(7)}."  # paragraph beats the later sentence and line
    sentence = chunk(f"{words(7)}. {words(1, 7)}\n{words(12, 8)}", 10)
    assert sentence[0].text == f"{words(7)}."  # sentence beats the later line break
    line = chunk(f"{words(8)}\n{words(12, 8)}", 10)
    assert line[0].text == words(8)
    early = chunk(f"{words(3)}.\n\n{words(17, 3)}", 10)
    assert early[0].token_count == 10  # a boundary in the first 70% is ignored


def test_every_window_advances_even_when_tiny() -> None:
    for max_tokens, overlap in [(1, 0), (2, 1), (3, 1), (4, 2)]:
        doc = ExtractedDocument(f"{words(9)}.\n\nEnd here!")
        chunks = chunk_document(doc, word_token_spans, max_tokens, overlap)
        assert all(c.token_count <= max_tokens for c in chunks)
        assert_consistent(doc, chunks, word_token_spans)


def test_offsets_and_coverage_on_a_long_document() -> None:
    doc = ExtractedDocument(random_text(20_000))
    chunks = chunk_document(doc, word_token_spans, 64, 16)
    assert len(chunks) > 10
    assert all(c.token_count <= 64 for c in chunks)
    assert_consistent(doc, chunks, word_token_spans)
    ends_at_sentence = sum(c.text.endswith(".") for c in chunks[:-1])
    assert ends_at_sentence >= len(chunks) * 0.8


def test_pages_of_chunks() -> None:
    page_one, page_two = words(12), words(12, 100)
    text = f"{page_one}\n\n{page_two}"
    pages = [(0, len(page_one)), (len(page_one) + 2, len(text))]
    doc = ExtractedDocument(text, pages, "application/pdf")
    chunks = chunk_document(doc, word_token_spans, 10, 2)
    assert [(c.page, c.page_end) for c in chunks] == [(1, 1), (1, 2), (2, 2)]


def test_chunking_a_megabyte() -> None:
    # Its speed (linear, a small share of tokenizing) is measured by bench/bench_chunking.py.
    doc = ExtractedDocument(random_text(1_000_000, seed=1))
    tokens = word_token_spans(doc.text)
    chunks = chunk_document(doc, lambda _text: tokens, 256, 64)
    assert len(chunks) > 500
    assert_consistent(doc, chunks, word_token_spans)


@pytest.fixture(scope="module")
def minilm_tokenizer() -> Any:
    from transformers import AutoTokenizer

    from llama_workbench.providers.inline.inference.sentence_transformers.impl import (
        default_model_path,
    )

    return AutoTokenizer.from_pretrained(str(default_model_path()))


def test_minilm_chunks_fit_the_model(minilm_tokenizer: Any) -> None:
    minilm_tokenizer.backend_tokenizer.enable_truncation(max_length=512)
    spans = hf_token_spans(minilm_tokenizer)
    text = random_text(30_000, seed=2) + "\n\nUnbrokenlongwordsandpseudowordsxyzzy " * 200
    doc = ExtractedDocument(text)
    assert len(spans(text)) > 512  # no truncation on the copy
    assert minilm_tokenizer.backend_tokenizer.truncation["max_length"] == 512  # model's untouched
    chunks = chunk_document(doc, spans, 100, 20)
    assert_consistent(doc, chunks, spans)
    for c in chunks:
        ids = minilm_tokenizer(c.text, add_special_tokens=False)["input_ids"]
        assert len(ids) <= 100
        assert c.token_count <= 100


def test_raw_tokenizers_tokenizer_is_accepted(minilm_tokenizer: Any) -> None:
    spans = hf_token_spans(minilm_tokenizer.backend_tokenizer)
    assert spans("Hello, world") == [(0, 5), (5, 6), (7, 12)]


def test_without_a_fast_backend_words_are_tokens() -> None:
    # transformers 5 has no slow BERT tokenizer left; anything lacking a fast backend counts.
    assert hf_token_spans(object()) is word_token_spans
    assert word_token_spans("Hi, there!") == [(0, 2), (2, 3), (4, 9), (9, 10)]
