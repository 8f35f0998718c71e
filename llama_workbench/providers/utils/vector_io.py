"""Pieces the vector_io providers share: names, stored chunks, vector checks, words and BM25."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Hashable, Sequence
from typing import Annotated, TypeVar

from pydantic import AfterValidator

from llama_workbench.apis.vector_io.models import EmbeddedChunk
from llama_workbench.core.errors import BadRequestError

K = TypeVar("K", bound=Hashable)

# Runs of letters and digits (Qdrant's word tokenizer; nothing else reaches a tsquery).
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# At most this many chunks are ranked per keyword query (those holding any query word).
KEYWORD_CANDIDATES = 10_000
BM25_K1 = 1.2
BM25_B = 0.75
# Chroma names: 3-512 of [A-Za-z0-9._-], starting and ending with a letter or digit; Qdrant's
# rules are looser. A collection is the prefix plus a hex hash: the prefix only has to start right.
_COLLECTION_PREFIX = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_-]{0,63})?$")


def hashed_name(prefix: str, store_id: str) -> str:
    """A safe name per store (a collection, a table): store ids are free text, names must not be."""
    return prefix + hashlib.sha256(store_id.encode()).hexdigest()[:24]


def _collection_prefix(value: str) -> str:
    if not _COLLECTION_PREFIX.match(value):
        raise ValueError(
            "collection_prefix must be letters, digits, '_' and '-' (at most 64), "
            "starting with a letter or digit"
        )
    return value


# A config field: the prefix of the collection names `hashed_name` makes (Chroma, Qdrant).
CollectionPrefix = Annotated[str, AfterValidator(_collection_prefix)]


# -- stored chunks


def chunk_json(chunk: EmbeddedChunk) -> str:
    """The chunk as stored beside its vector: everything but the embedding."""
    return chunk.model_dump_json(exclude={"embedding"})


def chunk_from_json(data: str, embedding: list[float]) -> EmbeddedChunk:
    """The chunk `chunk_json` stored, with its embedding back."""
    fields = json.loads(data)
    fields["embedding"] = embedding
    return EmbeddedChunk.model_validate(fields)


def in_file_order(chunks: list[EmbeddedChunk]) -> list[EmbeddedChunk]:
    """Sorted by chunk index (stable); chunks without one first, as SQLite orders NULLs."""
    return sorted(
        chunks,
        key=lambda c: (c.chunk_metadata.chunk_index is not None, c.chunk_metadata.chunk_index or 0),
    )


# -- vector checks


def check_dimension(store_id: str, size: int, dimension: int | None, subject: str) -> None:
    """BadRequestError unless `size` is the store's dimension (None: unknown, any size goes).

    `subject` names what was sent, with its verb: "Embeddings have", "The query embedding has".
    """
    if dimension is not None and size != dimension:
        raise BadRequestError(f"{subject} {size} dimensions; store '{store_id}' takes {dimension}.")


def check_vector(store_id: str, vector: Sequence[float], dimension: int | None, what: str) -> None:
    """BadRequestError for a vector of the wrong size, or holding NaN or infinite values."""
    check_dimension(store_id, len(vector), dimension, f"{what} has")
    if not all(math.isfinite(v) for v in vector):
        raise BadRequestError(f"{what} holds NaN or infinite values.")


def check_chunks(store_id: str, chunks: Sequence[EmbeddedChunk], dimension: int | None) -> None:
    """`check_vector` for every chunk's embedding, before any of them is written."""
    for chunk in chunks:
        check_vector(store_id, chunk.embedding, dimension, f"Chunk '{chunk.chunk_id}'")


# -- keyword search


def words(text: str) -> list[str]:
    """The lowercased words (runs of letters and digits) of `text`."""
    return [w.lower() for w in _WORD.findall(text)]


def query_terms(query: str) -> list[str]:
    """The distinct words of a keyword query, in order."""
    return list(dict.fromkeys(words(query)))


def bm25(terms: Sequence[str], docs: dict[K, list[str]], n_docs: int) -> dict[K, float]:
    """BM25 of the docs holding a term (a repeated query term counts once); best is highest.

    `docs` are the candidates, every chunk that holds any term, so each term's document frequency
    is exact; `n_docs` is the whole store's size. The one approximation: the average length is
    taken over the candidates, since the engines give no cheap total over the whole store.
    """
    if not docs:
        return {}
    unique = list(dict.fromkeys(terms))
    counts = {key: Counter(tokens) for key, tokens in docs.items()}
    total = max(n_docs, len(docs))
    avg_len = sum(len(tokens) for tokens in docs.values()) / len(docs) or 1.0
    idf = {}
    for term in unique:
        df = sum(1 for c in counts.values() if term in c)
        idf[term] = math.log((total - df + 0.5) / (df + 0.5) + 1.0)
    scores: dict[K, float] = {}
    for key, count in counts.items():
        norm = BM25_K1 * (1 - BM25_B + BM25_B * len(docs[key]) / avg_len)
        score = sum(
            idf[t] * count[t] * (BM25_K1 + 1) / (count[t] + norm) for t in unique if count[t]
        )
        if score > 0:
            scores[key] = score
    return scores


def best_bm25(
    terms: Sequence[str], docs: dict[K, list[str]], n_docs: int, k: int
) -> list[tuple[K, float]]:
    """The `k` best (doc key, BM25 score) pairs, best first; docs scoring nothing are left out."""
    scores = bm25(terms, docs, n_docs)
    best = sorted(scores, key=lambda key: -scores[key])[:k]
    return [(key, scores[key]) for key in best]


# -- server addresses


def server_url(value: str, field: str, example: str) -> str:
    """An http(s) URL from a config value; Llama Stack's `host:port` gets http for a local
    host and https elsewhere (hosted clusters), as its clients do."""
    text = str(value).strip().rstrip("/")
    if not text:
        raise ValueError(f"{field} must name a server, e.g. {example}")
    if "://" not in text:
        host = text.split(":", 1)[0].lower()
        local = host in ("localhost", "127.0.0.1", "::1", "[::1]") or host.endswith(".local")
        text = f"{'http' if local else 'https'}://{text}"
    if not text.startswith(("http://", "https://")):
        raise ValueError(f"{field} must be an http(s) URL or host:port, e.g. {example}")
    return text
