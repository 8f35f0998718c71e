"""Run Llama Stack's own integration suite against our server (and, to compare, against Llama
Stack 0.7.3's server), both backed by the same scripted OpenAI-compatible model server.

    .venv/bin/python scripts/llama_stack_suite.py /work/.mirror/llamastack+llama-stack/repo \\
        --ref release-0.7.x --against-llama-stack

What it does (everything under .bench/, nothing of Llama Stack's lands in this repo):
1. extracts `tests/integration`, `tests/common`, `conftest.py`, `tests/__init__.py` and
   `pyproject.toml` from a Llama Stack checkout (a work tree, or a bare mirror and a ref) into
   `.bench/llama-stack-src/`;
2. makes the runner venv `.bench/llama-stack/` (Python 3.12; llama-stack 0.7.3, pytest 8, the
   0.7 client, openai 2.5.0, ...) unless it is there;
3. serves the scripted model (tests/support/scripted_llm.py: text, tool calls from the tools'
   JSON schemas, json_schema output, n/stop/max_tokens/logprobs, MiniLM embeddings) on
   127.0.0.1;
4. starts our server (`llama-workbench stack run`) with a run config whose inference provider
   is `remote::openai` (id `openai`) pointed at it, and with `--against-llama-stack` Llama Stack's
   own server from the runner venv with the equivalent config;
5. runs each module's tests with `--stack-config=http://127.0.0.1:PORT --inference-mode=live`
   (junit XML and logs in .bench/llama-stack-suite/<server>/), and prints a table per module.

Tests that fail only on ours (pass on Llama Stack) are written, with the first line of the
failure, to .bench/llama-stack-suite/fail-only-on-ours.txt.
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import urllib.request
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / ".bench"
SRC = BENCH / "llama-stack-src"
RUNNER = BENCH / "llama-stack"
OUT = BENCH / "llama-stack-suite"

DEFAULT_REF = "release-0.7.x"
SOURCE_PATHS = [
    "tests/integration",
    "tests/common",
    "conftest.py",
    "tests/__init__.py",
    "pyproject.toml",
]
RUNNER_PACKAGES = [
    "llama-stack==0.7.3",
    "mcp<2",
    "pytest>=8.4,<9",
    "pytest-asyncio",
    "pytest-timeout",
    "llama-stack-client>=0.7,<0.8",
    "pandas",
    "python-dotenv",
    "ollama",
    "openai==2.5.0",
]
# The module names; "tools" is the suite's tool_runtime folder.
MODULES = [
    "inference",
    "files",
    "conversations",
    "batches",
    "vector_io",
    "responses",
    "safety",
    "scoring",
    "datasets",
    "eval",
    "tools",
]
MODULE_DIRS = {"tools": "tool_runtime"}
TEXT_MODEL = "scripted-model"
EMBEDDING_MODEL = "all-MiniLM-L6-v2"
EMBEDDING_DIM = 384
SERVERS = ("ours", "llama-stack")

sys.path.insert(0, str(ROOT))


# --- sources and the runner venv --------------------------------------------------------------


def extract_sources(source: Path, ref: str | None, dest: Path = SRC) -> Path:
    """The suite's files from a Llama Stack work tree (ref None) or a git dir at `ref`."""
    stamp = dest / ".extracted-from"
    origin = f"{source.resolve()}@{ref or 'worktree'}"
    if stamp.is_file() and stamp.read_text() == origin:
        return dest
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    if ref is None and (source / "tests" / "integration").is_dir():
        for rel in SOURCE_PATHS:
            src = source / rel
            if src.is_dir():
                shutil.copytree(src, dest / rel)
            elif src.is_file():
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest / rel)
    else:
        archive = subprocess.run(
            ["git", "-C", str(source), "archive", ref or DEFAULT_REF, *SOURCE_PATHS],
            check=True,
            capture_output=True,
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(dest, filter="data")
    stamp.write_text(origin)
    return dest


def find_python312() -> str:
    """A Python 3.12 interpreter: on PATH, or pyenv's."""
    found = shutil.which("python3.12")
    if found:
        return found
    roots = [os.environ.get("PYENV_ROOT", ""), str(Path.home() / ".pyenv"), "/root/.pyenv"]
    for root in filter(None, roots):
        for candidate in sorted(glob.glob(f"{root}/versions/3.12*/bin/python"), reverse=True):
            return candidate
    raise SystemExit("no Python 3.12 found (install one with pyenv: pyenv install 3.12)")


def make_runner(runner: Path = RUNNER) -> Path:
    """The runner venv with llama-stack 0.7.3 and the suite's test dependencies (kept)."""
    python = runner / "bin" / "python"
    stamp = runner / ".installed"
    wanted = "\n".join(RUNNER_PACKAGES)
    if python.exists() and stamp.is_file() and stamp.read_text() == wanted:
        sqlite_with_extensions(runner)
        return python
    if not python.exists():
        subprocess.run([find_python312(), "-m", "venv", str(runner)], check=True)
    print(f"installing the runner venv in {runner} (minutes) ...", flush=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *RUNNER_PACKAGES], check=True)
    sqlite_with_extensions(runner)
    stamp.write_text(wanted)
    return python


