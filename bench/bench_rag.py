"""RAG: our vector stores (inline::faiss + all-MiniLM-L6-v2) beside raw sentence-transformers + faiss.

On the test corpus (tests/data/rag, 12 files, 50 questions): ingest throughput (files API +
vector store + attach) against a raw `SentenceTransformer.encode` of exactly the same chunk
texts, then a larger synthetic corpus made from those texts; search latency against raw encode +
`faiss.IndexFlatIP` over the same embeddings; recall@5/@10 for vector, keyword and hybrid search.
Llama Stack 0.7.3's inline::faiss runs beside it when its venv exists (.bench/llama-stack).
Goals: ingest >= 0.9x raw, vector search p50 <= 1.2x raw.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _common import HERE, pct  # type: ignore[import-not-found]
from bench_inference_overhead import LLAMA_STACK_PY  # type: ignore[import-not-found]

CORPUS = HERE.parent / "tests" / "data" / "rag"
NOT_DOCUMENTS = {"README.md", "questions.jsonl"}
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
# ~24 chunks/s each for ours and raw on 2 idle cores: ~2000 chunks take ~3 minutes of the run.
SYNTH_CHUNKS = int(os.environ.get("BENCH_RAG_CHUNKS", "2000"))
REPEATS = int(os.environ.get("BENCH_RAG_REPEATS", "3"))
MODES = ("vector", "keyword", "hybrid")


def squash(text: str) -> str:
    """Whitespace collapsed: PDF extraction breaks lines where the source had spaces."""
    return re.sub(r"\s+", " ", text).strip()


def corpus() -> list[tuple[str, bytes]]:
    paths = sorted(p for p in CORPUS.iterdir() if p.is_file() and p.name not in NOT_DOCUMENTS)
    return [(p.name, p.read_bytes()) for p in paths]


def questions() -> list[dict[str, Any]]:
    lines = (CORPUS / "questions.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def hit(question: dict[str, Any], filename: str, text: str) -> bool:
    return filename == question["file"] and squash(question["answer"]) in squash(text)


# -- ours


def ingest(
    stack: Any, docs: list[tuple[str, bytes]], store_id: str | None = None
) -> tuple[float, str, dict[str, str]]:
    """Upload, create a store (unless given), attach each file: (seconds, store id, {file id: name})."""
    t0 = time.perf_counter()
    ids = {stack.files.upload_file(data, filename=name).id: name for name, data in docs}
    if store_id is None:
        store_id = stack.vector_io.create_vector_store(name=f"bench-{time.time_ns()}").id
    for file_id in ids:
        attached = stack.vector_io.attach_file(store_id, file_id)
        if attached.status != "completed":
            raise RuntimeError(f"{ids[file_id]}: {attached.status} {attached.last_error}")
    return time.perf_counter() - t0, store_id, ids


def chunk_texts(stack: Any, store_id: str, ids: dict[str, str]) -> list[tuple[str, str]]:
    """(filename, text) of every chunk the store holds, file by file in document order."""
    out = []
    for file_id, name in ids.items():
        contents = stack.vector_io.retrieve_vector_store_file_contents(store_id, file_id)
        out.extend((name, c.text) for c in contents.data)
    return out


def synthetic(chunks: list[tuple[str, str]]) -> Iterator[list[tuple[str, bytes]]]:
    """Endless copies of the corpus text, its paragraphs shuffled differently in each copy."""
    by_file: dict[str, list[str]] = {}
    for name, text in chunks:
        by_file.setdefault(name, []).extend(p for p in re.split(r"\n\s*\n", text) if p.strip())
    for copy in itertools.count(1):
        rng = random.Random(copy)
        docs = []
        for name, paragraphs in by_file.items():
            shuffled = list(dict.fromkeys(paragraphs))  # chunk overlap repeats some paragraphs
            rng.shuffle(shuffled)
            body = f"# Edition {copy} of {name}\n\n" + "\n\n".join(shuffled)
            docs.append((f"{Path(name).stem}_copy{copy}.md", body.encode()))
        yield docs


def synthetic_ingest(
    stack: Any, model: Any, chunks: list[tuple[str, str]]
) -> tuple[int, int, float, float]:
    """(files, chunks, raw s, ours s): ours and raw take turns copy by copy (~8 s each), so a
    load spike from elsewhere on the machine lands on both."""
    files = n = 0
    raw_s = ours_s = 0.0
    store_id = None
    for docs in synthetic(chunks):
        seconds, store_id, ids = ingest(stack, docs, store_id)
        texts = [t for _, t in chunk_texts(stack, store_id, ids)]
        raw_s += raw_encode(model, texts)[0]
        ours_s += seconds
        files, n = files + len(docs), n + len(texts)
        if n >= SYNTH_CHUNKS:
            return files, n, raw_s, ours_s
    raise AssertionError("unreachable")


# -- raw baseline


def raw_encode(model: Any, texts: list[str]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    vectors = model.encode(texts, batch_size=64, normalize_embeddings=True)
    return time.perf_counter() - t0, vectors


def raw_index(vectors: Any) -> Any:
    import faiss

    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    return index


def raw_search(model: Any, index: Any, query: str, k: int) -> list[int]:
    vector = model.encode([query], normalize_embeddings=True)
    return [int(i) for i in index.search(vector, k)[1][0] if i >= 0]


# -- measurements


def latencies(
    stack: Any, store_id: str, model: Any, index: Any, qs: list[dict[str, Any]]
) -> dict[str, list[float]]:
    """Each question, each round: raw then ours per mode, interleaved so load spikes hit both."""
    out: dict[str, list[float]] = {"raw": [], **{m: [] for m in MODES}}
    search = stack.vector_io.search_vector_store
    for q in qs[:5]:  # warm-up
        raw_search(model, index, q["question"], 10)
        for mode in MODES:
            search(store_id, q["question"], max_num_results=10, search_mode=mode)
    for _ in range(ROUNDS):
        for q in qs:
            t0 = time.perf_counter()
            raw_search(model, index, q["question"], 10)
            out["raw"].append(time.perf_counter() - t0)
            for mode in MODES:
                t0 = time.perf_counter()
                search(store_id, q["question"], max_num_results=10, search_mode=mode)
                out[mode].append(time.perf_counter() - t0)
    return out


def recalls(
    stack: Any,
    store_id: str,
    model: Any,
    index: Any,
    chunks: list[tuple[str, str]],
    qs: list[dict[str, Any]],
) -> dict[str, tuple[float, float]]:
    """Recall@5 and @10: a hit when a top-k result from the question's file holds the answer."""
    found: dict[str, list[int]] = {m: [] for m in ("raw", *MODES)}  # rank of the first hit
    for q in qs:
        ranked = [chunks[i] for i in raw_search(model, index, q["question"], 10)]
        found["raw"].append(_first_hit(q, ranked))
        for mode in MODES:
            page = stack.vector_io.search_vector_store(
                store_id, q["question"], max_num_results=10, search_mode=mode
            )
            ranked = [(r.filename, " ".join(c.text for c in r.content)) for r in page.data]
            found[mode].append(_first_hit(q, ranked))
    return {m: (_share(r, 5), _share(r, 10)) for m, r in found.items()}


