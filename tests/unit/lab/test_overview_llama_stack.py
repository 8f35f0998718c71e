"""The lab panel checks a Llama Stack 0.7.3 run config as the loader does: valid, with notes."""

from __future__ import annotations

import yaml

from llama_workbench.lab.overview import check_config
from tests.unit.core.test_compat import UNSERVED_ENTRY, reference_config


def test_the_reference_starter_config_is_valid_with_its_notes() -> None:
    raw = yaml.safe_load(reference_config().read_text(encoding="utf-8"))
    raw["providers"]["vector_io"].append(UNSERVED_ENTRY)
    checked = check_config(raw)
    assert checked.valid, checked.problems
    assert any(w.startswith("storage.stores.inference.num_writers: ") for w in checked.warnings)
    # Provider notes use the panel's indices (the file's): the entry appended above.
    index = len(raw["providers"]["vector_io"]) - 1
    assert any(
        w.startswith(f"providers.vector_io[{index}].provider_type: ") for w in checked.warnings
    )


def test_llama_stack_auth_is_a_problem_in_the_panel() -> None:
    raw = {
        "version": 2,
        "apis": ["inference"],
        "providers": {"inference": []},
        "server": {"auth": {"provider_config": {"type": "kubernetes"}}},
    }
    checked = check_config(raw)
    assert not checked.valid and "refusing to start" in checked.problems[0].message
