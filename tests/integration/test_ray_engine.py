"""Reaching Ray: `address: local` starts a private Ray (never joins another cluster), and a
`ray://` address reaches the test cluster through its Ray Client server. Each runs in a fresh
process: a process reaches one Ray cluster."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.ray_cluster import ENV, RayCluster

pytest.importorskip("ray")
pytestmark = pytest.mark.slow  # each starts a Ray driver (or a whole private Ray)

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import json, sys
from llama_workbench.core.config import StackConfig
from llama_workbench.execution.config import ExecutionConfig
from llama_workbench.execution.engine import ExecutionEngine, disconnect

settings = ExecutionConfig(engine="ray", address=sys.argv[1], connect_timeout_s=120)
engine = ExecutionEngine(settings, StackConfig.model_validate({"data_dir": sys.argv[2]}))
engine.connect_sync()
import ray

info = engine._info_now()
print(json.dumps({"gcs": ray.get_runtime_context().gcs_address, "nodes": info.nodes,
                  "cpus": info.cpus_total, "line": info.line()}))
disconnect()
"""


def connect(address: str, data_dir: Path, extra_env: dict[str, str]) -> dict[str, object]:
    env = {**os.environ, **ENV, **extra_env}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, address, str(data_dir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_local_starts_a_private_ray_even_beside_a_cluster(
    ray_head: RayCluster, tmp_path: Path
) -> None:
    # RAY_ADDRESS names the running cluster: a plain ray.init() would join it.
    seen = connect("local", tmp_path, {"RAY_ADDRESS": ray_head.address})
    assert seen["gcs"] != ray_head.address and seen["nodes"] == 1, seen
    assert str(seen["line"]).startswith("ray at local: 1 node")


def test_a_ray_client_address_reaches_the_cluster(ray_head: RayCluster, tmp_path: Path) -> None:
    seen = connect(ray_head.client_address, tmp_path, {})
    assert seen["nodes"] == 1 and seen["cpus"] == 2, seen
    assert str(seen["line"]).startswith(f"ray at {ray_head.client_address}: 1 node, CPUs ")