def _first_hit(q: dict[str, Any], ranked: list[tuple[str, str]]) -> int:
    return next((i for i, (name, text) in enumerate(ranked) if hit(q, name, text)), 99)


def _share(ranks: list[int], k: int) -> float:
    return sum(r < k for r in ranks) / len(ranks)


def ours_and_raw(tmp: str) -> dict[str, Any]:
    os.environ["LLAMA_WORKBENCH_DATA_DIR"] = str(Path(tmp) / "ours")
    from sentence_transformers import SentenceTransformer

    from llama_workbench import Stack
    from llama_workbench.providers.inline.inference.sentence_transformers.impl import (
        default_model_path,
    )
    from llama_workbench.providers.utils.quiet import quiet_loading

    docs, qs = corpus(), questions()
    r: dict[str, Any] = {"files": len(docs), "questions": len(qs), "model": default_model_path()}
    with Stack.from_distribution("starter") as stack:
        # Warm-up: model loaded, every extractor imported, before anything is timed.
        _, store_id, ids = ingest(stack, docs)
        chunks = chunk_texts(stack, store_id, ids)
        texts = [t for _, t in chunks]
        with quiet_loading():
            model = SentenceTransformer(str(r["model"]), device="cpu")
        model.encode(texts[:8], batch_size=64, normalize_embeddings=True)
        ours_s, raw_s = [], []
        for _ in range(REPEATS):
            raw_s.append(raw_encode(model, texts)[0])
            seconds, store_id, ids = ingest(stack, docs)
            ours_s.append(seconds)
            if chunk_texts(stack, store_id, ids) != chunks:
                raise RuntimeError("a re-ingest of the corpus gave different chunks")
        _, vectors = raw_encode(model, texts)
        r["ingest"] = (len(chunks), min(raw_s), min(ours_s))
        index = raw_index(vectors)
        r["latency"] = latencies(stack, store_id, model, index, qs)
        r["recall"] = recalls(stack, store_id, model, index, chunks, qs)
        if SYNTH_CHUNKS > 0:
            r["synthetic"] = synthetic_ingest(stack, model, chunks)
    return r


# -- Llama Stack 0.7.3

