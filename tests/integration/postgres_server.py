"""Session fixtures that run a real PostgreSQL on 127.0.0.1 (a free port, a temp dir)."""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

SUPERUSER = "postgres"
# Characters that must be escaped in a URL: the stores have to pass it through intact.
PASSWORD = "pw@:/%" + secrets.token_hex(4)


@dataclass(frozen=True)
class PostgresServer:
    """Where the test server listens, and the superuser's credentials."""

    host: str
    port: int
    user: str
    password: str
    bin_dir: Path
    data_dir: Path

    def connection(self, db: str) -> dict[str, object]:
        """The connection fields of a store's or provider's config, for database `db`."""
        return {
            "host": self.host, "port": self.port, "db": db,
            "user": self.user, "password": self.password,
        }  # fmt: skip


@asynccontextmanager
async def fresh_database(server: PostgresServer) -> AsyncIterator[str]:
    """A new database on `server` for the block, dropped afterwards (connections and all)."""
    import asyncpg

    name = f"t_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(
        host=server.host, port=server.port, user=server.user,
        password=server.password, database="postgres",
    )  # fmt: skip
    try:
        await admin.execute(f"CREATE DATABASE {name}")
        yield name
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await admin.close()


def _is_root() -> bool:
    return os.geteuid() == 0


def _find_bin_dir() -> Path | None:
    def version(path: str) -> int:
        name = Path(path).parent.name
        return int(name) if name.isdigit() else 0

    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version)
    for candidate in reversed(candidates):
        if Path(candidate, "pg_ctl").exists() and Path(candidate, "initdb").exists():
            return Path(candidate)
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path and shutil.which("initdb") else None


def _install_postgres() -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "postgresql"]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            pytest.fail(f"`{' '.join(cmd)}` failed:\n{done.stderr[-2000:]}", pytrace=False)


def _locate_or_install() -> Path:
    bin_dir = _find_bin_dir()
    if bin_dir is None and _is_root() and shutil.which("apt-get"):
        _install_postgres()
        bin_dir = _find_bin_dir()
    if bin_dir is None:
        pytest.fail(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin, no pg_ctl on PATH) and "
            "could not be installed (needs root and apt-get): install the `postgresql` package.",
            pytrace=False,
        )
    return bin_dir


def _as_server_user(cmd: list[str]) -> list[str]:
    """Postgres refuses to run as root: as root, run its tools as the `postgres` user."""
    if not _is_root():
        return cmd
    if shutil.which("runuser"):
        return ["runuser", "-u", SUPERUSER, "--", *cmd]
    return ["su", SUPERUSER, "-s", "/bin/sh", "-c", subprocess.list2cmdline(cmd)]


