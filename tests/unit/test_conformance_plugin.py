"""The conformance entry point costs other projects' runs nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from testctr.conformance import plugin

#: The entry points pytest loads in every run (and the package of the conformance one).
ENTRY_MODULES = ["testctr", "testctr.conformance", "testctr.conformance.plugin", "testctr.pytest_plugin"]


def run_pytest(project: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        # A TESTCTR_* variable makes the main plugin check the settings at startup (by design).
        env={k: v for k, v in os.environ.items() if not k.startswith("TESTCTR_")},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_a_project_without_testctr_loads_only_the_entry_points(tmp_path: Path) -> None:
    """Neither plugin loads the library (nor its settings) or registers the suite's marker.

    In a process of its own: this one has loaded the library long since.
    """
    (tmp_path / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    (tmp_path / "conftest.py").write_text(
        "import sys\n\n"
        "def pytest_unconfigure(config):\n"
        "    print('LOADED', *sorted(m for m in sys.modules if m.startswith('testctr')))\n"
        "    print('MARKERS', *sorted(m.split(':')[0].split('(')[0] for m in config.getini('markers')))\n"
    )
    out = run_pytest(tmp_path, "-q", "-s").splitlines()
    loaded = next(line for line in out if line.startswith("LOADED")).split()[1:]
    assert loaded == ENTRY_MODULES
    markers = next(line for line in out if line.startswith("MARKERS")).split()[1:]
    assert "parametrize" in markers and "clause" not in markers


def config(*args: str, pyargs: bool = False, cwd: Path | None = None) -> object:
    return SimpleNamespace(
        args=list(args), option=SimpleNamespace(pyargs=pyargs), invocation_params=SimpleNamespace(dir=cwd or Path.cwd())
    )


def test_the_suite_is_recognised_by_module_or_path(tmp_path: Path) -> None:
    suite = Path(plugin.__file__).parent
    assert plugin.names_the_suite(config("testctr.conformance", pyargs=True))  # type: ignore[arg-type]
    assert plugin.names_the_suite(config("testctr.conformance.test_exec::test_x", pyargs=True))  # type: ignore[arg-type]
    assert plugin.names_the_suite(config(str(suite / "test_exec.py")))  # type: ignore[arg-type]
    assert plugin.names_the_suite(config("conformance", cwd=suite.parent))  # type: ignore[arg-type]
    assert not plugin.names_the_suite(config("testctr.conformancex", pyargs=True))  # type: ignore[arg-type]
    assert not plugin.names_the_suite(config("testctr.conformance"))  # type: ignore[arg-type]
    assert not plugin.names_the_suite(config(str(tmp_path), "tests"))  # type: ignore[arg-type]