LLAMA_STACK_CONFIG = """
version: 2
distro_name: bench-rag
apis: [inference, files, vector_io]
providers:
  inference:
  - provider_id: sentence-transformers
    provider_type: inline::sentence-transformers
    config: {{trust_remote_code: false}}
  files:
  - provider_id: localfs
    provider_type: inline::localfs
    config:
      storage_dir: "{d}/files"
      metadata_store: {{table_name: files_metadata, backend: sql_default}}
  vector_io:
  - provider_id: faiss
    provider_type: inline::faiss
    config:
      persistence: {{namespace: "vector_io::faiss", backend: kv_default}}
storage:
  backends:
    kv_default: {{type: kv_sqlite, db_path: "{d}/kv.db"}}
    sql_default: {{type: sql_sqlite, db_path: "{d}/sql.db"}}
  stores:
    metadata: {{namespace: registry, backend: kv_default}}
    inference: {{table_name: inference_store, backend: sql_default}}
    conversations: {{table_name: openai_conversations, backend: sql_default}}
    prompts: {{namespace: prompts, backend: kv_default}}
registered_resources:
  models:
  - model_id: "{model}"
    provider_id: sentence-transformers
    provider_model_id: "{model}"
    model_type: embedding
    metadata: {{embedding_dimension: 384}}
server: {{port: 8321}}
"""

LLAMA_STACK_SCRIPT = """
import json, re, sys, time, traceback
args = json.loads(sys.argv[1])
try:
    from llama_stack.core.library_client import LlamaStackAsLibraryClient
    client = LlamaStackAsLibraryClient(args["config"])
    client.initialize()
except BaseException as e:  # an import or start-up failure is the result
    print("FAIL " + json.dumps(f"{type(e).__name__}: {e}"))
    sys.exit(0)
squash = lambda s: re.sub(r"\\s+", " ", s).strip()
def ingest(name):
    t0 = time.perf_counter()
    ids = [client.files.create(file=open(p, "rb"), purpose="assistants").id for p in args["files"]]
    vs = client.vector_stores.create(name=name, extra_body={
        "embedding_model": "sentence-transformers/" + args["model"],
        "embedding_dimension": 384, "provider_id": "faiss"})
    for i in ids:
        f = client.vector_stores.files.create(vector_store_id=vs.id, file_id=i)
        if f.status != "completed":
            raise RuntimeError(f"{i}: {f.status} {f.last_error}")
    return time.perf_counter() - t0, vs.id, ids
try:
    ingest("warm-up")
    seconds, vs_id, ids = ingest("bench")
    chunks = sum(len(client.vector_stores.files.content(vector_store_id=vs_id, file_id=i).data)
                 for i in ids)
    out = {"ingest_s": seconds, "chunks": chunks, "latency": {}, "recall": {}}
    qs = args["questions"]
    for mode in ("vector", "keyword", "hybrid"):
        try:
            samples, ranks = [], []
            for rnd in range(args["rounds"]):
                for q in qs:
                    t0 = time.perf_counter()
                    page = client.vector_stores.search(vector_store_id=vs_id, query=q["question"],
                                                       max_num_results=10, search_mode=mode)
                    samples.append(time.perf_counter() - t0)
                    if rnd == 0:
                        ranked = [(r.filename, " ".join(c.text for c in r.content)) for r in page.data]
                        ranks.append(next((i for i, (n, t) in enumerate(ranked) if n == q["file"]
                                           and squash(q["answer"]) in squash(t)), 99))
            out["latency"][mode] = samples
            out["recall"][mode] = [sum(r < k for r in ranks) / len(ranks) for k in (5, 10)]
        except Exception as e:
            out["recall"][mode] = f"{type(e).__name__}: {e}"
    print("RESULT " + json.dumps(out))
except Exception as e:
    traceback.print_exc()
    print("FAIL " + json.dumps(f"{type(e).__name__}: {e}"))
"""


def llama_stack(tmp: str, model: Path) -> dict[str, Any] | str | None:
    """Its result dict, the line saying why it could not run, or None without its venv."""
    if not LLAMA_STACK_PY.exists():
        return None
    d = Path(tmp) / "ls"
    d.mkdir()
    config = d / "run.yaml"
    config.write_text(LLAMA_STACK_CONFIG.format(d=d, model=model))
    args = {
        "config": str(config),
        "files": [str(CORPUS / name) for name, _ in corpus()],
        "questions": questions(),
        "model": str(model),
        "rounds": ROUNDS,
    }
    env = {**os.environ, "LLAMA_STACK_LOGGING": "all=error", "HF_HUB_OFFLINE": "1"}
    try:
        proc = subprocess.run(
            [str(LLAMA_STACK_PY), "-c", LLAMA_STACK_SCRIPT, json.dumps(args)],
            capture_output=True,
            text=True,
            env=env,
            timeout=240,
        )
    except subprocess.TimeoutExpired:
        return "did not finish within 240 s"
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[7:]))
        if line.startswith("FAIL "):
            return str(json.loads(line[5:]))
    return f"exited {proc.returncode}: {proc.stderr.strip().splitlines()[-1:]}"


