"""Llama Stack 0.7.x run configs load as they are: keys honoured or reported once, typos refused."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from llama_workbench.cli import main
from llama_workbench.core.config import StackConfig, load_config
from llama_workbench.core.datatypes import Api
from llama_workbench.core.errors import ConfigError
from llama_workbench.core.resolver import plan_stack
from llama_workbench.core.stack import Stack
from llama_workbench.providers.registry import default_registry
from tests.support.stub_server import StubOpenAIServer

REPO = Path(__file__).resolve().parents[3]
REFERENCE_NAME = "llama-stack-0.7.3-starter-config.yaml"
# The copy in the repo when there is one, else the shared folder beside the checkout (CI has it).
REFERENCE_PLACES = (REPO / "tests/data/reference", REPO.parent / "shared/reference")
LLAMA_STACK_VENV = REPO / ".bench/llama-stack"

# What the reference starter config asks that this version does not serve, besides Llama
# Stack providers it lacks (those are derived from the registry, which grows).
EXPECTED_KEYS = {
    "storage.stores.connectors",
    "storage.stores.inference.num_writers",
    "vector_stores.file_search_params",
    "vector_stores.context_prompt_params",
    "vector_stores.annotation_prompt_params",
    "vector_stores.file_ingestion_params",
    "vector_stores.chunk_retrieval_params",
    "vector_stores.file_batch_params",
    "providers.vector_io[0].config.persistence",  # faiss
    "providers.vector_io[1].config.persistence",  # sqlite-vec
}


def reference_config() -> Path:
    for folder in REFERENCE_PLACES:
        if (folder / REFERENCE_NAME).is_file():
            return folder / REFERENCE_NAME
    raise AssertionError(f"{REFERENCE_NAME} is in none of {[str(p) for p in REFERENCE_PLACES]}")


def offline_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment a Llama Stack config expects, with no service or key set."""
    return {
        "SQLITE_STORE_DIR": str(tmp_path / "store"),
        "FILES_STORAGE_DIR": str(tmp_path / "files"),
        "MILVUS_DB_PATH": str(tmp_path / "milvus"),
        "LLAMA_WORKBENCH_DATA_DIR": str(tmp_path / "data"),
        **extra,
    }


def unserved_provider_keys(config: StackConfig) -> set[str]:
    """providers.<api>[i].provider_type of each provider the registry lacks."""
    registry, keys = default_registry(), set()
    for api, entries in config.providers.items():
        for i, entry in enumerate(entries):
            try:
                registry.get(api, entry.provider_type)
            except ConfigError:
                keys.add(f"providers.{api.value}[{i}].provider_type")
    return keys


def test_reference_starter_config_loads_builds_and_reports_what_is_not_served(
    tmp_path: Path,
) -> None:
    path = reference_config()
    env = offline_env(tmp_path)
    with Stack.from_config(path, env=env) as stack:
        notes = stack.config.compat_notes
        assert {n.key for n in notes} == EXPECTED_KEYS | unserved_provider_keys(stack.config)
        assert len(notes) == len({n.key for n in notes})  # each once
        assert stack.compat_notes == [str(n) for n in notes]
        for note in notes:
            assert "\n" not in str(note) and str(note).startswith(f"{note.key}: ")
            assert re.fullmatch(rf"{re.escape(str(path))}:\d+", note.where), note
        served = set(stack.apis)
        assert {Api.inference, Api.vector_io, Api.files, Api.responses, Api.batches} <= served
        assert "inline::rag-runtime" in stack.provider_types["tool_runtime"]  # file-search


# A provider of Llama Stack 0.7.3 that this version does not have (the reference starter's are
# all served now).
UNSERVED_ENTRY = {"provider_id": "infinispan", "provider_type": "remote::infinispan", "config": {}}


def test_a_skipped_provider_is_named_with_its_line(tmp_path: Path) -> None:
    data = yaml.safe_load(reference_config().read_text(encoding="utf-8"))
    data["providers"]["vector_io"].append(UNSERVED_ENTRY)
    path = write(tmp_path, data)
    config = load_config(path, env=offline_env(tmp_path))
    plan_stack(config, default_registry())
    lines = path.read_text(encoding="utf-8").splitlines()
    skipped = [n for n in config.compat_notes if n.key.endswith(".provider_type")]
    assert skipped, "the config names a Llama Stack provider this version lacks"
    for note in skipped:
        line = lines[int(note.where.rsplit(":", 1)[1]) - 1]
        provider_type = re.search(r"provider '([^']+)'", note.message)
        assert provider_type is not None and provider_type.group(1) in line


