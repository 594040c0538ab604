"""Entry point (pytest11): loads the suite's reporting in runs of the suite, and only there.

pytest loads every installed plugin in every project's runs; this one costs
nothing of testctr's core there and adds nothing (no marker, no hook that
does work) unless the run's arguments name the suite: ``--pyargs
testctr.conformance[.test_x]`` or a path inside it. The reporting is loaded
from here rather than only from the suite's conftest because with ``-n`` the
xdist controller, which prints the matrix, never collects and so never loads
that conftest.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SUITE = __name__.rpartition(".")[0]
REPORTING = f"{SUITE}.reporting"


def names_the_suite(config: pytest.Config) -> bool:
    here = Path(__file__).resolve().parent
    for arg in config.args:
        target = arg.split("::")[0]
        if config.option.pyargs and (target == SUITE or target.startswith(f"{SUITE}.")):
            return True
        path = Path(config.invocation_params.dir, target).resolve()
        if path == here or here in path.parents:
            return True
    return False


def install(config: pytest.Config) -> None:
    """Load the reporting (once); the suite's conftest calls this too."""
    if not config.pluginmanager.has_plugin(REPORTING):
        config.pluginmanager.import_plugin(REPORTING)


def pytest_configure(config: pytest.Config) -> None:
    if names_the_suite(config):
        install(config)
