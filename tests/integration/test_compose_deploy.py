"""compose.yaml and the Dockerfile, as far as they can be checked without a container runtime:
the compose file's environment renders (as compose interpolates it), the run config it serves
loads from exactly that environment, and the server starts from it (the image's entrypoint, as a
process) against a real PostgreSQL with pgvector; state lands there."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from llama_workbench.core.config import load_config
from tests.integration.postgres_server import PostgresServer, fresh_database, pgvector_server
from tests.support.stub_server import StubOpenAIServer, free_port

__all__ = ["pgvector_server"]  # the session fixture, imported so pytest finds it here

ROOT = Path(__file__).resolve().parents[2]
# Where the Dockerfile copies deploy/ in the image.
IMAGE_DEPLOY = "/opt/llama-workbench/deploy/"
HOST_ENV = {"LLAMA_WORKBENCH_ADMIN_TOKEN": "admin-token-of-the-test"}
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\?)([^}]*))?\}")


def interpolate(value: Any, host: Mapping[str, str]) -> Any:
    """Compose's interpolation of ${VAR}, ${VAR:-default} and ${VAR:?error} in a value."""
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.groups()
        if host.get(name):
            return host[name]
        if op == ":?":
            raise LookupError(f"{name}: {arg}")
        return arg if op == ":-" else host.get(name, "")

    return _VAR.sub(one, value)


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8")))


def server_env(host: Mapping[str, str]) -> dict[str, str]:
    environment = compose()["services"]["server"]["environment"]
    return {k: str(interpolate(v, host)) for k, v in environment.items()}


def run_config_path() -> Path:
    """The run config the server service runs, found in the repository's deploy/."""
    command = compose()["services"]["server"]["command"]
    assert command[0].startswith(IMAGE_DEPLOY)
    return ROOT / "deploy" / command[0][len(IMAGE_DEPLOY) :]


def test_compose_renders_and_its_run_config_loads_from_that_environment() -> None:
    services = compose()["services"]
    assert set(services) == {"server", "postgres", "mlflow"}
    with pytest.raises(LookupError, match="LLAMA_WORKBENCH_ADMIN_TOKEN"):
        server_env({})  # compose refuses to start a server without its admin token
    env = server_env(HOST_ENV)
    postgres = {k: interpolate(v, HOST_ENV) for k, v in services["postgres"]["environment"].items()}
    assert env["POSTGRES_HOST"] == "postgres" and env["POSTGRES_DB"] == postgres["POSTGRES_DB"]
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]) == (
        postgres["POSTGRES_USER"],
        postgres["POSTGRES_PASSWORD"],
    )
    mlflow = " ".join(interpolate(a, HOST_ENV) for a in services["mlflow"]["command"])
    store = f"postgresql://{env['POSTGRES_USER']}:{env['POSTGRES_PASSWORD']}@postgres:5432/mlflow"
    assert f"--backend-store-uri={store}" in mlflow
    assert env["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
    assert services["postgres"]["image"].startswith("pgvector/pgvector:")
    config = load_config(run_config_path(), env=env)
    assert config.compat_notes == []
    backends = config.storage.backends.values()
    assert {b.type for b in backends} == {"kv_postgres", "sql_postgres"}
    assert all(b.host == "postgres" for b in backends)  # type: ignore[union-attr]
    (vectors,) = config.providers[next(a for a in config.providers if a.value == "vector_io")]
    assert vectors.provider_type == "remote::pgvector" and vectors.config["host"] == "postgres"
    (evals,) = config.providers[next(a for a in config.providers if a.value == "eval")]
    assert evals.config["mlflow"]["tracking_uri"] == "http://mlflow:5000"
    assert config.server.auth is not None and config.server.auth.provider_config is None
    with_idp = server_env({**HOST_ENV, "AUTH_JWKS_URI": "https://idp.example/jwks"})
    auth = load_config(run_config_path(), env=with_idp).server.auth
    assert auth is not None and auth.provider_config is not None
    assert auth.provider_config.type == "oauth2_token"
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "USER workbench" in dockerfile and 'CMD ["remote"]' in dockerfile
    assert "COPY deploy /opt/llama-workbench/deploy" in dockerfile


@pytest.fixture
def database(pgvector_server: PostgresServer) -> Iterator[str]:
    loop = asyncio.new_event_loop()
    context = fresh_database(pgvector_server)
    name = loop.run_until_complete(context.__aenter__())
    try:
        yield name
    finally:
        loop.run_until_complete(context.__aexit__(None, None, None))
        loop.close()


def test_the_server_starts_with_the_compose_environment(
    pgvector_server: PostgresServer, database: str, tmp_path: Path
) -> None:
    with StubOpenAIServer(models=["m", "e"]) as stub:
        env = server_env({**HOST_ENV, "VLLM_URL": stub.base_url})  # as in an .env file
        # The one change: the database is the test's PostgreSQL, not the `postgres` service.
        env |= {
            "POSTGRES_HOST": pgvector_server.host,
            "POSTGRES_PORT": str(pgvector_server.port),
            "POSTGRES_DB": database,
            "POSTGRES_USER": pgvector_server.user,
            "POSTGRES_PASSWORD": pgvector_server.password,
        }
        # What the image adds: its PATH, and /data (LLAMA_WORKBENCH_HOME) as a folder here.
        env |= {"PATH": os.environ["PATH"], "LLAMA_WORKBENCH_HOME": str(tmp_path)}
        port = free_port()
        # The image's entrypoint, bound to loopback on a free port instead of 0.0.0.0:8321.
        command = [sys.executable, "-m", "llama_workbench.cli", "stack", "run"]
        command += ["--host", "127.0.0.1", "--port", str(port), str(run_config_path())]
        log = tmp_path / "server.log"
        with log.open("w") as out:
            process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
            try:
                check_server(f"http://127.0.0.1:{port}", process, log, env)
            finally:
                process.terminate()
                process.wait(timeout=30)
        rows = asyncio.run(kv_keys(pgvector_server, database))
        assert "registry:model:e" in rows  # the registry lives in PostgreSQL
        assert any(k.startswith("quota:quota:user:admin:") for k in rows)  # and so do quotas


def check_server(
    url: str, process: subprocess.Popen[bytes], log: Path, env: dict[str, str]
) -> None:
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            pytest.fail(f"the server exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.1)
    admin = {"Authorization": f"Bearer {env['LLAMA_WORKBENCH_ADMIN_TOKEN']}"}
    assert httpx.get(f"{url}/v1/models").status_code == 401
    listed = httpx.get(f"{url}/v1/models", headers=admin)
    assert listed.status_code == 200 and "vllm/m" in listed.text
    embedding = {"model_id": "e", "provider_id": "vllm", "provider_model_id": "e"}
    embedding |= {"model_type": "embedding", "metadata": {"embedding_dimension": 3}}
    assert httpx.post(f"{url}/v1/models", json=embedding, headers=admin).status_code == 200
    body = {"name": "in pgvector", "embedding_model": "e", "embedding_dimension": 3}
    store = httpx.post(f"{url}/v1/vector_stores", json=body, headers=admin, timeout=30)
    assert store.status_code == 200, store.text
    assert store.json()["metadata"]["provider_id"] == "pgvector"


async def kv_keys(server: PostgresServer, database: str) -> list[str]:
    import asyncpg

    conn = await asyncpg.connect(
        host=server.host, port=server.port, user=server.user,
        password=server.password, database=database,
    )  # fmt: skip
    try:
        return [r["key"] for r in await conn.fetch("SELECT key FROM llama_workbench_kvstore")]
    finally:
        await conn.close()
