"""Each widget rendered in a real JupyterLab, used through its controls in headless Chromium."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.browser import (
    browser_page,
    jupyter_lab,
    run_all_cells,
    screenshot,
    write_notebook,
)
from tests.support.stub_server import StubOpenAIServer, stub_stack_config

pytestmark = pytest.mark.slow

ECHO_QA = [
    {"question": "Say kiwi", "answer": "kiwi"},
    {"question": "Say nothing", "answer": "moa"},
]
CHUNKS = [
    {"content": "The Keldmouth light was first lit in 1794.", "chunk_id": "c1"},
    {"content": "Bees gather heather nectar in August.", "chunk_id": "c2"},
]


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("lab")
    with StubOpenAIServer(models=["m1", "e"]) as stub:
        config = stub_stack_config(
            stub.base_url,
            root / "data",
            provider_config={"embedding_models": {"e": 3}},
            vector_stores={"default_embedding_model": {"provider_id": "s", "model_id": "e"}},
            registered_resources={
                "shields": [{"shield_id": "pii", "provider_id": "pii"}],
                "datasets": [
                    {
                        "dataset_id": "echo-qa",
                        "purpose": "eval/question-answer",
                        "source": {"type": "rows", "rows": ECHO_QA},
                    }
                ],
                "benchmarks": [
                    {
                        "benchmark_id": "echo",
                        "dataset_id": "echo-qa",
                        "scoring_functions": ["basic::subset_of"],
                    }
                ],
            },
        )
        config["apis"] += ["files", "vector_io", "safety", "datasetio", "scoring", "eval"]
        config["providers"].update(
            files=[{"provider_id": "fs", "provider_type": "inline::localfs", "config": {}}],
            vector_io=[{"provider_id": "faiss", "provider_type": "inline::faiss", "config": {}}],
            safety=[{"provider_id": "pii", "provider_type": "inline::pii", "config": {}}],
            datasetio=[{"provider_id": "localfs", "provider_type": "inline::localfs"}],
            scoring=[{"provider_id": "basic", "provider_type": "inline::basic"}],
            eval=[{"provider_id": "builtin", "provider_type": "inline::builtin"}],
        )
        write_notebook(
            root / "widgets.ipynb",
            [
                "import json\nfrom llama_workbench import Stack\n"
                f"stack = Stack.from_config(json.loads({json.dumps(json.dumps(config))}))\n"
                "store = stack.vector_io.create_vector_store(name='notes')\n"
                f"stack.vector_io.insert_chunks(store.id, {CHUNKS!r})",
                "from llama_workbench.jupyter.widgets import show\nshow('chat', stack, model='s/m1')",
                "show('rag', stack)",
                "show('safety', stack)",
                "show('inspector', stack)",
                "show('eval', stack, model='s/m1')",
            ],
        )
        with jupyter_lab(root) as lab, browser_page() as p:
            p.goto(lab.open_url("widgets.ipynb"))
            run_all_cells(p)
            p.locator("[data-testid=eval-root]").wait_for(timeout=120_000)
            yield p


def test_chat_widget_streams_an_answer(page: Any) -> None:
    page.locator("[data-testid=chat-input]").fill("hello lighthouse")
    page.locator("[data-testid=chat-send]").click()
    answer = page.locator("[data-testid=chat-message][data-role=assistant]")
    answer.filter(has_text="echo: hello lighthouse").wait_for(timeout=60_000)
    screenshot(page.locator("[data-testid=chat-root]"), "widget-chat")


def test_rag_explorer_searches(page: Any) -> None:
    page.locator("[data-testid=rag-store]").first.click()
    page.locator("[data-testid=rag-mode-keyword]").click()
    page.locator("[data-testid=rag-query]").fill("heather")
    page.locator("[data-testid=rag-search]").click()
    first = page.locator("[data-testid=rag-result]").first
    first.wait_for(timeout=60_000)
    assert "heather" in first.locator("[data-testid=rag-result-text]").inner_text()
    screenshot(page.locator("[data-testid=rag-root]"), "widget-rag")


def test_safety_panel_shows_a_violation(page: Any) -> None:
    page.locator("[data-testid=safety-shield]").select_option("pii")
    page.locator("[data-testid=safety-text]").fill("write to jo@acme-mail.com")
    page.locator("[data-testid=safety-run]").click()
    result = page.locator("[data-testid=safety-result][data-level=error]")
    result.wait_for(timeout=60_000)
    assert "personal data" in result.inner_text()
    screenshot(page.locator("[data-testid=safety-root]"), "widget-safety")


def test_inspector_shows_the_stack_without_secrets(page: Any) -> None:
    apis = page.locator("[data-testid=inspector-api]")
    assert apis.count() >= 4
    assert page.locator("[data-testid=inspector-resource][data-kind=shield]").count() == 1
    screenshot(page.locator("[data-testid=inspector-root]"), "widget-inspector")


def test_eval_dashboard_runs_a_benchmark(page: Any) -> None:
    page.locator("[data-testid=eval-benchmark]").select_option("echo")
    page.locator("[data-testid=eval-run]").click()
    page.locator("[data-testid=eval-status][data-status=completed]").wait_for(timeout=120_000)
    assert page.locator("[data-testid=eval-row]").count() == 2
    bar = page.locator("[data-testid=eval-bar][data-metric='basic::subset_of/accuracy']")
    assert bar.get_attribute("data-value") == "0.5"
    assert "mlflow ui --backend-store-uri" in page.locator("[data-testid=eval-mlflow]").inner_text()
    screenshot(page.locator("[data-testid=eval-root]"), "widget-eval")
