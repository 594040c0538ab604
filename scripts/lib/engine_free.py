"""Exit 0 when the pytest arguments given select no test marked ``engine``.

scripts/test asks before provisioning, as the unit tier needs no engine. Exit 1
means they select one; any other status (a usage error, say) means "cannot
tell", which scripts/test treats as "provision".

    .venv/bin/python scripts/lib/engine_free.py tests/unit -k parse
"""

from __future__ import annotations

import sys

import pytest


class _EngineProbe:
    selects_engine_test = False

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        # session.items: what is left after -m, -k and deselection.
        self.selects_engine_test = any(item.get_closest_marker("engine") for item in session.items)


def main(args: list[str]) -> int:
    probe = _EngineProbe()
    # Without xdist: its controller collects nothing itself (-n in args fails: "cannot tell").
    status = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", *args], plugins=[probe])
    if status not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        return 2
    return 1 if probe.selects_engine_test else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