SQLITE_SHIM = (
    "import sys; exec('try:\\n import pysqlite3, pysqlite3.dbapi2\\n"
    " sys.modules[\\'sqlite3\\'] = pysqlite3; sys.modules[\\'sqlite3.dbapi2\\'] = pysqlite3.dbapi2\\n"
    "except ImportError:\\n pass')\n"
)


def sqlite_with_extensions(runner: Path) -> None:
    """sqlite-vec needs `enable_load_extension`, which pyenv's builds often lack: then the runner
    gets pysqlite3-binary, put in place of `sqlite3` at start-up by a .pth file."""
    python = str(runner / "bin" / "python")
    probe = "import sqlite3; print(hasattr(sqlite3.Connection, 'enable_load_extension'))"
    answer = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True)
    if answer.stdout.strip() == "True":
        return
    subprocess.run([python, "-m", "pip", "install", "-q", "pysqlite3-binary"], check=True)
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "zz_sqlite3_with_extensions.pth").write_text(SQLITE_SHIM)


def install_provider_deps(runner: Path, run_yaml: Path) -> None:
    """What the run config's providers import (`llama stack list-deps <config>`), once."""
    listed = subprocess.run(
        [
            str(runner / "bin" / "llama"),
            "stack",
            "list-deps",
            str(run_yaml),
            "--format",
            "deps-only",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    deps = sorted(set(shlex.split(listed.splitlines()[-1]))) if listed else []
    stamp = runner / ".provider-deps"
    if stamp.is_file() and stamp.read_text() == "\n".join(deps):
        return
    print(f"installing the providers' dependencies in {runner} ...", flush=True)
    python = str(runner / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "-q", *deps], check=True)
    stamp.write_text("\n".join(deps))


def tiktoken_cache(dest: Path = BENCH / "tiktoken-cache") -> Path:
    """tiktoken's cl100k_base for an offline machine: Llama Stack's vector stores load it at
    start-up. The llama-index-core wheel (PyPI) carries it in the layout of TIKTOKEN_CACHE_DIR."""
    cl100k = "9b5ad71b2ce5302211f9c61530b329a4922fc6a4"  # sha1 of the encoding's URL
    if (dest / cl100k).is_file():
        return dest
    wheels = BENCH / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--no-deps",
            "llama-index-core",
            "-d",
            str(wheels),
        ],
        check=True,
    )
    wheel = sorted(wheels.glob("llama_index_core-*.whl"))[-1]
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if "/_static/tiktoken_cache/" in name and not name.endswith((".gitignore", "/")):
                (dest / Path(name).name).write_bytes(archive.read(name))
    return dest


# --- run configs ------------------------------------------------------------------------------


def _enabled(entry: dict[str, Any]) -> bool:
    """False for entries whose id is an unset `${env.X:+id}`."""
    return "${env." not in str(entry.get("provider_id", ""))


