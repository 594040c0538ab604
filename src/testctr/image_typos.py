"""A missing image whose name is a few keystrokes from a local one: "looks like a typo of X".

Computed only on the missing-image error path: listing the engine's images
is an engine call no start should pay for.
"""

from __future__ import annotations

from collections.abc import Iterable

from testctr.backend.protocols import Backend, ImageLister
from testctr.errors import ImageNotFound, ImagePullError, TestctrError

#: How Docker Hub's images may be written; Podman lists ``docker.io/library/busybox:latest``, Docker ``busybox:latest``.
_HUB_PREFIXES = ("docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/")
#: The most single-character edits (insert, delete, replace, swap neighbours) that still read as a typo.
MAX_EDITS = 2


def canonical(ref: str) -> str:
    """One spelling per image: Docker Hub's prefixes dropped, ``:latest`` made explicit."""
    for prefix in _HUB_PREFIXES:
        if ref.startswith(prefix):
            ref = ref[len(prefix) :]
            break
    name, at, _digest = ref.partition("@")
    if at or ":" in name.rsplit("/", 1)[-1]:
        return ref
    return ref + ":latest"


def edits(a: str, b: str) -> int:
    """The fewest single-character inserts, deletes, replacements and swaps of neighbours from ``a`` to ``b``."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], previous2[j - 2] + 1)
        previous2, previous = previous, row
    return previous[len(b)]


def close_local_image(image: str, local: Iterable[str]) -> str | None:
    """The local image (as the engine names it) that ``image`` most likely misspells, if any.

    A short name allows fewer edits (``a:1`` is no typo of ``b:2``); the
    same image under another spelling (``busybox`` and
    ``docker.io/library/busybox:latest``) is no typo.
    """
    wanted = canonical(image)
    allowed = min(MAX_EDITS, len(wanted) // 5)
    best: tuple[int, str] | None = None
    for ref in local:
        if "<none>" in ref:
            continue  # an untagged image: no name to suggest
        candidate = canonical(ref)
        if candidate == wanted:
            continue
        distance = edits(wanted, candidate)
        if distance <= allowed and (best is None or (distance, ref) < best):
            best = (distance, ref)
    return None if best is None else best[1]


def add_typo_hint(backend: Backend, image: str, error: ImageNotFound | ImagePullError) -> None:
    """Point ``error`` at a local image ``image`` looks like a typo of, when the backend lists its images."""
    if not isinstance(backend, ImageLister):
        return
    try:
        local = backend.list_images()
    except TestctrError:
        return  # the missing image is the error to show, not this
    match = close_local_image(image, local)
    if match is not None:
        error.add_hint(f"hint: {image} looks like a typo of the local image {match}")
