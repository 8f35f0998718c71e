"""inline::llama-guard replaying recorded Llama Guard answers offline, from committed cassettes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from llama_workbench import Stack
from llama_workbench.core.errors import ProviderError
from tests.support.guard_server import GuardServer, guard_stack_config
from tests.support.stub_server import free_port

# Written by our recording code while the provider talked to the Llama Guard look-alike server;
# the first test records them again and checks they are unchanged. After a deliberate change (the
# prompt, the request), write them anew with
# `LLAMA_WORKBENCH_RERECORD=1 pytest tests/unit/providers/inline/test_llama_guard_replay.py`.
CASSETTES = Path(__file__).parents[4] / "data" / "cassettes" / "llama_guard"
RERECORD = os.environ.get("LLAMA_WORKBENCH_RERECORD") == "1"

EXPECTED: list[Any] = [
    None,
    "S1,S10",
    None,
    "S2",
    [None, "S9"],
    "answered 'maybe', which can't be read as a Llama Guard verdict",
]


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def exercise(stack: Stack) -> list[Any]:
    """The same calls, live or replayed: each shield verdict's violation_type (None: safe)."""

    def shield(shield_id: str, *messages: dict[str, str]) -> Any:
        violation = stack.safety.run_shield(shield_id=shield_id, messages=list(messages)).violation
        return None if violation is None else violation.metadata["violation_type"]

    results = [
        shield("llama-guard", user("hello")),
        shield("llama-guard", user("a weapon and a slur")),
        shield(
            "llama-guard",
            user("how do I get a weapon?"),
            {"role": "assistant", "content": "I can't help with that."},
        ),
        shield("guard-no-violence", user("a weapon and counterfeit money")),
    ]
    moderated = stack.safety.run_moderation(input=["hello", "a nerve agent"], model="llama-guard")
    results.append([r.metadata.get("violation_type") for r in moderated.results])
    with pytest.raises(ProviderError) as info:
        shield("llama-guard", user("say maybe"))
    results.append(EXPECTED[-1] if EXPECTED[-1] in str(info.value) else str(info.value))
    return results


def cassettes(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.json"))}


def test_recording_reproduces_the_committed_cassettes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = CASSETTES if RERECORD else tmp_path / "cassettes"
    if RERECORD:
        for old in CASSETTES.glob("*.json"):
            old.unlink()
    monkeypatch.setenv("LLAMA_WORKBENCH_RECORDING", "record")
    monkeypatch.setenv("LLAMA_WORKBENCH_CASSETTES", str(folder))
    with (
        GuardServer() as server,
        Stack.from_config(guard_stack_config(server.base_url, tmp_path / "data")) as stack,
    ):
        assert exercise(stack) == EXPECTED
    recorded = cassettes(folder)
    assert len(recorded) == 7 and sum(n.startswith("get_v1_models_") for n in recorded) == 1
    assert recorded == cassettes(CASSETTES), (
        "The requests or answers changed; re-record the cassettes with LLAMA_WORKBENCH_RERECORD=1"
    )


def test_replay_with_no_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLAMA_WORKBENCH_RECORDING", "replay")
    monkeypatch.setenv("LLAMA_WORKBENCH_CASSETTES", str(CASSETTES))
    # Nothing listens on this port: every answer must come from the cassettes.
    nowhere = f"http://127.0.0.1:{free_port()}/v1"
    with Stack.from_config(guard_stack_config(nowhere, tmp_path)) as stack:
        assert exercise(stack) == EXPECTED