def ours_config(model_url: str, data_dir: Path) -> dict[str, Any]:
    """Our starter, with inference through remote::openai at the model server (plus the
    embedded sentence-transformers) and a Llama Guard shield on the scripted model."""
    from importlib.resources import files

    text = (files("llama_workbench.distributions") / "starter.yaml").read_text()
    config: dict[str, Any] = yaml.safe_load(text)
    config["data_dir"] = str(data_dir)
    providers = config["providers"]
    providers["inference"] = [
        {
            "provider_id": "openai",
            "provider_type": "remote::openai",
            "config": {
                "base_url": model_url,
                "api_key": "scripted",
                "embedding_models": {EMBEDDING_MODEL: EMBEDDING_DIM},
            },
        },
        {
            "provider_id": "sentence-transformers",
            "provider_type": "inline::sentence-transformers",
            "config": {},
        },
    ]
    for api, entries in providers.items():
        providers[api] = [e for e in entries if _enabled(e)]
    providers["safety"].append(
        {"provider_id": "llama-guard", "provider_type": "inline::llama-guard", "config": {}}
    )
    shields = [s for s in config["registered_resources"]["shields"] if _enabled(s)]
    shields.append(
        {
            "shield_id": "llama-guard",
            "provider_id": "llama-guard",
            "provider_shield_id": f"openai/{TEXT_MODEL}",
        }
    )
    config["registered_resources"]["shields"] = shields
    for entry in providers["scoring"]:
        if "judge_model" in entry.get("config", {}):
            entry["config"]["judge_model"] = f"openai/{TEXT_MODEL}"
    config["vector_stores"]["default_embedding_model"] = {
        "provider_id": "openai",
        "model_id": EMBEDDING_MODEL,
    }
    return config


def llama_stack_config(runner: Path, model_url: str, data_dir: Path) -> dict[str, Any]:
    """Llama Stack 0.7.3's own starter config (from the runner venv), trimmed to what runs
    offline: inference only through remote::openai at the model server, the MiniLM embedding
    model registered there, no web-search or hosted-only providers."""
    found = glob.glob(
        str(
            runner
            / "lib"
            / "python3.*"
            / "site-packages"
            / "llama_stack"
            / "distributions"
            / "starter"
        )
    )
    if not found:
        raise SystemExit(f"llama_stack's starter distribution is not in {runner}")
    folder = Path(found[0])
    path = next((folder / n for n in ("config.yaml", "run.yaml") if (folder / n).is_file()), None)
    if path is None:
        raise SystemExit(f"no run config in {folder}")
    config: dict[str, Any] = yaml.safe_load(path.read_text())
    providers = config["providers"]
    providers["inference"] = [
        {
            "provider_id": "openai",
            "provider_type": "remote::openai",
            "config": {"api_key": "scripted", "base_url": model_url},
        }
    ]
    drop = {
        "remote::brave-search",
        "remote::tavily-search",
        "inline::braintrust",
        "inline::code-scanner",
    }
    for api, entries in providers.items():
        providers[api] = [e for e in entries if _enabled(e) and e.get("provider_type") not in drop]
    resources = config.setdefault("registered_resources", {})
    resources["models"] = [
        {
            "model_id": EMBEDDING_MODEL,
            "provider_id": "openai",
            "provider_model_id": EMBEDDING_MODEL,
            "model_type": "embedding",
            "metadata": {"embedding_dimension": EMBEDDING_DIM},
        }
    ]
    resources["shields"] = [
        {
            "shield_id": "llama-guard",
            "provider_id": "llama-guard",
            "provider_shield_id": f"openai/{TEXT_MODEL}",
        }
    ]
    vector_stores = config.setdefault("vector_stores", {})
    vector_stores["default_embedding_model"] = {
        "provider_id": "openai",
        "model_id": EMBEDDING_MODEL,
    }
    vector_stores.pop("default_reranker_model", None)
    text = yaml.safe_dump(config, sort_keys=False)
    text = text.replace("${env.SQLITE_STORE_DIR:=~/.llama/distributions/starter}", str(data_dir))
    text = text.replace(
        "${env.FILES_STORAGE_DIR:=~/.llama/distributions/starter/files}", str(data_dir / "files")
    )
    text = text.replace("${env.MILVUS_DB_PATH:=~/.llama/distributions/starter}", str(data_dir))
    return dict(yaml.safe_load(text))


