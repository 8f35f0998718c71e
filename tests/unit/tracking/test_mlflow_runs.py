"""Where users are told to look at their MLflow runs."""

from __future__ import annotations

from pathlib import Path

from llama_workbench.tracking.mlflow_runs import default_tracking_uri, ui_command


def test_a_local_store_opens_with_mlflow_ui(tmp_path: Path) -> None:
    uri = default_tracking_uri(tmp_path)
    assert uri == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    assert ui_command(uri) == f"mlflow ui --backend-store-uri {uri}"


def test_a_tracking_server_is_opened_at_its_address() -> None:
    command = ui_command("http://mlflow.internal:5000")
    assert command == "open http://mlflow.internal:5000 (the MLflow tracking server)"
