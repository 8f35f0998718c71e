"""The "Llama Stack" panel in a real JupyterLab, driven in headless Chromium like a user would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from llama_workbench.distributions import distribution_path
from tests.support.browser import (
    browser_page,
    jupyter_lab,
    run_all_cells,
    screenshot,
    write_notebook,
)
from tests.support.stub_server import StubOpenAIServer

pytestmark = pytest.mark.slow

API_KEY = "sk-stub-4242"


def open_from_palette(page: Any, panel: Any) -> None:
    """Ctrl+Shift+C, the command's label, Enter, once Lab has restored its workspace.

    Lab restores the workspace after the plugins activate, and the modal palette closes when
    something takes the focus, so the launcher (shown once restoring ends) is awaited first and
    the whole gesture is repeated until the panel shows.
    """
    page.locator(".jp-LauncherCard").first.wait_for(timeout=120_000)
    palette = page.locator(".lm-CommandPalette-input")
    item = page.locator(".lm-CommandPalette-item", has_text="Open the Llama Stack panel")
    for _ in range(6):
        try:
            page.keyboard.press("Escape")
            page.keyboard.press("Control+Shift+C")
            palette.wait_for(state="visible", timeout=10_000)
            palette.fill("Open the Llama Stack panel", timeout=10_000)
            item.first.click(timeout=10_000)
            panel.get_by_text("Run config:").wait_for(timeout=15_000)
            return
        except Exception:  # Lab was still settling: do it again
            continue
    raise AssertionError("the command palette did not open the Llama Stack panel")


def test_add_an_openai_compatible_provider_from_the_panel(tmp_path: Path) -> None:
    run_yaml = tmp_path / "run.yaml"
    # A kernel opened after the save: its magics use the file the panel wrote.
    write_notebook(tmp_path / "check.ipynb", ["%load_ext llama_workbench", "%llama config"])
    with (
        StubOpenAIServer(models=["stub-chat", "stub-embed"], api_key=API_KEY) as server,
        jupyter_lab(tmp_path, env={"LLAMA_WORKBENCH_CONFIG": ""}) as lab,
        browser_page() as page,
    ):
        page.goto(f"{lab.url}/lab?token={lab.token}")
        panel = page.locator("#llama-workbench-panel")
        # The plugin is active once its (hidden) sidebar panel is in the page.
        panel.wait_for(state="attached", timeout=120_000)
        open_from_palette(page, panel)
        assert "does not exist yet" in panel.inner_text()

        try:
            # Start from the remote distribution.
            panel.get_by_label("Distribution").select_option("remote")
            panel.get_by_role("button", name="Start from distribution").click()
            panel.locator('[data-api="inference"] [data-provider-id="vllm"]').wait_for()
            assert run_yaml.read_text() == distribution_path("remote").read_text()

            # Add an OpenAI-compatible provider pointing at the stub server.
            panel.get_by_label("API", exact=True).select_option("inference")
            panel.get_by_label("Provider type").select_option("remote::openai")
            panel.get_by_role("button", name="Add provider").click()
            editor = panel.locator(".lw-editor")
            editor.locator('[name="provider_id"]').fill("stub")
            editor.locator('[name="base_url"]').fill(server.base_url)
            key = editor.locator('[name="api_key"]')
            assert key.get_attribute("type") == "password"
            key.fill(API_KEY)

            # Test connection: the stub's models are listed.
            editor.get_by_role("button", name="Test connection").click()
            editor.get_by_text("Connected: 2 model(s)").wait_for(timeout=30_000)
            assert editor.locator(".lw-models li").all_inner_texts() == ["stub-chat", "stub-embed"]
            screenshot(editor, "lab-extension-test-connection")

            # A bad value is shown next to its field, and nothing is saved.
            editor.locator('[name="max_retries"]').fill("50")
            editor.get_by_role("button", name="Save").click()
            field_error = editor.locator('[data-field="max_retries"] .lw-field-error')
            field_error.get_by_text("less than or equal to 10").wait_for(timeout=30_000)
            assert run_yaml.read_text() == distribution_path("remote").read_text()
            screenshot(editor, "lab-extension-field-error")

            # Save: the YAML on disk changes and the previous one is kept as a backup.
            editor.locator('[name="max_retries"]').fill("2")
            editor.get_by_role("button", name="Save").click()
            panel.get_by_text("Saved run.yaml (previous version: run.yaml.bak)").wait_for(
                timeout=30_000
            )
            row = panel.locator('[data-api="inference"] [data-provider-id="stub"]')
            row.wait_for()
            assert "remote::openai" in row.inner_text() and "ok" in row.inner_text()
            screenshot(page, "lab-extension-saved")

            # Kernels started from now on use the panel's run config.
            page.goto(lab.open_url("check.ipynb"))
            run_all_cells(page)
            page.get_by_text(f"Using '{run_yaml.resolve()}'").wait_for(timeout=60_000)
        except Exception:
            screenshot(page, "lab-extension-failure")
            raise

    saved = yaml.safe_load(run_yaml.read_text())
    stub = next(p for p in saved["providers"]["inference"] if p["provider_id"] == "stub")
    assert stub == {
        "provider_id": "stub",
        "provider_type": "remote::openai",
        "config": {"base_url": server.base_url, "api_key": API_KEY},
    }
    # The distribution's env references are still references.
    vllm = next(p for p in saved["providers"]["inference"] if p["provider_id"] == "vllm")
    assert vllm["config"]["base_url"] == "${env.VLLM_URL:=http://localhost:8000/v1}"
    backup = tmp_path / "run.yaml.bak"
    assert backup.read_text() == distribution_path("remote").read_text()
    assert API_KEY not in (tmp_path / "jupyter.log").read_text()
