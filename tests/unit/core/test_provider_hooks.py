"""What providers get instead of importing the tracking package: a run tracker in their deps
(core/run_tracking.py) and the outgoing headers hook (core/outbound_headers.py)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from llama_workbench.core import outbound_headers
from llama_workbench.core.datatypes import Api, ProviderDeps
from llama_workbench.core.errors import ConfigError
from llama_workbench.providers.inline.eval.builtin import BuiltinEvalConfig
from llama_workbench.providers.inline.eval.builtin.impl import BuiltinEval
from llama_workbench.storage.config import StorageConfig
from llama_workbench.storage.manager import StorageManager
from llama_workbench.tracking.mlflow_runs import MlflowRunTracker, default_tracking_uri


def _deps(tmp_path: Path, tracker: MlflowRunTracker | None) -> ProviderDeps:
    apis = {Api.inference: object(), Api.datasetio: object(), Api.scoring: object()}
    storage = StorageManager(StorageConfig(), tmp_path)
    return ProviderDeps("eval", apis, storage, tmp_path, tracker=tracker)


def test_a_provider_logs_runs_through_the_tracker_it_is_given(tmp_path: Path) -> None:
    tracker = MlflowRunTracker()
    provider = BuiltinEval(BuiltinEvalConfig(), _deps(tmp_path, tracker))
    assert provider.tracking_uri == default_tracking_uri(tmp_path) == tracker.default_uri(tmp_path)
    assert tracker.flatten_metrics({"fn": {"accuracy": {"accuracy": 0.5}}}) == {"fn/accuracy": 0.5}
    # Stateless: a job may carry it to another process (a Ray worker) and open its run there.
    assert isinstance(pickle.loads(pickle.dumps(tracker)), MlflowRunTracker)


def test_without_a_tracker_mlflow_must_be_off(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"mlflow\.enabled needs a run tracker"):
        BuiltinEval(BuiltinEvalConfig(), _deps(tmp_path, None))
    alone = BuiltinEval(
        BuiltinEvalConfig.model_validate({"mlflow": {"enabled": False}}), _deps(tmp_path, None)
    )
    with pytest.raises(ConfigError, match="no run tracker"):
        _ = alone.tracking_uri


def test_outgoing_headers_come_from_every_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outbound_headers, "_sources", [])
    assert outbound_headers.outbound_headers() is None

    def trace() -> dict[str, str]:
        return {"traceparent": "00-ab-cd-01"}

    outbound_headers.add_source(trace)
    outbound_headers.add_source(trace)  # once
    outbound_headers.add_source(lambda: None)
    outbound_headers.add_source(lambda: {"x-tenant": "t1"})
    assert outbound_headers.outbound_headers() == {"traceparent": "00-ab-cd-01", "x-tenant": "t1"}
    assert len(outbound_headers._sources) == 3