# --- servers ----------------------------------------------------------------------------------


def free_port() -> int:
    from tests.support.stub_server import free_port as _free

    return _free()


def wait_healthy(
    url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float = 300
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited ({process.returncode}); see {log}")
        try:
            with urllib.request.urlopen(f"{url}/v1/health", timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise SystemExit(f"the server at {url} did not become healthy in {timeout_s:.0f}s; see {log}")


@contextmanager
def serve(
    command: list[str], log: Path, url: str, env: dict[str, str] | None = None
) -> Iterator[None]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            cwd=str(log.parent),
            start_new_session=True,
        )
        try:
            wait_healthy(url, process, log)
            yield
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


@contextmanager
def model_server(port: int | None = None) -> Iterator[str]:
    """The scripted model (tests/support/scripted_llm.py) with real MiniLM embeddings."""
    from tests.support.scripted_llm import ScriptedModelServer, minilm_embedder, schema_responder

    server = ScriptedModelServer(
        [TEXT_MODEL], embedder=minilm_embedder(), embedding_models=[EMBEDDING_MODEL], port=port
    )
    server.responder = schema_responder
    with server:
        yield server.base_url


def start_server(name: str, runner: Path, model_url: str, port: int) -> Any:
    """The context manager that serves `name` ("ours" or "llama-stack") on `port`."""
    folder = OUT / name
    data = folder / "data"
    if data.exists():
        shutil.rmtree(data)
    data.mkdir(parents=True)
    url = f"http://127.0.0.1:{port}"
    if name == "ours":
        config = ours_config(model_url, data)
        command = [str(ROOT / ".venv" / "bin" / "llama-workbench"), "stack", "run"]
    else:
        config = llama_stack_config(runner, model_url, data)
        command = [str(runner / "bin" / "llama"), "stack", "run"]
    run_yaml = folder / "run.yaml"
    run_yaml.write_text(yaml.safe_dump(config, sort_keys=False))
    env = {"SQLITE_STORE_DIR": str(data), "FILES_STORAGE_DIR": str(data / "files")}
    if name != "ours":
        install_provider_deps(runner, run_yaml)
        env["TIKTOKEN_CACHE_DIR"] = str(tiktoken_cache())
        # Rich's tracebacks of the suite's 400s (768-d vectors among the locals) cost ~15 s each.
        env["LLAMA_STACK_LOG_FORMAT"] = "json"
    command += [str(run_yaml), "--port", str(port)]
    return serve(command, folder / "server.log", url, env)


# --- the suite and its results ----------------------------------------------------------------


def run_module(runner: Path, module: str, port: int, out: Path, timeout_s: int) -> Path:
    """One module's tests against the server on `port`; returns the junit XML's path."""
    out.mkdir(parents=True, exist_ok=True)
    junit = out / f"{module}.xml"
    target = f"tests/integration/{MODULE_DIRS.get(module, module)}"
    command = [
        str(runner / "bin" / "python"),
        "-m",
        "pytest",
        target,
        f"--stack-config=http://127.0.0.1:{port}",
        "--inference-mode=live",
        f"--text-model=openai/{TEXT_MODEL}",
        f"--embedding-model=openai/{EMBEDDING_MODEL}",
        f"--embedding-dimension={EMBEDDING_DIM}",
        f"--judge-model=openai/{TEXT_MODEL}",
        "--safety-shield=llama-guard",
        "-p",
        "no:cacheprovider",
        f"--timeout={timeout_s}",
        "-q",
        "-rA",
        f"--junitxml={junit}",
    ]
    env = {**os.environ, "PYTHONPATH": str(SRC), "LLAMA_STACK_TEST_INFERENCE_MODE": "live"}
    with (out / f"{module}.log").open("wb") as log:
        subprocess.run(
            command, cwd=str(SRC), env=env, stdout=log, stderr=subprocess.STDOUT, check=False
        )
    return junit


OUTCOMES = ("passed", "failed", "skipped", "error")
_RANK = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}


