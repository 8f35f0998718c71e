"""PromptsService on a real SQLite kv store: versions, default version, variables, owners, restarts."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from llama_workbench import Stack
from llama_workbench.apis.prompts.api import Prompts
from llama_workbench.apis.prompts.models import Prompt, placeholders
from llama_workbench.core.access import Principal, current_principal
from llama_workbench.core.errors import BadRequestError, NotFoundError
from llama_workbench.core.prompts import PromptsService, prompts_store_ref, render_template
from llama_workbench.storage.config import KVStoreRef, StorageConfig
from llama_workbench.storage.manager import StorageManager

REF = KVStoreRef(backend="kv_default", namespace="prompts")


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[StorageManager]:
    manager = StorageManager(StorageConfig(), tmp_path)
    yield manager
    await manager.close()


@pytest.fixture
def prompts(storage: StorageManager) -> PromptsService:
    return PromptsService(storage, REF)


def _as(name: str | None, *roles: str) -> None:
    current_principal.set(None if name is None else Principal(name, frozenset(roles)))


def test_the_service_implements_the_protocol(prompts: PromptsService) -> None:
    assert isinstance(prompts, Prompts)


async def test_create_get_and_ids(prompts: PromptsService) -> None:
    created = await prompts.create_prompt("You are a {{ role }} assistant.", ["role"])
    assert re.fullmatch(r"pmpt_[0-9a-f]{48}", created.prompt_id)
    assert (created.version, created.variables, created.is_default) == (1, ["role"], True)
    assert await prompts.get_prompt(created.prompt_id) == created
    assert await prompts.get_prompt(created.prompt_id, 1) == created
    other = await prompts.create_prompt("Plain.")
    assert other.variables == [] and other.prompt_id != created.prompt_id


async def test_update_makes_versions_and_checks_the_latest(prompts: PromptsService) -> None:
    v1 = await prompts.create_prompt("One {{a}}", ["a"])
    v2 = await prompts.update_prompt(v1.prompt_id, "Two {{b}}", 1, ["b"])
    assert (v2.version, v2.prompt, v2.is_default) == (2, "Two {{b}}", True)
    assert (await prompts.get_prompt(v1.prompt_id)).version == 2
    assert (await prompts.get_prompt(v1.prompt_id, 1)).is_default is False
    with pytest.raises(BadRequestError, match="'1' is not the latest prompt version"):
        await prompts.update_prompt(v1.prompt_id, "Three", 1)
    v3 = await prompts.update_prompt(v1.prompt_id, "Three", 2, set_as_default=False)
    assert v3.version == 3 and v3.is_default is False
    assert (await prompts.get_prompt(v1.prompt_id)).version == 2  # still the default
    versions = (await prompts.list_prompt_versions(v1.prompt_id)).data
    assert [(p.version, p.is_default) for p in versions] == [(1, False), (2, True), (3, False)]
    with pytest.raises(BadRequestError, match="Version must be >= 1"):
        await prompts.update_prompt(v1.prompt_id, "x", 0)


async def test_set_default_version(prompts: PromptsService) -> None:
    v1 = await prompts.create_prompt("One")
    await prompts.update_prompt(v1.prompt_id, "Two", 1)
    chosen = await prompts.set_default_version(v1.prompt_id, 1)
    assert (chosen.version, chosen.is_default) == (1, True)
    assert (await prompts.get_prompt(v1.prompt_id)).prompt == "One"
    listed = (await prompts.list_prompts()).data
    assert [(p.prompt_id, p.version) for p in listed] == [(v1.prompt_id, 1)]
    with pytest.raises(NotFoundError, match=f"Prompt '{v1.prompt_id}:9' not found"):
        await prompts.set_default_version(v1.prompt_id, 9)


async def test_variables_must_cover_the_placeholders(prompts: PromptsService) -> None:
    with pytest.raises(BadRequestError, match=r"undeclared variables: \['name', 'topic'\]"):
        await prompts.create_prompt("Hi {{ name }}, about {{topic}}.", [])
    created = await prompts.create_prompt("Hi {{ name }}.", ["name", "unused"])
    with pytest.raises(BadRequestError, match=r"undeclared variables: \['x'\]"):
        await prompts.update_prompt(created.prompt_id, "{{x}}", 1, ["name"])
    assert placeholders("{{a}} {{ b }} {{a}} {b} {{ c d }}") == ["a", "b"]


async def test_render(prompts: PromptsService) -> None:
    created = await prompts.create_prompt("A {{ role }} for {{who}}; {{ role }}.", ["role", "who"])
    text = await prompts.render(created.prompt_id, {"role": "tutor", "who": "Ada"})
    assert text == "A tutor for Ada; tutor."
    # Placeholders without a value stay as written (Llama Stack 0.7 does the same).
    assert await prompts.render(created.prompt_id, {"role": "tutor"}) == (
        "A tutor for {{who}}; tutor."
    )
    with pytest.raises(BadRequestError, match=r"Variables \['mood'\] are not defined"):
        await prompts.render(created.prompt_id, {"mood": "calm"})
    await prompts.update_prompt(created.prompt_id, "New {{role}}", 1, ["role"])
    assert (
        await prompts.render(created.prompt_id, {"role": "x"}, version=1) == "A x for {{who}}; x."
    )
    assert render_template("{{a}}{{ b }}", {"b": "B"}) == "{{a}}B"


async def test_unknown_ids_and_versions(prompts: PromptsService) -> None:
    for call in (
        prompts.get_prompt("pmpt_missing"),
        prompts.list_prompt_versions("pmpt_missing"),
        prompts.delete_prompt("pmpt_missing"),
        prompts.render("pmpt_missing"),
        prompts.update_prompt("pmpt_missing", "x", 1),
    ):
        with pytest.raises(NotFoundError, match="Prompt 'pmpt_missing' not found"):
            await call
    created = await prompts.create_prompt("x")
    with pytest.raises(NotFoundError, match="not found"):
        await prompts.get_prompt(created.prompt_id, 99)


async def test_delete_removes_every_version(prompts: PromptsService) -> None:
    created = await prompts.create_prompt("One")
    await prompts.update_prompt(created.prompt_id, "Two", 1)
    kept = await prompts.create_prompt("Other")
    await prompts.delete_prompt(created.prompt_id)
    assert [p.prompt_id for p in (await prompts.list_prompts()).data] == [kept.prompt_id]
    with pytest.raises(NotFoundError):
        await prompts.get_prompt(created.prompt_id, 1)


async def test_owners_see_only_their_prompts(prompts: PromptsService) -> None:
    _as("alice")
    mine = await prompts.create_prompt("Alice's {{x}}", ["x"])
    _as("bob")
    theirs = await prompts.create_prompt("Bob's")
    assert [p.prompt_id for p in (await prompts.list_prompts()).data] == [theirs.prompt_id]
    for call in (
        prompts.get_prompt(mine.prompt_id),
        prompts.update_prompt(mine.prompt_id, "taken", 1),
        prompts.set_default_version(mine.prompt_id, 1),
        prompts.delete_prompt(mine.prompt_id),
        prompts.render(mine.prompt_id, {"x": "1"}),
    ):
        with pytest.raises(NotFoundError):
            await call
    _as("alice")
    updated = await prompts.update_prompt(mine.prompt_id, "v2", 1)
    _as("bob")
    with pytest.raises(NotFoundError):  # a new version keeps its owner
        await prompts.get_prompt(updated.prompt_id, 2)
    _as("root", "admin")
    assert len((await prompts.list_prompts()).data) == 2
    _as(None)


async def test_prompts_survive_a_restart_in_llama_stacks_layout(tmp_path: Path) -> None:
    first = StorageManager(StorageConfig(), tmp_path)
    created = await PromptsService(first, REF).create_prompt("Keep {{me}}", ["me"])
    kv = await first.kv(REF)
    stored = json.loads(await kv.get(f"prompts:v1:{created.prompt_id}:1") or "{}")
    assert stored["prompt"] == "Keep {{me}}" and stored["version"] == 1
    assert await kv.get(f"prompts:v1:{created.prompt_id}:default") == "1"
    await first.close()
    second = StorageManager(StorageConfig(), tmp_path)
    try:
        again = await PromptsService(second, REF).get_prompt(created.prompt_id)
        assert again == created
    finally:
        await second.close()


def test_the_store_comes_from_the_run_config() -> None:
    assert prompts_store_ref(StorageConfig()) == KVStoreRef(
        backend="kv_default", namespace="prompts"
    )
    config = StorageConfig.model_validate(
        {
            "backends": {"kv_other": {"type": "kv_sqlite"}},
            "stores": {"prompts": {"backend": "kv_other", "namespace": "p"}},
        }
    )
    assert prompts_store_ref(config) == KVStoreRef(backend="kv_other", namespace="p")


def test_prompt_model_checks_its_variables() -> None:
    with pytest.raises(ValueError, match="undeclared variables"):
        Prompt(prompt_id="pmpt_" + "0" * 48, version=1, prompt="{{x}}")


def test_every_stack_has_prompts_and_stack_prompts_render(tmp_path: Path) -> None:
    config = {"data_dir": str(tmp_path), "apis": ["prompts"], "providers": {}}
    with Stack.from_config(config) as stack:
        created = stack.prompts.create_prompt(prompt="Hello {{name}}", variables=["name"])
        assert stack.prompts.render(created.prompt_id, variables={"name": "Ada"}) == "Hello Ada"
        assert "prompts" in [a.value for a in stack.apis]
    with Stack.from_config(config) as again:  # the starter's layout: kv_default, "prompts"
        assert again.prompts.get_prompt(created.prompt_id).prompt == "Hello {{name}}"
