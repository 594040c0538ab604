"""TESTCTR_IMAGE_MAP applied, and the record of which entries runs have used (for `testctr doctor`)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from testctr import image_map, settings
from testctr.command import _image_map_rows


@pytest.fixture
def cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(image_map, "_used", set())
    return tmp_path


def test_an_entry_is_noted_when_a_process_uses_it_and_only_then(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mapping = {"redisx": "local/redis:7", "typo-image:1": "x"}
    monkeypatch.setattr(settings, "_current", dataclasses.replace(settings.current(), image_map=mapping))
    assert image_map.local_image("redisx:latest") == "local/redis:7"
    assert image_map.local_image("other:1") == "other:1"
    assert settings.unmatched_image_map_entries() == ["typo-image:1=x"]
    assert image_map.last_used("redisx") is not None
    assert image_map.last_used("typo-image:1") is None


def test_another_process_sees_the_use(cache: Path) -> None:
    code = "from testctr import image_map; image_map.local_image('redisx')"
    env = {"XDG_CACHE_HOME": str(cache), "TESTCTR_IMAGE_MAP": "redisx=local/redis:7", "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    assert image_map.last_used("redisx:latest") is None  # keys are recorded as written in the map
    assert image_map.last_used("redisx") is not None


def test_doctor_rows_say_which_entries_no_run_matched(cache: Path) -> None:
    image_map._note_use("redis:7")
    now = image_map.last_used("redis:7")
    assert now is not None
    rows = _image_map_rows({"redis:7": "local/redis:7", "postgress:16": "local/pg"}, now + 7200).splitlines()
    assert "redis:7=local/redis:7" in rows[0] and "last matched 2.0h ago" in rows[0]
    assert "postgress:16=local/pg" in rows[1] and "NEVER matched" in rows[1]


def test_a_read_only_cache_is_not_an_error(cache: Path) -> None:
    cache.chmod(0o500)
    try:
        assert image_map.local_image("anything:1") == "anything:1"
        image_map._note_use("k:1")  # cannot write: no error, doctor just cannot tell
    finally:
        cache.chmod(0o700)