@dataclass
class Result:
    outcome: str
    message: str = ""


def parse_junit(path: Path) -> dict[str, Result]:
    """Test id (`classname::name`) -> outcome and first line of its failure, from a junit XML.
    A test seen twice (a failing call and an erroring teardown) keeps its worse outcome."""
    results: dict[str, Result] = {}
    if not path.is_file():
        return results
    for case in ET.parse(path).getroot().iter("testcase"):
        test_id = f"{case.get('classname', '')}::{case.get('name', '')}"
        outcome, message = "passed", ""
        for child in case:
            kind = {"failure": "failed", "error": "error", "skipped": "skipped"}.get(child.tag)
            if kind and _RANK[kind] > _RANK[outcome]:
                outcome = kind
                text = (child.get("message") or child.text or "").strip()
                message = text.splitlines()[0] if text else ""
        previous = results.get(test_id)
        if previous is None or _RANK[outcome] > _RANK[previous.outcome]:
            results[test_id] = Result(outcome, message[:300])
    return results


def counts(results: dict[str, Result]) -> dict[str, int]:
    out = dict.fromkeys(OUTCOMES, 0)
    for result in results.values():
        out[result.outcome] += 1
    return out


def _failed(result: Result | None) -> bool:
    return result is not None and result.outcome in ("failed", "error")


def _passed(result: Result | None) -> bool:
    return result is not None and result.outcome == "passed"


@dataclass
class ModuleRow:
    module: str
    ours: dict[str, Result] | None
    theirs: dict[str, Result] | None
    only_ours: list[str] = field(default_factory=list)
    only_theirs: list[str] = field(default_factory=list)
    # passed on Llama Stack, skipped (or not collected) on ours
    skipped_only_ours: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.ours is not None and self.theirs is not None:
            ours, theirs = self.ours, self.theirs
            self.only_ours = sorted(t for t in ours if _failed(ours[t]) and _passed(theirs.get(t)))
            self.skipped_only_ours = sorted(
                t
                for t in theirs
                if _passed(theirs[t]) and (t not in ours or ours[t].outcome == "skipped")
            )
            self.only_theirs = sorted(
                t for t in theirs if _failed(theirs[t]) and _passed(ours.get(t))
            )


def format_table(rows: Iterable[ModuleRow]) -> str:
    """A table: per module, passed/failed/skipped/errors on ours and on Llama Stack, and the
    counts of tests that fail only on one of them (when both ran)."""

    def cell(results: dict[str, Result] | None) -> str:
        if results is None:
            return "-"
        c = counts(results)
        return f"{c['passed']}/{c['failed']}/{c['skipped']}/{c['error']}"

    rows = list(rows)
    header = ["module", "ours p/f/s/e", "llama-stack p/f/s/e", "fail only ours", "fail only theirs"]
    body = []
    total_ours: dict[str, Result] = {}
    total_theirs: dict[str, Result] = {}
    any_ours = any(r.ours is not None for r in rows)
    any_theirs = any(r.theirs is not None for r in rows)
    only_ours = only_theirs = 0
    for row in rows:
        both = row.ours is not None and row.theirs is not None
        body.append(
            [
                row.module,
                cell(row.ours),
                cell(row.theirs),
                str(len(row.only_ours)) if both else "-",
                str(len(row.only_theirs)) if both else "-",
            ]
        )
        total_ours.update({f"{row.module}/{k}": v for k, v in (row.ours or {}).items()})
        total_theirs.update({f"{row.module}/{k}": v for k, v in (row.theirs or {}).items()})
        only_ours += len(row.only_ours)
        only_theirs += len(row.only_theirs)
    body.append(
        [
            "total",
            cell(total_ours) if any_ours else "-",
            cell(total_theirs) if any_theirs else "-",
            str(only_ours),
            str(only_theirs),
        ]
    )
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    lines = [
        " | ".join(v.ljust(w) for v, w in zip(line, widths, strict=True))
        for line in [header, *body]
    ]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def collect(modules: list[str], out: Path = OUT) -> list[ModuleRow]:
    """Rows from the junit XML files the runs left in out/<server>/<module>.xml."""
    rows = []
    for module in modules:
        found: dict[str, dict[str, Result] | None] = {}
        for server in SERVERS:
            path = out / server / f"{module}.xml"
            found[server] = parse_junit(path) if path.is_file() else None
        rows.append(ModuleRow(module, found["ours"], found["llama-stack"]))
    return rows


