"""A real JupyterLab on 127.0.0.1 and Debian's Chromium driven by Playwright (no browser download)."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.stub_server import free_port

ARTIFACTS = Path(__file__).resolve().parents[2] / ".out" / "screenshots"
# What Chromium needs here: no sandbox as root, and no background connections (the network is
# closed; they would be refused, many at a time).
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str:
    """Debian's chromium, installed by the test setup when missing (CI starts without it)."""
    found = shutil.which("chromium")
    if found:
        return found
    if os.geteuid() != 0:
        pytest.fail("Debian's chromium is not installed: apt-get install chromium", pytrace=False)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            pytest.fail(f"`{' '.join(cmd)}` failed:\n{done.stderr[-2000:]}", pytrace=False)
    found = shutil.which("chromium")
    assert found, "chromium was installed but is not on PATH"
    return found


@dataclass(frozen=True)
class Lab:
    url: str
    token: str
    root: Path

    def open_url(self, path: str) -> str:
        return f"{self.url}/lab/tree/{path}?token={self.token}"


@contextlib.contextmanager
def jupyter_lab(root: Path, env: dict[str, str] | None = None) -> Iterator[Lab]:
    """`jupyter lab` on a free port of 127.0.0.1, serving `root`; stopped afterwards."""
    port, token = free_port(), secrets.token_hex(16)
    cmd = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--allow-root",
        f"--ServerApp.port={port}",
        "--ServerApp.ip=127.0.0.1",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    # Fresh user settings, answering JupyterLab's "get notified about news?" toast (no) so it
    # covers nothing in the screenshots, and fresh workspaces: otherwise Lab reopens the
    # documents and panels of an earlier test's Lab (~/.jupyter/lab/workspaces) and starts their
    # kernels at once.
    settings = root / ".lab-settings"
    notification = (
        settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    )
    notification.parent.mkdir(parents=True, exist_ok=True)
    notification.write_text(json.dumps({"fetchNews": "false"}))
    log = (root / "jupyter.log").open("w")
    proc = subprocess.Popen(
        cmd,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={
            **os.environ,
            "JUPYTERLAB_SETTINGS_DIR": str(settings),
            "JUPYTERLAB_WORKSPACES_DIR": str(root / ".lab-workspaces"),
            **(env or {}),
        },
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if (
                    httpx.get(f"{url}/api/status", params={"token": token}, timeout=2).status_code
                    == 200
                ):
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"jupyter lab did not start:\n{(root / 'jupyter.log').read_text()[-3000:]}"
                )
            time.sleep(0.3)
        yield Lab(url, token, root)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def write_notebook(path: Path, cells: list[str]) -> None:
    """A notebook of code cells (nbformat 4), ready for JupyterLab to open."""
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "metadata": {},
                "outputs": [],
                "source": c,
            }
            for c in cells
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook))


@contextlib.contextmanager
def browser_page() -> Iterator[Any]:
    """A Playwright page in headless Debian Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            yield page
        finally:
            browser.close()


def run_all_cells(page: Any) -> None:
    """Run every cell the way a user does (the Run menu, Run All Cells), once the kernel is up."""
    page.locator(".jp-Notebook").first.wait_for(timeout=120_000)
    # Cells run before the kernel is connected are dropped: wait for the status bar's "Idle".
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=120_000)
    started = page.locator(".jp-InputPrompt", has_text="[1]")
    for _ in range(3):
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        try:
            started.first.wait_for(timeout=20_000)
            return
        except Exception:  # the kernel was still settling: ask again
            continue
    raise AssertionError("JupyterLab did not run the notebook's cells")


def screenshot(target: Any, name: str) -> Path:
    """A PNG of a page (whole) or of one element, kept under .out/screenshots as an artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    options = {"full_page": True} if hasattr(target, "goto") else {}
    target.screenshot(path=str(path), **options)
    return path
