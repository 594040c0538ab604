"""TESTCTR_IMAGE_MAP and TESTCTR_IMAGE_PREFIX applied, and which map entries have ever been used.

An entry no image ever matched is a typo or a stale line; ``testctr doctor``
says so. A process notes each entry it uses in memory and, the first time, as
a small file in testctr's cache directory, so a later ``testctr doctor`` knows
which entries any run on this machine has used, and when last.
"""

from __future__ import annotations

import hashlib
import threading

from testctr import settings
from testctr.parsing import image_map_key, substitute_image

_KIND = "image-map"
_lock = threading.Lock()
#: The map keys this process has used.
_used: set[str] = set()


def local_image(image: str) -> str:
    """What the backend is asked for when a test names ``image``."""
    s = settings.current()
    key = image_map_key(image, s.image_map)
    if key is not None:
        _note_use(key)
    return substitute_image(image, s.image_map, s.image_prefix)


def unused_entries(image_map: dict[str, str]) -> list[str]:
    """``IMAGE=REPLACEMENT`` entries of ``image_map`` no image of this process has matched."""
    with _lock:
        return [f"{key}={target}" for key, target in image_map.items() if key not in _used]


def last_used(key: str) -> float | None:
    """When any process on this machine last matched ``key`` (a time.time()), or None if none ever did."""
    return settings.record_time(_KIND, _record_name(key))


def _note_use(key: str) -> None:
    with _lock:
        if key in _used:
            return
        _used.add(key)
    settings.touch_record(_KIND, _record_name(key))  # a read-only cache: doctor then cannot tell


def _record_name(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:24]  # a key has characters a file name may not