def write_only_ours(rows: list[ModuleRow], path: Path) -> None:
    lines = []
    for row in rows:
        for test_id in row.only_ours:
            assert row.ours is not None
            lines.append(f"{row.module}\t{test_id}\t{row.ours[test_id].message}")
        for test_id in row.skipped_only_ours:
            assert row.ours is not None
            found = row.ours.get(test_id)
            why = f"skipped: {found.message}" if found else "not collected on ours"
            lines.append(f"{row.module}\t{test_id}\t{why}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + ("\n" if lines else ""))


# --- command line -----------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Results: .bench/llama-stack-suite/<server>/<module>.xml|.log, fail-only-on-ours.txt",
    )
    parser.add_argument(
        "source",
        type=Path,
        nargs="?",
        help="a Llama Stack checkout (work tree) or git dir (e.g. the fetched bare mirror); "
        "optional with --report-only or when .bench/llama-stack-src is already extracted",
    )
    parser.add_argument(
        "--ref",
        help=f"the git ref to read the tests from (default for a bare git dir: {DEFAULT_REF})",
    )
    parser.add_argument(
        "--modules", default=",".join(MODULES), help="comma-separated (default: %(default)s)"
    )
    parser.add_argument(
        "--against-llama-stack",
        action="store_true",
        help="also run them against Llama Stack 0.7.3's server",
    )
    parser.add_argument(
        "--skip-ours", action="store_true", help="do not run against our server (keep its results)"
    )
    parser.add_argument(
        "--report-only", action="store_true", help="print the table from the last runs' XML"
    )
    parser.add_argument(
        "--timeout", type=int, default=120, help="per-test timeout, seconds (default: %(default)s)"
    )
    parser.add_argument(
        "--model-port", type=int, default=0, help="the scripted model server's port (default: free)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    modules = [m.strip() for m in args.modules.split(",") if m.strip()]
    if not args.report_only:
        if args.source is not None:
            ref = args.ref
            if ref is None and not (args.source / "tests" / "integration").is_dir():
                ref = DEFAULT_REF
            extract_sources(args.source, ref)
        elif not (SRC / "tests" / "integration").is_dir():
            raise SystemExit("give the path of a Llama Stack checkout (or a git dir and --ref)")
        make_runner()
        servers = ([] if args.skip_ours else ["ours"]) + (
            ["llama-stack"] if args.against_llama_stack else []
        )
        with model_server(args.model_port or None) as model_url:
            for name in servers:
                port = free_port()
                print(f"== {name} on 127.0.0.1:{port} (model server {model_url})", flush=True)
                with start_server(name, RUNNER, model_url, port):
                    for module in modules:
                        started = time.monotonic()
                        junit = run_module(RUNNER, module, port, OUT / name, args.timeout)
                        c = counts(parse_junit(junit))
                        took = time.monotonic() - started
                        print(f"   {module}: {json.dumps(c)} in {took:.0f}s", flush=True)
    rows = collect(list(dict.fromkeys(MODULES + modules)))  # every module's latest results
    print(format_table(rows))
    only = OUT / "fail-only-on-ours.txt"
    write_only_ours(rows, only)
    skipped = sum(len(r.skipped_only_ours) for r in rows)
    if skipped:
        print(f"passed on Llama Stack but skipped or not collected on ours: {skipped}")
    if any(r.only_ours or r.skipped_only_ours for r in rows):
        print(f"those and the tests that fail only on ours: {only}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
