"""The Shields registry and the Safety router over real offline shields (PII, blocklist, toxicity)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llama_workbench import BadRequestError, ConfigError, ConflictError, NotFoundError, Stack

EMAIL = "Write to me at jane.doe@acme-mail.com tomorrow."


def _config(data_dir: Path, **extra: Any) -> dict[str, Any]:
    return {
        "data_dir": str(data_dir),
        "apis": ["safety"],
        "providers": {
            "safety": [
                {"provider_id": "pii", "provider_type": "inline::pii", "config": {}},
                {
                    "provider_id": "words",
                    "provider_type": "inline::regex",
                    "config": {"blocked_words": ["blorple"], "patterns": {"ticket": r"TCK-\d{4}"}},
                },
                {"provider_id": "tox", "provider_type": "inline::toxicity", "config": {}},
            ]
        },
        "registered_resources": {
            "shields": [
                {"shield_id": "pii", "provider_id": "pii"},
                {"shield_id": "blocklist", "provider_id": "words"},
                {"shield_id": "toxicity", "provider_id": "tox"},
            ]
        },
        **extra,
    }


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack.from_config(_config(tmp_path_factory.mktemp("safety"))) as s:
        yield s


def _user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def test_shields_list_and_retrieve(stack: Stack) -> None:
    shields = stack.shields.list()
    assert [s.identifier for s in shields] == ["blocklist", "pii", "toxicity"]
    assert stack.shields.retrieve("pii").provider_id == "pii"
    with pytest.raises(NotFoundError, match="Available: blocklist, pii, toxicity"):
        stack.shields.retrieve("llama-guard")
    with pytest.raises(NotFoundError, match="blocklist, pii, toxicity"):
        stack.safety.run_shield(shield_id="nope", messages=_user("hi"))


def test_run_shield_verdicts(stack: Stack) -> None:
    found = stack.safety.run_shield(shield_id="pii", messages=_user(EMAIL))
    assert found.violation is not None and found.violation.violation_level == "error"
    assert found.violation.metadata["types"] == ["email"]
    assert (
        stack.safety.run_shield(shield_id="pii", messages=_user("No contact details.")).violation
        is None
    )
    blocked = stack.safety.run_shield(shield_id="blocklist", messages=_user("See TCK-1234 now"))
    assert blocked.violation is not None
    assert stack.safety.run_shield(shield_id="blocklist", messages=_user("fine")).violation is None


def test_request_params_override_the_shields(stack: Stack) -> None:
    warned = stack.safety.run_shield(
        shield_id="pii", messages=_user(EMAIL), params={"level": "warn", "redact": True}
    )
    assert warned.violation.violation_level == "warn"
    assert "[EMAIL]" in warned.violation.metadata["redacted_messages"][0]
    with pytest.raises(BadRequestError):
        stack.safety.run_shield(
            shield_id="pii", messages=_user(EMAIL), params={"entities": ["dna"]}
        )


def test_batch_keeps_the_order(stack: Stack) -> None:
    texts = [EMAIL if i % 3 == 0 else f"plain message {i}" for i in range(30)]
    results = stack.safety.run_shield_batch(
        shield_id="pii", conversations=[_user(t) for t in texts]
    )
    assert [r.violation is not None for r in results] == [i % 3 == 0 for i in range(30)]


def test_moderations_by_one_shield_and_by_all(stack: Stack) -> None:
    one = stack.safety.run_moderation(input=[EMAIL, "hello"], model="pii")
    assert one.model == "pii" and [r.flagged for r in one.results] == [True, False]
    assert one.results[0].categories["pii/email"] is True
    every = stack.safety.run_moderation(input="You are a worthless idiot, blorple.")
    (result,) = every.results
    assert (
        result.flagged
        and result.categories["harassment"]
        and result.categories["blocklist/blorple"]
    )
    assert set(result.metadata) == {"blocklist", "pii", "toxicity"}
    # pii found nothing: its categories score 0.0 beside the flags, not its safe verdict's 1.0.
    assert result.category_scores["pii/email"] == 0.0 and result.category_scores["harassment"] > 0.5
    clean = stack.safety.run_moderation(input="hello").results[0]
    assert not clean.flagged and set(clean.category_scores.values()) == {1.0}
    with pytest.raises(NotFoundError, match="moderations name a shield"):
        stack.safety.run_moderation(input="x", model="omni-moderation-latest")


def test_registered_shields_persist_and_conflict(tmp_path: Path) -> None:
    config = _config(tmp_path)
    with Stack.from_config(config) as s:
        s.shields.register(
            shield_id="no-secrets", provider_id="pii", params={"entities": ["secret"]}
        )
        with pytest.raises(ConflictError):
            s.shields.register(shield_id="pii", provider_id="pii")
        with pytest.raises(BadRequestError):
            s.shields.register(shield_id="bad", provider_id="pii", params={"entities": ["dna"]})
        with pytest.raises(BadRequestError, match="provider_id"):
            s.shields.register(shield_id="which")
    with Stack.from_config(config) as s:
        assert s.shields.retrieve("no-secrets").params == {"entities": ["secret"]}
        key = "AKIAIOSFODNN7EXAMPLE is the key"
        assert s.safety.run_shield(shield_id="no-secrets", messages=_user(EMAIL)).violation is None
        assert s.safety.run_shield(shield_id="no-secrets", messages=_user(key)).violation
        s.shields.unregister("no-secrets")
        with pytest.raises(BadRequestError, match="run config"):
            s.shields.unregister("pii")
        assert "no-secrets" not in [x.identifier for x in s.shields.list()]


def test_config_errors_name_the_shield(tmp_path: Path) -> None:
    config = _config(tmp_path)
    config["registered_resources"]["shields"].append({"shield_id": "x", "provider_id": "nope"})
    with pytest.raises(
        ConfigError, match=r"shields\[3\].provider_id: 'nope' is not a safety provider"
    ):
        Stack.from_config(config)


def test_a_provider_that_batches_scans_every_conversation_once(tmp_path: Path) -> None:
    config = {
        "data_dir": str(tmp_path),
        "apis": ["safety"],
        "providers": {
            "safety": [
                {"provider_id": "code", "provider_type": "inline::code-scanner", "config": {}}
            ]
        },
        "registered_resources": {"shields": [{"shield_id": "code", "provider_id": "code"}]},
    }
    bad = "```python\nimport pickle\nobj = pickle.loads(request.data)\n```"
    good = "```python\nprint(sum(range(10)))\n```"
    conversations = [
        [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": bad if i % 2 else good},
        ]
        for i in range(6)
    ]
    with Stack.from_config(config) as stack:
        results = stack.safety.run_shield_batch(shield_id="code", conversations=conversations)
        assert [r.violation is not None for r in results] == [i % 2 == 1 for i in range(6)]
        finding = results[1].violation.metadata["findings"][0]
        assert (finding["message_index"], finding["line"]) == (1, 2)
        one = stack.safety.run_shield(shield_id="code", messages=conversations[3])
        assert one.violation.metadata == results[3].violation.metadata