def _missing_modules() -> list[str]:
    """Modules Llama Stack's inline::faiss + inline::sentence-transformers import, absent there."""
    probe = (
        "import importlib.util as u;"
        "print(' '.join(m for m in ('chardet','pypdf','tiktoken','faiss','sentence_transformers',"
        "'torch') if u.find_spec(m) is None))"
    )
    out = subprocess.run([str(LLAMA_STACK_PY), "-c", probe], capture_output=True, text=True)
    return out.stdout.split()


# -- report


def ms(samples: list[float], q: float) -> float:
    return pct(samples, q) * 1000


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        r = ours_and_raw(tmp)
        theirs = llama_stack(tmp, r["model"])
    chunks, raw_s, ours_s = r["ingest"]
    print(
        f"RAG on tests/data/rag ({r['files']} files, {chunks} chunks, {r['questions']} questions): "
        f"inline::faiss + all-MiniLM-L6-v2, {torch.get_num_threads()} threads"
    )
    print(f"ingest (chunks/s){'':27}{'raw encode':>11}{'ours':>9}{'ratio':>8}")
    label = f"corpus: {chunks} chunks, best of {REPEATS}"
    print(f"  {label:42}{chunks / raw_s:11.1f}{chunks / ours_s:9.1f}{raw_s / ours_s:7.2f}x")
    if "synthetic" in r:
        files, n, sraw, sours = r["synthetic"]
        label = f"synthetic: {files} files, {n} chunks"
        print(f"  {label:42}{n / sraw:11.1f}{n / sours:9.1f}{sraw / sours:7.2f}x")
    if isinstance(theirs, dict):
        n, s = theirs["chunks"], theirs["ingest_s"]
        label = f"Llama Stack 0.7.3: {n} chunks"
        print(f"  {label:42}{'':11}{n / s:9.1f}   ({s:.1f} s; its own chunking, tiktoken)")
    print("  ours = upload + create store + attach (extract, chunk, embed, index)")
    print("  raw = encode(batch_size=64) of the same chunk texts; synthetic: turns copy by copy")
    print("  goal: ours >= 0.9x raw")

    lat = r["latency"]
    title = f"search latency, {r['questions']} questions x {ROUNDS} rounds (ms)"
    print(f"{title:46}{'p50':>9}{'p95':>9}")
    rows = [
        ("raw: encode + faiss IndexFlatIP", lat["raw"]),
        ("ours: vector", lat["vector"]),
        ("ours: keyword (FTS5 BM25)", lat["keyword"]),
        ("ours: hybrid (rrf)", lat["hybrid"]),
    ]
    if isinstance(theirs, dict):
        rows += [(f"Llama Stack 0.7.3: {m}", s) for m, s in theirs["latency"].items()]
    for name, samples in rows:
        print(f"  {name:44}{ms(samples, 50):9.2f}{ms(samples, 95):9.2f}")
    raw50 = ms(lat["raw"], 50)
    print(
        f"  ratio ours/raw vector p50: {ms(lat['vector'], 50) / raw50:.2f}x   (goal <= 1.2x); "
        f"keyword {ms(lat['keyword'], 50) / raw50:.2f}x, hybrid {ms(lat['hybrid'], 50) / raw50:.2f}x"
    )

    title = f"recall, {r['questions']} questions"
    print(f"{title:46}{'@5':>9}{'@10':>9}")
    rec = r["recall"]
    rows_r: list[tuple[str, Any]] = [
        ("raw: faiss IndexFlatIP (vector)", rec["raw"]),
        ("ours: vector", rec["vector"]),
        ("ours: keyword", rec["keyword"]),
        ("ours: hybrid (rrf)", rec["hybrid"]),
    ]
    if isinstance(theirs, dict):
        rows_r += [(f"Llama Stack 0.7.3: {m}", v) for m, v in theirs["recall"].items()]
    for name, value in rows_r:
        if isinstance(value, str):
            print(f"  {name:44}fails: {value[:120]}")
        else:
            print(f"  {name:44}{value[0]:9.2f}{value[1]:9.2f}")
    if isinstance(theirs, str):
        print(f"  Llama Stack 0.7.3 inline::faiss: fails offline: {theirs}")
        missing = _missing_modules()
        if missing:
            print(f"    (its venv also lacks: {', '.join(missing)})")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
