"""Which test each kept database belonged to: the keep hint's line, kept in the cache for `testctr ls`."""

from __future__ import annotations

from pathlib import Path

import pytest

from testctr import kept_databases


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path


def test_the_record_says_whose_each_database_was_until_forgotten() -> None:
    kept_databases.record("c1", {"tests/b.py::t": "tp_2", "tests/a.py::t": "tp_1"})
    assert kept_databases.recorded("c1") == "tp_1 (test tests/a.py::t), tp_2 (test tests/b.py::t)"
    assert kept_databases.recorded("c2") is None
    kept_databases.forget("c1")
    assert kept_databases.recorded("c1") is None


def test_no_databases_no_record() -> None:
    kept_databases.record("c1", {})
    assert kept_databases.recorded("c1") is None


def test_an_unwritable_cache_is_no_error(cache: Path) -> None:
    (cache / "testctr").write_text("a file where the directory should be")
    kept_databases.record("c1", {"t": "tp_1"})
    assert kept_databases.recorded("c1") is None