def test_vllm_settings_are_honoured(tmp_path: Path) -> None:
    """api_token is the key, max_tokens the default of requests, network.tls.verify the client's."""
    with StubOpenAIServer(models=["m"], api_key="tok") as server:
        env = offline_env(tmp_path, VLLM_URL=server.base_url, VLLM_API_TOKEN="tok")
        env.update(VLLM_MAX_TOKENS="77", VLLM_TLS_VERIFY="false")
        with Stack.from_config(reference_config(), env=env) as stack:
            vllm = next(p for p in stack._plan.providers[Api.inference] if p.provider_id == "vllm")
            assert vllm.config.verify is False  # type: ignore[attr-defined]
            stack.inference.chat_completion(
                model="vllm/m", messages=[{"role": "user", "content": "hi"}]
            )
            stack.inference.chat_completion(
                model="vllm/m", messages=[{"role": "user", "content": "hi"}], max_tokens=5
            )
        bodies = [r["body"] for r in server.requests if r["path"].endswith("/chat/completions")]
        assert [b["max_tokens"] for b in bodies] == [77, 5]
        assert all(not k.startswith("vllm.") for k in stack.compat_notes)


def test_vector_io_servers_as_llama_stack_configures_them(tmp_path: Path) -> None:
    """Starter's qdrant has no url (qdrant-client's default: localhost), pgvector an index."""
    env = offline_env(tmp_path, QDRANT_URL="set", PGVECTOR_DB="db", PGVECTOR_USER="u")
    config = load_config(reference_config(), env=env)
    plan = plan_stack(config, default_registry())
    planned = {p.provider_id: p.config for p in plan.providers[Api.vector_io]}
    assert str(getattr(planned["qdrant"], "url", None)) == "http://localhost:6333"
    assert getattr(planned["pgvector"], "hnsw", None) is True
    notes = {n.key: n.message for n in config.compat_notes}
    assert notes["providers.vector_io[2].config.vector_index"].startswith("only its type is used")
    assert "providers.vector_io[3].config.persistence" in notes  # qdrant
    assert "providers.vector_io[2].config.distance_metric" not in notes  # COSINE is ours


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def small_config(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {
        "version": 2,
        "distro_name": "t",
        "data_dir": str(tmp_path / "data"),
        "apis": ["inference"],
        "providers": {
            "inference": [
                {
                    "provider_id": "v",
                    "provider_type": "remote::vllm",
                    "config": {"base_url": "http://127.0.0.1:9/v1"},
                }
            ]
        },
        **extra,
    }


def test_llama_stack_server_settings_are_served_and_workers_reported(tmp_path: Path) -> None:
    server = {"port": 8321, "tls_certfile": "c.pem", "tls_keyfile": "k.pem", "cors": True}
    server |= {"quota": {"kvstore": {"backend": "kv_default", "namespace": "q"}}, "workers": 2}
    extra = {"server": server, "logging": {"category_levels": {"core": "debug"}}}
    extra |= {"external_providers_dir": "~/.llama/providers.d"}
    config = load_config(write(tmp_path, small_config(tmp_path, **extra)))
    keys = [n.key for n in config.compat_notes]
    assert keys == ["external_providers_dir", "logging", "server.workers"]
    assert config.where(("server", "workers")) == config.compat_notes[2].where
    assert config.server.scheme == "https" and config.server.cors_config() is not None
    assert config.server.quota is not None and config.server.quota.period == "day"


def test_llama_stack_auth_loads_and_unserved_providers_are_refused(tmp_path: Path) -> None:
    auth = {"provider_config": {"type": "oauth2_token", "jwks": {"uri": "https://x/jwks"}}}
    auth |= {"access_policy": [{"permit": {"actions": ["read"]}, "when": "user is owner"}]}
    config = load_config(write(tmp_path, small_config(tmp_path, server={"auth": auth})))
    assert config.server.auth is not None and config.server.auth.provider_config is not None
    assert config.server.auth.provider_config.type == "oauth2_token"
    assert config.compat_notes == []
    kube = {"provider_config": {"type": "kubernetes"}}
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, small_config(tmp_path, server={"auth": kube})))
    msg = str(info.value)
    assert re.search(r"run\.yaml:\d+: server\.auth\.provider_config\.type: 'kubernetes'", msg)
    assert "refusing to start" in msg
    bad = {"access_policy": [{"permit": {"actions": ["read"]}, "when": "user is boss"}]}
    with pytest.raises(ConfigError, match="invalid condition 'user is boss'"):
        load_config(write(tmp_path, small_config(tmp_path, server={"auth": bad})))


