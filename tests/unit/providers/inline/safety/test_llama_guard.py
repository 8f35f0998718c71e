"""inline::llama-guard in a real Stack, asking a Llama Guard look-alike served on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llama_workbench import Stack
from llama_workbench.core.errors import BadRequestError, NotFoundError, ProviderError
from tests.support.guard_server import GUARD_MODEL, GuardServer, guard_stack_config

CANNED = "I can't answer that. Can I help with something else?"
TAXONOMY = [
    "S1: Violent Crimes.",
    "S2: Non-Violent Crimes.",
    "S3: Sex-Related Crimes.",
    "S4: Child Sexual Exploitation.",
    "S5: Defamation.",
    "S6: Specialized Advice.",
    "S7: Privacy.",
    "S8: Intellectual Property.",
    "S9: Indiscriminate Weapons.",
    "S10: Hate.",
    "S11: Suicide & Self-Harm.",
    "S12: Sexual Content.",
    "S13: Elections.",
    "S14: Code Interpreter Abuse.",
]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GuardServer, Stack]]:
    with GuardServer(models=[GUARD_MODEL, "embedder"]) as server:
        config = guard_stack_config(server.base_url, tmp_path_factory.mktemp("guard"))
        with Stack.from_config(config) as stack:
            yield server, stack


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def test_safe_and_unsafe_user_turns(served: tuple[GuardServer, Stack]) -> None:
    server, stack = served
    assert (
        stack.safety.run_shield(shield_id="llama-guard", messages=[user("hello")]).violation is None
    )
    answer = stack.safety.run_shield(
        shield_id="llama-guard",
        messages=[{"role": "system", "content": "Be terse."}, user("a weapon and a slur")],
    )
    violation = answer.violation
    assert violation is not None and violation.violation_level == "error"
    assert violation.user_message == CANNED
    assert violation.metadata == {
        "violation_type": "S1,S10",
        "categories": ["Violent Crimes", "Hate"],
    }
    body = server.requests[-1]["body"]
    assert body["model"] == GUARD_MODEL and body["temperature"] == 0.0 and body["max_tokens"] == 64
    assert len(body["messages"]) == 1 and body["messages"][0]["role"] == "user"
    prompt = server.prompts[-1]
    assert all(f"\n{line}\n" in prompt for line in TAXONOMY)
    assert "in 'User' messages" in prompt and "ONLY THE LAST User message" in prompt
    assert "User: a weapon and a slur\n\n<END CONVERSATION>" in prompt and "Be terse" not in prompt


def test_last_agent_turn_is_the_one_checked(served: tuple[GuardServer, Stack]) -> None:
    server, stack = served
    refused = [user("how do I get a weapon?"), assistant("I can't help with that.")]
    assert stack.safety.run_shield(shield_id="llama-guard", messages=refused).violation is None
    prompt = server.prompts[-1]
    assert "in 'Agent' messages" in prompt and "ONLY THE LAST Agent message" in prompt
    assert "User: how do I get a weapon?\n\nAgent: I can't help with that." in prompt
    helped = [user("hi"), assistant("Here is how to build a nerve agent.")]
    violation = stack.safety.run_shield(shield_id="llama-guard", messages=helped).violation
    assert violation is not None and violation.metadata["violation_type"] == "S9"


def test_excluded_categories_from_shield_params(served: tuple[GuardServer, Stack]) -> None:
    server, stack = served
    weapon = [user("sell me a weapon")]
    assert stack.safety.run_shield(shield_id="guard-no-violence", messages=weapon).violation is None
    prompt = server.prompts[-1]
    assert "S1: Violent Crimes." not in prompt and "S2: Non-Violent Crimes." in prompt
    both = stack.safety.run_shield(
        shield_id="guard-no-violence", messages=[user("a weapon and counterfeit money")]
    )
    assert both.violation is not None and both.violation.metadata["violation_type"] == "S2"
    # The request's params are laid over the shield's: nothing excluded, S1 is checked again.
    again = stack.safety.run_shield(
        shield_id="guard-no-violence", messages=weapon, params={"excluded_categories": []}
    )
    assert again.violation is not None and again.violation.metadata["violation_type"] == "S1"
    with pytest.raises(BadRequestError, match="unknown Llama Guard categories"):
        stack.safety.run_shield(
            shield_id="llama-guard", messages=weapon, params={"excluded_categories": ["S42"]}
        )
    with pytest.raises(BadRequestError, match="unknown params \\['threshold'\\]"):
        stack.safety.run_shield(shield_id="llama-guard", messages=weapon, params={"threshold": 1})


def test_moderation_in_openai_names(served: tuple[GuardServer, Stack]) -> None:
    server, stack = served
    before = len(server.prompts)
    result = stack.safety.run_moderation(
        input=["hello", "a weapon", "a slur about a nerve agent"], model="llama-guard"
    )
    assert result.model == "llama-guard" and len(server.prompts) == before + 3
    safe, violent, hateful = result.results
    assert not safe.flagged and safe.metadata == {} and safe.user_message is None
    # As Llama Stack 0.7.3 (its suite asserts it): a safe verdict scores every category 1.0.
    assert set(safe.category_scores.values()) == {1.0} and len(safe.categories) == 14
    assert violent.flagged and violent.user_message == CANNED
    assert [n for n, hit in violent.categories.items() if hit] == ["violence"]
    assert violent.category_scores["violence"] == 1.0 and violent.category_scores["hate"] == 0.0
    assert violent.metadata == {"violation_type": "S1", "categories": ["Violent Crimes"]}
    assert {n for n, hit in hateful.categories.items() if hit} == {"illicit/violent", "hate"}
    assert hateful.metadata["violation_type"] == "S9,S10"
    assert "Defamation" in safe.categories and "Code Interpreter Abuse" in safe.categories
    assert all("ONLY THE LAST User message" in p for p in server.prompts[-3:])


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("say maybe", "answered 'maybe', which can't be read as a Llama Guard verdict"),
        ("say s99", "unknown Llama Guard categories ['S99']"),
        ("say nothing", "answered '', which can't be read as a Llama Guard verdict"),
    ],
)
def test_answers_that_are_not_verdicts_are_errors(
    served: tuple[GuardServer, Stack], text: str, why: str
) -> None:
    _, stack = served
    with pytest.raises(ProviderError, match="Provider 'guard'") as info:
        stack.safety.run_shield(shield_id="llama-guard", messages=[user(text)])
    assert why in str(info.value) and "Is it a Llama Guard model?" in str(info.value)
    with pytest.raises(ProviderError):
        stack.safety.run_moderation(input=text, model="llama-guard")


def test_register_shield_checks_the_guard_model(served: tuple[GuardServer, Stack]) -> None:
    _, stack = served
    with pytest.raises(NotFoundError, match="Model 'Llama-Guard-9' not found") as info:
        stack.shields.register(
            shield_id="g", provider_id="guard", provider_shield_id="Llama-Guard-9"
        )
    assert f"vllm/{GUARD_MODEL}" in str(info.value)
    with pytest.raises(BadRequestError, match="model_type 'embedding'; Llama Guard needs an 'llm'"):
        stack.shields.register(shield_id="g", provider_id="guard", provider_shield_id="embedder")
    with pytest.raises(BadRequestError, match="nothing would be checked"):
        stack.shields.register(
            shield_id="g",
            provider_id="guard",
            provider_shield_id=GUARD_MODEL,
            params={"excluded_categories": [f"S{i}" for i in range(1, 15)]},
        )
    shield = stack.shields.register(
        shield_id="g", provider_id="guard", provider_shield_id=GUARD_MODEL
    )
    assert shield.provider_resource_id == GUARD_MODEL
    messages = [user("a weapon")]
    assert stack.safety.run_shield(shield_id="g", messages=messages).violation is not None
    stack.shields.unregister("g")


def test_config_sets_exclusions_token_budget_and_message(tmp_path: Path) -> None:
    guard = {"excluded_categories": ["S10"], "max_tokens": 4, "user_message": "No."}
    with (
        GuardServer() as server,
        Stack.from_config(
            guard_stack_config(server.base_url, tmp_path, guard_config=guard)
        ) as stack,
    ):

        def run(text: str, shield_id: str = "llama-guard") -> Any:
            return stack.safety.run_shield(shield_id=shield_id, messages=[user(text)]).violation

        assert run("a slur") is None and "S10: Hate." not in server.prompts[-1]
        assert server.requests[-1]["body"]["max_tokens"] == 4
        weapon = run("a weapon")
        assert weapon is not None and weapon.user_message == "No."
        # Cut after the first code: the verdict is unsafe all the same.
        assert run("a weapon and counterfeit money").metadata["violation_type"] == "S1"
        # Cut after an excluded code: what was cut off might not be excluded.
        with pytest.raises(ProviderError, match="cut at max_tokens=4; raise it"):
            run("say hate first")
        # A shield's params replace the config's list.
        assert run("a weapon and a slur", "guard-no-violence").metadata["violation_type"] == "S10"


def test_unknown_guard_model_in_run_config_fails_the_build(tmp_path: Path) -> None:
    with GuardServer() as server:
        config = guard_stack_config(server.base_url, tmp_path)
        config["registered_resources"]["shields"][0]["provider_shield_id"] = "not-served"
        with pytest.raises(NotFoundError, match="Model 'not-served' not found"):
            Stack.from_config(config)
