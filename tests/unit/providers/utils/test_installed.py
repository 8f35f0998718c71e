"""Which optional packages are installed, looked up as pip names them (not by import name)."""

from __future__ import annotations

import importlib.metadata

import pytest

from llama_workbench.cli import main
from llama_workbench.providers.registry import default_registry
from llama_workbench.providers.utils.installed import distributions_installed


def test_pip_names_whose_import_name_differs_are_found() -> None:
    # faiss-cpu imports as faiss, qdrant-client as qdrant_client, pysqlite3-binary as pysqlite3.
    assert distributions_installed(["faiss-cpu", "qdrant-client", "sqlite-vec", "pysqlite3-binary"])
    assert distributions_installed(["elasticsearch[async]"])  # extras name the same distribution
    assert not distributions_installed(["faiss-cpu", "no-such-distribution-here"])


def test_list_providers_says_installed_for_what_is(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stack", "list-providers", "vector_io"]) == 0
    rows = {line.split()[1]: line for line in capsys.readouterr().out.splitlines()[2:]}
    for spec in default_registry().list():
        if spec.provider_type not in rows or spec.api.value != "vector_io":
            continue
        try:
            for name in spec.pip_packages:
                importlib.metadata.distribution(name.split("[")[0])
            expected = "yes"
        except importlib.metadata.PackageNotFoundError:
            expected = "pip install"
        assert expected in rows[spec.provider_type], rows[spec.provider_type]
    for provider_type in ("inline::faiss", "inline::sqlite-vec", "remote::qdrant"):
        assert rows[provider_type].split()[2] == "yes"  # the dev environment installs them
