"""Run-wide settings: Go testctr's flags, read from ``TESTCTR_*`` env vars.

The pytest plugin overrides them from its command-line options; plain scripts
and unittest suites use the environment. Settings are read once, on first use.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

from testctr.errors import InvalidOption
from testctr.parsing import parse_bool, parse_duration, parse_image_map, parse_positive_int


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
    reaper: bool = True
    #: False: with_reuse() starts a throwaway container like any other (for CI).
    reuse: bool = True
    #: A reused container idle this long is removed by the next run that reuses one.
    reuse_ttl: float = 3600.0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        s = cls()

        def get(name: str) -> str | None:
            value = env.get(f"TESTCTR_{name}")
            return value if value not in (None, "") else None

        try:
            return cls._parse(s, get)
        except InvalidOption as e:
            raise InvalidOption(f"bad TESTCTR_* environment variable: {e}") from None

    @staticmethod
    def _parse(s: Settings, get: Callable[[str], str | None]) -> Settings:
        if (v := get("VERBOSE")) is not None:
            s.verbose = parse_bool(v)
        if (v := get("KEEP_FAILED")) is not None:
            s.keep_failed = parse_bool(v)
        if (v := get("LABEL")) is not None:
            s.label = v
        if (v := get("WARN_OLD")) is not None:
            s.warn_old = parse_bool(v)
        if (v := get("CLEANUP_OLD")) is not None:
            s.cleanup_old = parse_bool(v)
        if (v := get("CLEANUP_AGE")) is not None:
            s.cleanup_age = parse_duration(v)
        if (v := get("MAX_CONCURRENT")) is not None:
            s.max_concurrent = parse_positive_int(v, "TESTCTR_MAX_CONCURRENT")
        if (v := get("CREATE_DELAY")) is not None:
            s.create_delay = parse_duration(v)
        if (v := get("STARTUP_TIMEOUT")) is not None:
            s.startup_timeout = parse_duration(v) or s.startup_timeout
        if (v := get("REAPER")) is not None:
            s.reaper = parse_bool(v)
        if (v := get("REUSE")) is not None:
            s.reuse = parse_bool(v)
        if (v := get("REUSE_TTL")) is not None:
            s.reuse_ttl = parse_duration(v)
        s.backend = get("BACKEND")
        s.runtime = get("RUNTIME")
        s.image_prefix = get("IMAGE_PREFIX") or ""
        if (v := get("IMAGE_MAP")) is not None:
            s.image_map = parse_image_map(v)
        return s


def cache_dir() -> str:
    """Where testctr keeps small records between runs ($XDG_CACHE_HOME/testctr, ~/.cache/testctr)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "testctr")


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
