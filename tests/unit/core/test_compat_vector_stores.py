"""A Llama Stack 0.7.3 run config naming Milvus, Weaviate, Elasticsearch, files on S3 and kv on
Redis loads and builds as it is: each setting honoured, `persistence:` reported once each."""

from __future__ import annotations

from pathlib import Path

import pytest

from llama_workbench.core.config import load_config
from llama_workbench.core.datatypes import Api
from llama_workbench.core.resolver import plan_stack
from llama_workbench.core.stack import Stack
from llama_workbench.providers.registry import default_registry
from llama_workbench.storage.config import RedisKVConfig
from tests.unit.core.test_compat import offline_env, run_cli

RUN_YAML = Path(__file__).parents[2] / "data" / "llama_stack" / "vector-stores-run.yaml"
PERSISTENCE = {f"providers.vector_io[{i}].config.persistence" for i in range(4)}


def env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return offline_env(tmp_path, S3_BUCKET_NAME="team-files", **extra)


def test_the_settings_are_honoured_and_persistence_reported(tmp_path: Path) -> None:
    config = load_config(RUN_YAML, env=env(tmp_path, MILVUS_ENDPOINT="http://milvus:19530"))
    plan = plan_stack(config, default_registry())
    assert {n.key for n in config.compat_notes} == PERSISTENCE
    assert all("storage.stores.metadata" in n.message for n in config.compat_notes)
    planned = {p.provider_id: p.config for p in plan.providers[Api.vector_io]}
    assert list(planned) == ["milvus-lite", "milvus", "weaviate", "elasticsearch"]
    assert planned["milvus-lite"].db_path == str(tmp_path / "milvus" / "milvus.db")  # type: ignore[attr-defined]
    remote = planned["milvus"]
    assert remote.uri == "http://milvus:19530" and remote.token is None  # type: ignore[attr-defined]
    assert remote.client_settings() == {"db_name": "default"}  # type: ignore[attr-defined]
    assert planned["weaviate"].weaviate_cluster_url == "http://localhost:8080"  # type: ignore[attr-defined]
    assert planned["elasticsearch"].elasticsearch_url == "http://localhost:9200"  # type: ignore[attr-defined]
    (s3,) = plan.providers[Api.files]
    assert (s3.config.bucket_name, s3.config.auto_create_bucket) == ("team-files", False)  # type: ignore[attr-defined]
    assert s3.config.endpoint_url is None and s3.config.aws_access_key_id is None  # type: ignore[attr-defined]
    redis = config.storage.backends["kv_redis"]
    assert isinstance(redis, RedisKVConfig) and (redis.host, redis.port) == ("localhost", 6379)


def test_the_stack_builds_without_reaching_any_service(tmp_path: Path) -> None:
    """Every provider connects on first use: the stack builds while no server runs."""
    with Stack.from_config(RUN_YAML, env=env(tmp_path)) as stack:
        assert stack.compat_notes == [str(n) for n in stack.config.compat_notes]
        assert len(stack.compat_notes) == 3  # remote::milvus is off: MILVUS_ENDPOINT unset
        types = stack.provider_types
        assert set(types["vector_io"]) == {
            "inline::milvus",
            "remote::weaviate",
            "remote::elasticsearch",
        }
        assert types["files"] == ["remote::s3"]


def test_list_deps_names_their_packages() -> None:
    code, out, err = run_cli("stack", "list-deps", str(RUN_YAML))
    assert code == 0, err
    assert {"pymilvus", "milvus-lite", "elasticsearch[async]", "boto3", "httpx"} <= set(out.split())
    assert "not in this version" not in err


@pytest.mark.parametrize("name", ["inline::milvus", "remote::milvus", "remote::weaviate",
                                  "remote::elasticsearch"])  # fmt: skip
def test_they_are_listed_under_llama_stacks_names(name: str) -> None:
    code, out, _ = run_cli("stack", "list-providers", "vector_io")
    assert code == 0 and name in out.split()