def _run(cmd: list[str], what: str, log: Path | None = None, *, retryable: str = "") -> bool:
    """Run a server tool; False if it failed with `retryable` in the log, else fail the test."""
    done = subprocess.run(_as_server_user(cmd), capture_output=True, text=True, timeout=120)
    if done.returncode == 0:
        return True
    server_log = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    if retryable and retryable in server_log:
        return False
    pytest.fail(
        f"Could not start the test PostgreSQL: {what} failed (exit {done.returncode}).\n"
        f"command: {' '.join(cmd)}\nstdout: {done.stdout[-2000:]}\n"
        f"stderr: {done.stderr[-2000:]}\nserver log:\n{server_log}",
        pytrace=False,
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _make_workdir() -> Path:
    # Not pytest's tmp_path: that lives in a root-only (0700) tree the postgres user can't enter.
    workdir = Path(tempfile.mkdtemp(prefix="llw-postgres-"))
    if _is_root():
        shutil.chown(workdir, user=SUPERUSER, group=SUPERUSER)
    return workdir


def _init_cluster(bin_dir: Path, workdir: Path) -> Path:
    data_dir = workdir / "data"
    pwfile = workdir / "pwfile"
    pwfile.write_text(PASSWORD + "\n")
    if _is_root():
        shutil.chown(pwfile, user=SUPERUSER, group=SUPERUSER)
    pwfile.chmod(0o600)
    _run(
        [str(bin_dir / "initdb"), "-D", str(data_dir), "-U", SUPERUSER, f"--pwfile={pwfile}",
         "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale"],
        "initdb",
    )  # fmt: skip
    pwfile.unlink()
    return data_dir


def _start(bin_dir: Path, data_dir: Path, log: Path) -> int:
    """Start the server on a free port (another one if that port got taken); the port."""
    for attempt in range(3):
        port = _free_port()
        # Durability is pointless for a throwaway server; these make it much faster.
        options = (
            f"-h 127.0.0.1 -p {port} -k {data_dir} -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=100 -c shared_buffers=32MB"
        )
        cmd = [str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-l", str(log), "-o", options]
        retryable = "Address already in use" if attempt < 2 else ""
        if _run([*cmd, "-w", "-t", "60", "start"], "pg_ctl start", log, retryable=retryable):
            return port
    raise AssertionError("unreachable: the last attempt fails the test")


def _stop(bin_dir: Path, data_dir: Path) -> None:
    if (data_dir / "postmaster.pid").exists():
        subprocess.run(
            _as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-m", "fast", "stop"]),
            capture_output=True,
            timeout=120,
        )


def _pgserver_bin_dir() -> Path:
    """The PostgreSQL of the `pgserver` package: it has pgvector, which Debian's apt lacks."""
    try:
        import pgserver
    except ImportError:
        pytest.fail(
            "The pgvector tests need the `pgserver` package (a dev dependency): "
            "pip install pgserver",
            pytrace=False,
        )
    return Path(pgserver.__file__).parent / "pginstall" / "bin"


def _server_user_can_run(bin_dir: Path) -> bool:
    cmd = _as_server_user([str(bin_dir / "postgres"), "--version"])
    return subprocess.run(cmd, capture_output=True, timeout=60).returncode == 0


def _runnable_copy(bin_dir: Path) -> tuple[Path, Path | None]:
    """`bin_dir`, or a copy of its install tree the postgres user can read (and that copy)."""
    if _server_user_can_run(bin_dir):
        return bin_dir, None
    # The install may sit in a tree only root can enter (a venv under a 0700 home, say). It is
    # relocatable; its binaries find libpq at $ORIGIN/../../../pgserver.libs, so that moves too.
    install = bin_dir.parent
    copy_root = Path(tempfile.mkdtemp(prefix="llw-pginstall-"))
    copy_root.chmod(0o755)
    shutil.copytree(install, copy_root / install.parent.name / install.name)
    libs = install.parent.parent / f"{install.parent.name}.libs"
    if libs.is_dir():
        shutil.copytree(libs, copy_root / libs.name)
    return copy_root / install.parent.name / install.name / "bin", copy_root


@contextmanager
def _serve(bin_dir: Path) -> Iterator[PostgresServer]:
    """A server from `bin_dir` until the block ends; then stopped and its files removed."""
    workdir = _make_workdir()
    data_dir = workdir / "data"
    try:
        _init_cluster(bin_dir, workdir)
        port = _start(bin_dir, data_dir, workdir / "server.log")
        yield PostgresServer("127.0.0.1", port, SUPERUSER, PASSWORD, bin_dir, data_dir)
    finally:
        try:
            _stop(bin_dir, data_dir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole session, stopped (and its files removed) at the end."""
    with _serve(_locate_or_install()) as server:
        yield server


@pytest.fixture(scope="session")
def pgvector_server() -> Iterator[PostgresServer]:
    """A PostgreSQL 16 server with the pgvector extension available (pgserver's build)."""
    bin_dir, copy_root = _runnable_copy(_pgserver_bin_dir())
    try:
        with _serve(bin_dir) as server:
            yield server
    finally:
        if copy_root is not None:
            shutil.rmtree(copy_root, ignore_errors=True)
