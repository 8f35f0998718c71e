"""The `llama-workbench` command line, run as users run it (a subprocess)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.support.stub_server import StubOpenAIServer, free_port

CLI = [sys.executable, "-m", "llama_workbench.cli"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120, env=env)


def test_list_distributions() -> None:
    out = run("stack", "list")
    assert out.returncode == 0
    assert (
        "starter" in out.stdout
        and "remote" in out.stdout
        and "offline embedded default" in out.stdout
    )


def test_list_apis_and_providers() -> None:
    assert "inference" in run("stack", "list-apis").stdout
    providers = run("stack", "list-providers", "inference")
    assert providers.returncode == 0
    for provider_type in (
        "inline::transformers",
        "inline::sentence-transformers",
        "remote::vllm",
        "remote::llama-stack",
    ):
        assert provider_type in providers.stdout


def test_unknown_api_is_one_line() -> None:
    out = run("stack", "list-providers", "infrence")
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.strip().count("\n") == 0 and "Unknown API 'infrence'" in out.stderr


def test_show_config_and_unknown_distribution() -> None:
    assert "provider_type: inline::transformers" in run("stack", "show-config", "starter").stdout
    out = run("stack", "show-config", "nope")
    assert out.returncode == 1
    assert out.stderr.strip() == (
        "llama-workbench: NotFoundError: Distribution 'nope' not found. Available: remote, starter. "
        "Pass a path to a run config for anything else."
    )


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("stack",),
        ("stack", "run"),
        ("stack", "list"),
        ("stack", "list-apis"),
        ("stack", "list-providers"),
        ("stack", "show-config"),
        ("stack", "openapi"),
    ],
)
def test_help_everywhere(args: tuple[str, ...]) -> None:
    out = run(*args, "--help")
    assert out.returncode == 0 and out.stdout.startswith("usage: llama-workbench")


def test_bad_config_is_one_clear_message(tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(
        "version: 2\napis: [inference]\nproviders:\n  inference:\n  - provider_id: x\n    provider_type: remote::nope\n"
    )
    out = run("stack", "run", str(config))
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "run.yaml:6: providers.inference[0].provider_type" in out.stderr


def test_openapi_command(tmp_path: Path) -> None:
    target = tmp_path / "openapi.json"
    env = {**os.environ, "LLAMA_WORKBENCH_HOME": str(tmp_path / "home")}
    assert run("stack", "openapi", "starter", "-o", str(target), env=env).returncode == 0
    doc = json.loads(target.read_text())
    assert {"/v1/models", "/v1/chat/completions", "/v1/embeddings", "/v1/health"} <= set(
        doc["paths"]
    )


def test_stack_run_serves_and_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    """SIGTERM lets the request in flight finish before the server exits."""
    with StubOpenAIServer(models=["m"]) as stub:
        port = free_port()
        config = tmp_path / "run.yaml"
        config.write_text(
            f"version: 2\ndata_dir: {tmp_path / 'data'}\napis: [inference]\nproviders:\n  inference:\n"
            f"  - provider_id: s\n    provider_type: remote::vllm\n    config: {{base_url: '{stub.base_url}'}}\n"
        )
        proc = subprocess.Popen(
            [*CLI, "stack", "run", str(config), "--port", str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{base}/v1/health").status_code == 200:
                        break
                except httpx.TransportError:
                    threading.Event().wait(0.05)
            assert httpx.get(f"{base}/v1/models").json()["data"][0]["id"] == "s/m"  # listing cached
            stub.fail_next(
                200,
                json.dumps(
                    {
                        "id": "c",
                        "object": "chat.completion",
                        "created": 0,
                        "model": "m",
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": "late"},
                                "finish_reason": "stop",
                            }
                        ],
                    }
                ),
                delay_s=1.0,
            )
            answer: list[httpx.Response] = []
            body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
            slow = threading.Thread(
                target=lambda: answer.append(
                    httpx.post(f"{base}/v1/chat/completions", json=body, timeout=30)
                )
            )
            slow.start()
            target = len(stub.requests) + 1
            while len(stub.requests) < target and time.monotonic() < deadline:
                threading.Event().wait(
                    0.01
                )  # the request has reached the upstream: it is in flight
            proc.send_signal(signal.SIGTERM)
            slow.join(30)
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
        assert (
            answer
            and answer[0].status_code == 200
            and answer[0].json()["choices"][0]["message"]["content"] == "late"
        )
        assert f"serving 'custom' on http://127.0.0.1:{port}" in proc.stdout.read()  # type: ignore[union-attr]


def _notebook(path: Path, cells: list[str], parameters: str) -> None:
    import nbformat

    book = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    book.cells = [params, *(nbformat.v4.new_code_cell(c) for c in cells)]
    book.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(book, path)


def test_pipeline_run_passes_parameters_and_stops_on_a_failing_cell(tmp_path: Path) -> None:
    good = tmp_path / "good.ipynb"
    _notebook(good, ["print(f'{n * 2} {name}')"], "n = 1\nname = 'x'")
    out = run(
        "pipeline",
        "run",
        str(good),
        "-p",
        "n",
        "21",
        "-p",
        "name",
        "kelp",
        "-o",
        str(tmp_path / "out"),
    )
    assert out.returncode == 0, out.stderr
    assert f"{good} -> {tmp_path / 'out' / 'good.ipynb'}" in out.stdout
    # The kernel talks over private Unix sockets: no TCP ports, no warning about them.
    assert "TCP" not in out.stderr, out.stderr
    import nbformat

    executed = nbformat.read(tmp_path / "out" / "good.ipynb", as_version=4)
    assert executed.cells[-1].outputs[0]["text"] == "42 kelp\n"
    bad = tmp_path / "bad.ipynb"
    _notebook(bad, ["x = 1", "raise ValueError(f'bad value {x}')", "print('never')"], "")
    out = run("pipeline", "run", str(bad), str(good), "-o", str(tmp_path / "out"))
    assert out.returncode == 1 and out.stdout == ""
    assert "bad.ipynb failed at cell 3 (execution 2): ValueError: bad value 1" in out.stderr
    assert "raise ValueError(f'bad value {x}')" in out.stderr
    missing = run("pipeline", "run", str(tmp_path / "nope.ipynb"))
    assert missing.returncode == 1 and "No notebook at" in missing.stderr
    assert run("pipeline", "run", "--help").returncode == 0
