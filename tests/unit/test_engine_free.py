"""scripts/lib/engine_free.py: whether pytest arguments select a test marked engine.

Run in process on a small project of pytester's: one test marked engine, one not.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

pytest_plugins = ["pytester"]

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "lib" / "engine_free.py"


def engine_free() -> ModuleType:
    spec = importlib.util.spec_from_file_location("engine_free", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (["-k", "needs_engine"], 1),
        (["-m", "not engine"], 0),
        (["-k", "nothing_has_this_name"], 0),
        (["--no-such-option"], 2),
    ],
    ids=["engine-test", "deselected", "none-selected", "usage-error"],
)
def test_exit_status_says_whether_an_engine_test_is_selected(
    pytester: pytest.Pytester, args: list[str], status: int
) -> None:
    pytester.makeini("[pytest]\nmarkers =\n    engine: needs an engine\n")
    pytester.makepyfile(
        test_mixed="""
        import pytest

        @pytest.mark.engine
        def test_needs_engine():
            pass

        def test_pure():
            pass
        """
    )
    assert engine_free().main(["test_mixed.py", *args]) == status