def test_llama_stack_auth_switched_off_by_its_environment_loads(tmp_path: Path) -> None:
    auth = {"provider_config": {"type": "${env.AUTH_PROVIDER:+oauth2_token}", "audience": "x"}}
    config = load_config(write(tmp_path, small_config(tmp_path, server={"auth": auth})), env={})
    assert config.server.auth is None and config.compat_notes == []


@pytest.mark.parametrize(
    ("section", "key", "expected"),
    [
        ("server", {"port": 8321, "prot": 1}, r"run\.yaml:\d+: server\.prot is not a known"),
        ("storage", {"stores": {"inference": {"backend": "sql_default", "table_name": "t",
                                              "num_writer": 4}}}, r"num_writer is not a known"),
        ("safety", {"default_shiled_id": "x"}, r"run\.yaml:\d+: safety\.default_shiled_id is not"),
        ("vector_stores", {"default_provider": "x"}, r"run\.yaml:\d+: vector_stores\.default_provider is"),
    ],
)  # fmt: skip
def test_a_typo_in_our_own_keys_is_still_an_error_naming_the_line(
    tmp_path: Path, section: str, key: dict[str, Any], expected: str | None
) -> None:
    path = write(tmp_path, small_config(tmp_path, **{section: key}))
    if expected is None:
        load_config(path)
        return
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert re.search(expected, str(info.value)), str(info.value)


def test_a_provider_type_that_is_not_llama_stacks_is_still_an_error(tmp_path: Path) -> None:
    data = small_config(tmp_path)
    data["providers"]["inference"][0]["provider_type"] = "remote::vlm"
    config = load_config(write(tmp_path, data))
    with pytest.raises(ConfigError, match=r"run\.yaml:\d+: .*Unknown provider type 'remote::vlm'"):
        plan_stack(config, default_registry())


def test_llama_stack_names_resolve_to_ours() -> None:
    registry = default_registry()
    pairs = [
        (Api.inference, "remote::llama-cpp-server", "remote::llama-cpp"),
        (Api.tool_runtime, "inline::file-search", "inline::rag-runtime"),
        (Api.vector_io, "inline::sqlite_vec", "inline::sqlite-vec"),
        (Api.vector_io, "inline::qdrant", "remote::qdrant"),
        (Api.file_processors, "inline::pypdf", "inline::pypdf"),
        (Api.batches, "inline::reference", "inline::reference"),
    ]
    for api, name, ours in pairs:
        assert registry.get(api, name).provider_type == ours


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_list_providers_lists_the_aliases() -> None:
    code, out, _ = run_cli("stack", "list-providers", "tool_runtime")
    assert code == 0
    assert re.search(r"inline::file-search\s+Llama Stack's name of inline::rag-runtime", out)


def test_list_deps_prints_the_requirements_of_the_providers_a_config_names() -> None:
    path = reference_config()
    code, out, err = run_cli("stack", "list-deps", str(path))
    assert code == 0
    registry, wanted, missing = default_registry(), set(), set()
    for api, entries in yaml.safe_load(path.read_text(encoding="utf-8"))["providers"].items():
        for entry in entries:
            try:
                spec = registry.get(Api(api), entry["provider_type"])
            except ConfigError:
                missing.add(
                    f"# {api}: Llama Stack's provider '{entry['provider_type']}' is not in this version"
                )
            else:
                wanted |= {"llama-cpp-python" if p == "llama_cpp" else p for p in spec.pip_packages}
    assert out.splitlines() == sorted(wanted)
    assert {"faiss-cpu", "pypdf", "sentence-transformers"} <= wanted
    assert set(err.splitlines()) == missing


