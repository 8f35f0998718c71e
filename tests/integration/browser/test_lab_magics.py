"""The magics in a real JupyterLab, run from its Run menu in headless Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.browser import (
    browser_page,
    jupyter_lab,
    run_all_cells,
    screenshot,
    write_notebook,
)

pytestmark = pytest.mark.slow


def test_magics_render_in_jupyterlab(tmp_path: Path) -> None:
    write_notebook(
        tmp_path / "magics.ipynb",
        [
            "%load_ext llama_workbench",
            "%llama --help",
            "%llama shield pii 'mail me at jo@acme-mail.com'",
        ],
    )
    env = {"LLAMA_WORKBENCH_DATA_DIR": str(tmp_path / "data")}
    with jupyter_lab(tmp_path, env) as lab, browser_page() as page:
        page.goto(lab.open_url("magics.ipynb"))
        try:
            run_all_cells(page)
            page.locator(".jp-OutputArea-output", has_text="personal data (email)").wait_for(
                timeout=120_000
            )
            assert page.locator(".jp-OutputArea-output", has_text="Subcommands").count() == 1
        finally:
            screenshot(page, "magics")
