"""`%llama finetune --monitor` in a real JupyterLab: the FineTuneMonitor's live loss curve while
LoRA trains SmolLM2, then a question to the fine-tuned model, in headless Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.support.browser import (
    browser_page,
    jupyter_lab,
    run_all_cells,
    screenshot,
    write_notebook,
)
from tests.support.finetune import DATA, finetune_config, models_cache

pytestmark = pytest.mark.slow


def test_finetune_monitor_shows_the_curve_and_chats(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    config = finetune_config(tmp_path / "data", models_cache(request, tmp_path / "models"))
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(config))
    write_notebook(
        tmp_path / "finetune.ipynb",
        [
            "%load_ext llama_workbench",
            f"%llama finetune {DATA / 'veltmora.jsonl'} --job-id lab-ft --epochs 3 --monitor "
            "--max-seq-len 64 --batch-size 2 --lr 1e-3",
        ],
    )
    env = {"LLAMA_WORKBENCH_CONFIG": str(tmp_path / "run.yaml")}
    with jupyter_lab(tmp_path, env=env) as lab, browser_page() as page:
        page.goto(lab.open_url("finetune.ipynb"))
        run_all_cells(page)
        root = page.locator("[data-testid=ft-root]")
        root.wait_for(timeout=180_000)
        # Points arrive while the job trains (12 steps): the curve grows live.
        page.locator("[data-testid=ft-status][data-status=in_progress]").wait_for(timeout=180_000)
        curve = page.locator("[data-testid=ft-curve]")
        page.wait_for_function(
            "() => Number(document.querySelector('[data-testid=ft-curve]')"
            "?.dataset.points || 0) >= 2",
            timeout=180_000,
        )
        assert page.locator("[data-testid=ft-cancel]").is_visible()
        screenshot(root, "widget-finetune-training")
        page.locator("[data-testid=ft-status][data-status=completed]").wait_for(timeout=300_000)
        assert curve.get_attribute("data-points") == "12"
        assert "lab-ft" in page.locator("[data-testid=ft-model]").inner_text()
        assert (
            "mlflow ui --backend-store-uri" in page.locator("[data-testid=ft-mlflow]").inner_text()
        )
        page.locator("[data-testid=ft-prompt]").fill("What is the capital of Veltmora?")
        page.locator("[data-testid=ft-ask]").click()
        base = page.locator("[data-testid=ft-answer] [data-testid=ft-base]")
        page.wait_for_function(
            "() => { const b = document.querySelector('[data-testid=ft-answer] [data-testid=ft-base]');"
            " return b && !b.textContent.endsWith('…'); }",
            timeout=120_000,
        )
        tuned = page.locator("[data-testid=ft-answer] [data-testid=ft-tuned]").inner_text()
        assert tuned.startswith("tuned: ") and len(tuned) > len("tuned: ") + 2
        assert base.inner_text().startswith("base: ")
        screenshot(root, "widget-finetune")