# ------------------------------------------------------------ every distribution of Llama Stack


def llama_stack_run_configs() -> list[Path]:
    """The run configs of an installed llama-stack 0.7.3 in .bench/llama-stack (if any)."""
    sites = sorted(LLAMA_STACK_VENV.glob("lib/python3*/site-packages"))
    if not sites or not list(sites[0].glob("llama_stack-0.7.3.dist-info")):
        return []
    configs = sorted((sites[0] / "llama_stack/distributions").glob("*/*.yaml"))
    return [p for p in configs if "distribution_spec" not in p.read_text(encoding="utf-8")]


REQUIRED = re.compile(r"\$\{env\.([A-Z0-9_]+)\}")
# Distributions whose stack can't be built offline here: planned (validated) only.
PLANNED_ONLY = {
    "open-benchmark/config.yaml": "its Llama Guard shield's model is served by hosted providers",
    "postgres-demo/config.yaml": "its storage is a Postgres server",
    "ci-tests/run-with-postgres-store.yaml": "its storage is a Postgres server",
    "starter/run-with-postgres-store.yaml": "its storage is a Postgres server",
}


@pytest.mark.skipif(
    not llama_stack_run_configs(),
    reason="llama-stack==0.7.3 is not installed in .bench/llama-stack (its distributions' run "
    "configs are read from there); the reference starter config is tested above",
)
@pytest.mark.parametrize(
    "path", llama_stack_run_configs(), ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_every_llama_stack_distribution_loads(path: Path, tmp_path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    env = offline_env(tmp_path) | {name: "placeholder" for name in REQUIRED.findall(text)}
    config = load_config(path, env=env)
    plan = plan_stack(config, default_registry())
    for note in config.compat_notes:
        assert "\n" not in str(note) and note.where.startswith(f"{path}:")
    assert plan.providers, "some API is served"
    if f"{path.parent.name}/{path.name}" not in PLANNED_ONLY:
        with Stack.from_config(path, env=env) as stack:
            assert stack.compat_notes == [str(n) for n in stack.config.compat_notes]


def test_safety_default_shield_id_is_the_moderation_model(tmp_path: Path) -> None:
    """Llama Stack 0.7.3: /v1/moderations without a model runs safety.default_shield_id."""
    regex = {
        "provider_id": "re",
        "provider_type": "inline::regex",
        "config": {"blocked_words": ["darn"]},
    }
    config = {
        "data_dir": str(tmp_path),
        "apis": ["safety"],
        "providers": {"safety": [regex]},
        "registered_resources": {
            "shields": [{"shield_id": "first", "provider_id": "re"}, {"shield_id": "second"}]
        },
        "safety": {"default_shield_id": "second"},
    }
    with Stack.from_config(config) as stack:
        assert stack.compat_notes == []
        result = stack.safety.run_moderation(input="darn")
        assert result.model == "second" and result.results[0].flagged


def test_llama_status_shows_the_notes(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from llama_workbench.jupyter import commands

    with StubOpenAIServer(models=["m"]) as server:
        data = small_config(tmp_path, server={"workers": 2})
        data["providers"]["inference"][0]["config"]["base_url"] = server.base_url
        data["providers"]["inference"][0]["module"] = "ramalama_stack"
        with Stack.from_config(write(tmp_path, data)) as stack:
            shown: list[Any] = []
            session = SimpleNamespace(stack=stack, describe="run.yaml")
            magic = SimpleNamespace(session=session, show=shown.append)
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                commands.status(magic, "", None)  # type: ignore[arg-type]
    lines = out.getvalue().splitlines()
    notes = [line for line in lines if line.startswith("Not served as written: ")]
    assert notes == [
        "Not served as written: providers.inference[0].module: external provider modules are "
        "not imported; the provider_type is looked up in this version's registry (third-party "
        "providers register through the 'llama_workbench.providers' entry-point group)",
        "Not served as written: server.workers: not used; one server process serves every request",
    ]
    assert lines.index(notes[0]) == 1  # right after the stack's line
