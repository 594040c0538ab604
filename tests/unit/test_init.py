"""The package's public names: one list (_EXPORTS), loaded lazily."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import testctr


def _type_checking_imports() -> dict[str, str]:
    """name -> module of the imports under ``if TYPE_CHECKING:`` in testctr/__init__.py."""
    tree = ast.parse(Path(testctr.__file__).read_text())
    (block,) = (node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING")
    found = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom) and node.module is not None
        for alias in node.names:
            # `X as X` makes the name a re-export for type checkers (mypy's no_implicit_reexport).
            assert alias.asname == alias.name, f"import {alias.name} as {alias.name}"
            found[alias.name] = node.module
    return found


def test_type_checkers_see_exactly_the_exported_names() -> None:
    assert _type_checking_imports() == testctr._LAZY


def test_all_is_every_exported_name_and_each_resolves() -> None:
    assert sorted(testctr.__all__) == sorted(testctr._LAZY)
    assert len(set(testctr.__all__)) == len(testctr.__all__)
    for name in testctr.__all__:
        assert getattr(testctr, name) is getattr(sys.modules[testctr._LAZY[name]], name)


def test_import_loads_no_submodule() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, testctr; print(sorted(m for m in sys.modules if m.startswith('testctr.')))",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert out.strip() == "[]"
