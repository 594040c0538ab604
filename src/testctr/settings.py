"""Run-wide settings: Go testctr's flags, read from ``TESTCTR_*`` env vars.

The pytest plugin overrides them from its command-line options; plain scripts
and unittest suites use the environment. Settings are read once, on first use.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

from testctr.errors import InvalidOption
from testctr.parsing import (
    parse_bool,
    parse_duration,
    parse_image_map,
    parse_image_prefix,
    parse_label_prefix,
    parse_name,
    parse_positive_int,
    parse_timeout,
    shown,
)


@dataclass
class Settings:
    verbose: bool = False
    keep_failed: bool = False
    label: str = "testctr"
    warn_old: bool = True
    cleanup_old: bool = False
    cleanup_age: float = 300.0
    max_concurrent: int = 20
    create_delay: float = 0.2
    backend: str | None = None
    runtime: str | None = None
    image_prefix: str = ""
    image_map: dict[str, str] = dataclasses.field(default_factory=dict)
    startup_timeout: float = 120.0
    #: Bound on any one engine call made outside a start (a start's calls share its startup timeout).
    engine_timeout: float = 60.0
    reaper: bool = True
    #: False: with_reuse() starts a throwaway container like any other (for CI).
    reuse: bool = True
    #: A reused container idle this long is removed by the next run that reuses one.
    reuse_ttl: float = 3600.0
    #: Keep per-test databases ready and drop them in the background (TESTCTR_DB_POOL=0: on the test's path).
    db_pool: bool = True
    #: Log lines per container in a failed test's report and in start errors.
    report_lines: int = 200

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Settings from ``TESTCTR_*``; a bad value raises InvalidOption naming the variable."""
        env = dict(os.environ if env is None else env)
        changes: dict[str, object] = {}
        for field_name, parse in PARSERS.items():
            name = "TESTCTR_" + field_name.upper()
            text = env.get(name)
            if text is None or text == "":
                continue
            try:
                changes[field_name] = parse(text)
            except InvalidOption as e:
                value = text if text.isprintable() and len(text) <= 60 else shown(text)
                raise InvalidOption(f"{name}={value}: {e}") from None
        return dataclasses.replace(cls(), **changes)  # type: ignore[arg-type]


#: How each setting is read from its ``TESTCTR_<FIELD>`` variable: the rules of its option.
PARSERS: dict[str, Callable[[str], object]] = {
    "verbose": parse_bool,
    "keep_failed": parse_bool,
    "label": parse_label_prefix,
    "warn_old": parse_bool,
    "cleanup_old": parse_bool,
    "cleanup_age": lambda text: parse_duration(text, "cleanup age"),
    "max_concurrent": lambda text: parse_positive_int(text, "max concurrent creations"),
    "report_lines": lambda text: parse_positive_int(text, "report lines"),
    "create_delay": lambda text: parse_duration(text, "create delay"),
    "backend": parse_name,
    "runtime": parse_name,
    "image_prefix": parse_image_prefix,
    "image_map": parse_image_map,
    "startup_timeout": lambda text: parse_timeout(text, "startup timeout"),
    "engine_timeout": lambda text: parse_timeout(text, "engine timeout"),
    "reaper": parse_bool,
    "db_pool": parse_bool,
    "reuse": parse_bool,
    "reuse_ttl": lambda text: parse_duration(text, "reuse ttl"),
}


def unmatched_image_map_entries() -> list[str]:
    """TESTCTR_IMAGE_MAP entries no image started by this process has matched (``IMAGE=REPLACEMENT``)."""
    from testctr.image_map import unused_entries  # it imports this module

    return unused_entries(current().image_map)


def cache_dir() -> str:
    """Where testctr keeps small records between runs ($XDG_CACHE_HOME/testctr, ~/.cache/testctr)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "testctr")


def _record(kind: str, name: str) -> str:
    return os.path.join(cache_dir(), kind, name)


def touch_record(kind: str, name: str) -> None:
    """Note that ``name`` (of ``kind``) was used now: the mtime of an empty file in the cache.

    A cache that cannot be written (a read-only home) is not an error: the
    readers of these records treat "no record" as a safe answer.
    """
    path = _record(kind, name)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "a"):
            pass
        os.utime(path)
    except OSError:
        pass


def write_record(kind: str, name: str, text: str) -> None:
    """Keep ``text`` as ``name``'s record (of ``kind``); an unwritable cache is no error (see touch_record)."""
    path = _record(kind, name)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError:
        pass


def read_record(kind: str, name: str) -> str | None:
    """What :func:`write_record` kept for ``name``, or None."""
    try:
        with open(_record(kind, name), encoding="utf-8") as f:
            return f.read()
    except OSError:
        return None


def record_time(kind: str, name: str) -> float | None:
    """When :func:`touch_record` last noted ``name`` (a time.time()), or None."""
    try:
        return os.stat(_record(kind, name)).st_mtime
    except OSError:
        return None


def forget_record(kind: str, name: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(_record(kind, name))


_lock = threading.Lock()
_current: Settings | None = None


def current() -> Settings:
    global _current
    with _lock:
        if _current is None:
            _current = Settings.from_env()
        return _current


def configure(**changes: object) -> Settings:
    """Override settings for this process (the pytest plugin calls this)."""
    global _current
    with _lock:
        base = _current if _current is not None else Settings.from_env()
        _current = dataclasses.replace(base, **changes)  # type: ignore[arg-type]
        return _current


def reset() -> None:
    """Forget overrides; the next :func:`current` re-reads the environment."""
    global _current
    with _lock:
        _current = None
