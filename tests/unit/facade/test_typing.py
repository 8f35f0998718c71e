"""mypy sees the typed faces: tests/typing/facade_types.py (assert_type, and the mistakes it
must catch) checks clean under --strict."""

from __future__ import annotations

from pathlib import Path

from mypy import api

ROOT = Path(__file__).parents[3]


def test_mypy_sees_the_faces_types() -> None:
    # The project's cache: a second run (and `make lint`) reuses what the first analysed.
    out, err, status = api.run(
        ["--strict", "--no-error-summary", str(ROOT / "tests/typing/facade_types.py")]
    )
    assert status == 0, out + err
