"""The panel's run config becomes the kernels' (they inherit the server's environment)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llama_workbench.lab.kernels import share_with_kernels
from llama_workbench.lab.store import CONFIG_ENV
from tests.unit.lab.conftest import Fetch

RUN_YAML = "version: 2\ndistro_name: mine\napis: [inference]\nproviders:\n  inference: []\n"


@pytest.fixture
def clean_env() -> Iterator[None]:
    """No LLAMA_WORKBENCH_CONFIG during the test, and the suite's value back afterwards (the
    code under test sets it directly in os.environ, as the server does for its kernels)."""
    before = os.environ.pop(CONFIG_ENV, None)
    try:
        yield
    finally:
        os.environ.pop(CONFIG_ENV, None)
        if before is not None:
            os.environ[CONFIG_ENV] = before


@pytest.fixture
def jp_server_config(clean_env: None) -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"llama_workbench.lab": True}}}


def test_an_existing_config_is_shared(clean_env: None, tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    assert not share_with_kernels(path)  # no file yet: kernels keep their default
    assert CONFIG_ENV not in os.environ
    path.write_text(RUN_YAML)
    assert not share_with_kernels(path, enabled=False)
    assert share_with_kernels(path)
    assert os.environ[CONFIG_ENV] == str(path)


def test_a_config_the_user_chose_is_kept(clean_env: None, tmp_path: Path) -> None:
    os.environ[CONFIG_ENV] = "/elsewhere/mine.yaml"
    (tmp_path / "run.yaml").write_text(RUN_YAML)
    assert not share_with_kernels(tmp_path / "run.yaml")
    assert os.environ[CONFIG_ENV] == "/elsewhere/mine.yaml"


def test_the_first_save_points_new_kernels_at_the_file(fetch: Fetch, jp_root_dir: Path) -> None:
    assert CONFIG_ENV not in os.environ  # the server started with no run.yaml
    answer = fetch("config/distribution", method="POST", body={"distribution": "remote"})
    assert answer.code == 200, answer.text
    assert os.environ[CONFIG_ENV] == str(Path(jp_root_dir).resolve() / "run.yaml")
