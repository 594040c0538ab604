"""Which test each per-test database kept by keep-failed belonged to, for the keep hint and `testctr ls`.

A test that took a pooled database ran in ``tp_...``, not in a database
named after it (:mod:`testctr.dbpool` says why). The keep hint says whose
each kept database was; the hint scrolls away, so the same line is kept in
testctr's cache per container, where a later ``testctr ls`` finds it.
"""

from __future__ import annotations

from collections.abc import Mapping

from testctr.settings import forget_record, read_record, write_record

_KIND = "kept-databases"


def describe(databases: Mapping[str, str]) -> str:
    """``test id -> handle`` as the hint and `testctr ls` print it."""
    return ", ".join(f"{handle} (test {test})" for test, handle in sorted(databases.items()))


def record(container: str, databases: Mapping[str, str]) -> None:
    if databases:
        write_record(_KIND, container, describe(databases))


def recorded(container: str) -> str | None:
    """What :func:`record` kept for ``container`` (a name), or None."""
    return read_record(_KIND, container)


def forget(container: str) -> None:
    forget_record(_KIND, container)
