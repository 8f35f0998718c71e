"""A real local Ray cluster for tests: `ray start --head --block` with free ports, stopped after."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.stub_server import free_port

# Token auth off (a loopback test cluster); no usage report.
ENV = {
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
    # The raylet registers once its helper processes run: on 2 busy cores that takes > 30 s.
    "RAY_raylet_start_wait_time_s": "120",
}
START_LIMIT_S = 120.0


@dataclass(frozen=True)
class RayCluster:
    address: str  # the GCS, host:port
    temp_dir: Path
    process: subprocess.Popen[bytes]
    client_address: str  # its Ray Client server, ray://host:port

    def processes(self) -> list[int]:
        """Pids of this cluster's processes (their command lines name its temp dir or port)."""
        marks = (str(self.temp_dir), self.address)
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if any(mark in cmdline for mark in marks):
                found.append(int(entry.name))
        return found

    def worker_pids(self, name: str) -> list[int]:
        """Pids of the Ray worker processes whose title names `name` (an actor's class)."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
                environ = (entry / "environ").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if name in cmdline and str(self.temp_dir) in environ + cmdline:
                pids.append(int(entry.name))
        return pids


@contextmanager
def ray_cluster(temp_dir: Path, num_cpus: int = 2, tries: int = 2) -> Iterator[RayCluster]:
    """Start a head node on 127.0.0.1 (every port free and chosen here), yield it, stop it.

    Ray gives its raylet 30 s to register (fixed); on 2 busy cores its helper processes can take
    longer to start, so a start that times out is tried again."""
    for attempt in range(tries):
        try:
            cluster = _start(temp_dir / f"try{attempt}", num_cpus)
            break
        except RuntimeError:
            if attempt == tries - 1:
                raise
    try:
        yield cluster
    finally:
        _stop(cluster)


def _start(temp_dir: Path, num_cpus: int) -> RayCluster:
    temp_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    ports = [free_port() for _ in range(6)]
    ray = str(Path(sys.executable).with_name("ray"))
    command = [
        ray, "start", "--head", "--block", "--disable-usage-stats",
        f"--num-cpus={num_cpus}", f"--temp-dir={temp_dir}", "--include-dashboard=false",
        "--object-store-memory=100000000", "--include-log-monitor=false",
        "--node-ip-address=127.0.0.1", f"--port={port}",
        f"--ray-client-server-port={ports[0]}", f"--dashboard-agent-listen-port={ports[1]}",
        f"--dashboard-agent-grpc-port={ports[2]}", f"--runtime-env-agent-port={ports[3]}",
        f"--metrics-export-port={ports[4]}", f"--node-manager-port={ports[5]}",
    ]  # fmt: skip
    log = (temp_dir / "ray_start.log").open("wb")
    env = {**os.environ, **ENV, "RAY_TMPDIR": str(temp_dir)}
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    log.close()
    cluster = RayCluster(f"127.0.0.1:{port}", temp_dir, process, f"ray://127.0.0.1:{ports[0]}")
    try:
        _wait_ready(cluster, temp_dir / "ray_start.log")
    except BaseException:
        _stop(cluster)
        raise
    return cluster


def _wait_ready(cluster: RayCluster, log: Path) -> None:
    deadline = time.monotonic() + START_LIMIT_S
    while time.monotonic() < deadline:
        if cluster.process.poll() is not None:
            raise RuntimeError(f"ray start exited: {log.read_text()[-2000:]}")
        if "--block" in log.read_text() and _accepts(cluster.address):
            return
        time.sleep(0.5)
    raise RuntimeError(f"ray start not ready in {START_LIMIT_S:g} s: {log.read_text()[-2000:]}")


def _accepts(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


def _stop(cluster: RayCluster) -> None:
    """SIGTERM to `ray start`'s group (it and what it started), then any of ours left, by pid.

    A test cluster keeps nothing: 2 s of grace (its default of 5 s always ran out here)."""
    if cluster.process.poll() is None:
        os.killpg(cluster.process.pid, signal.SIGTERM)
        try:
            cluster.process.wait(2)
        except subprocess.TimeoutExpired:
            os.killpg(cluster.process.pid, signal.SIGKILL)
            cluster.process.wait(5)
    deadline = time.monotonic() + 3
    while cluster.processes() and time.monotonic() < deadline:
        time.sleep(0.5)
    for pid in cluster.processes():
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def ray_head(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayCluster]:
    """One local Ray cluster for the whole session (started on first use, ~20 s here)."""
    from llama_workbench.execution.engine import disconnect

    saved = {k: os.environ.get(k) for k in ENV}
    os.environ.update(ENV)  # this process connects to it as a driver
    # A short path: Ray's socket paths must stay under the 107-byte limit of AF_UNIX.
    temp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))
    try:
        with ray_cluster(temp) as cluster:
            yield cluster
            disconnect()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(temp, ignore_errors=True)
