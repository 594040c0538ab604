"""The typo matcher for missing images, and its hint on a failed start (in-memory backend)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import testctr
from testctr import backends
from testctr.backends.memory import MemoryBackend
from testctr.errors import ImageNotFound, ImagePullError
from testctr.image_typos import add_typo_hint, canonical, close_local_image, edits

LOCAL = ["testctr.local/busybox:latest", "docker.io/library/postgres:16", "redis:7-alpine", "<none>:<none>"]

_component = st.from_regex(r"[a-z][a-z0-9]{2,12}", fullmatch=True)
_tag = st.from_regex(r"[a-z0-9][a-z0-9.]{0,8}", fullmatch=True)
_reference = st.builds(lambda r, n, t: f"{r}/{n}:{t}", _component, _component, _tag)


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("testctr.local/busybx:latest", "testctr.local/busybox:latest"),  # a letter left out
        ("testctr.local/bsuybox", "testctr.local/busybox:latest"),  # two swapped, :latest implied
        ("postgers:16", "docker.io/library/postgres:16"),  # Podman's spelling of a Hub image
        ("docker.io/library/redis:7-alpien", "redis:7-alpine"),
    ],
)
def test_a_close_local_image_is_suggested(image: str, expected: str) -> None:
    assert close_local_image(image, LOCAL) == expected


@pytest.mark.parametrize(
    "image",
    [
        "testctr.local/busybox",  # the same image: not a typo of itself
        "docker.io/library/postgres:16",
        "mysql:8",  # nothing close
        "testctr.local/nginx:latest",
        "a:1",  # too short to call anything a typo
    ],
)
def test_no_suggestion_without_a_close_local_image(image: str) -> None:
    assert close_local_image(image, [*LOCAL, "b:2"]) is None


@pytest.mark.parametrize(
    ("ref", "form"),
    [
        ("busybox", "busybox:latest"),
        ("docker.io/library/busybox:latest", "busybox:latest"),
        ("docker.io/team/app", "team/app:latest"),
        ("localhost:5000/app", "localhost:5000/app:latest"),
        ("localhost:5000/app:2", "localhost:5000/app:2"),
        ("app@sha256:" + "a" * 64, "app@sha256:" + "a" * 64),
    ],
)
def test_canonical_spelling(ref: str, form: str) -> None:
    assert canonical(ref) == form


@given(_reference)
def test_canonical_is_stable(ref: str) -> None:
    assert canonical(canonical(ref)) == canonical(ref)


@given(st.text(max_size=12), st.text(max_size=12))
def test_edits_is_a_distance(a: str, b: str) -> None:
    assert edits(a, b) == edits(b, a)
    assert (edits(a, b) == 0) == (a == b)
    assert abs(len(a) - len(b)) <= edits(a, b) <= max(len(a), len(b))


@given(_reference, st.data())
def test_one_slip_in_a_local_name_is_found(ref: str, data: st.DataObject) -> None:
    name = ref.rpartition(":")[0]
    at = data.draw(st.integers(min_value=len(name.partition("/")[0]) + 1, max_value=len(name) - 1))
    slipped = name[:at] + name[at + 1 :] + ref[len(name) :]  # one character of the name left out
    others = data.draw(st.lists(_reference, max_size=5))
    suggested = close_local_image(slipped, [ref, *others])
    assert suggested is not None and edits(canonical(slipped), canonical(suggested)) <= 1


@given(_reference, st.lists(_reference, max_size=8))
def test_a_suggestion_is_a_listed_image_within_the_allowed_edits(image: str, local: list[str]) -> None:
    suggested = close_local_image(image, local)
    if suggested is not None:
        assert suggested in local and canonical(suggested) != canonical(image)
        assert edits(canonical(image), canonical(suggested)) <= 2


def test_the_hint_names_the_local_image() -> None:
    backend = MemoryBackend()
    backend.images.add("testctr.local/busybox:latest")
    error = ImagePullError("image testctr.local/busybx:latest is not present locally")
    add_typo_hint(backend, "testctr.local/busybx:latest", error)
    assert str(error) == (
        "image testctr.local/busybx:latest is not present locally\n"
        "hint: testctr.local/busybx:latest looks like a typo of the local image testctr.local/busybox:latest"
    )


def test_a_start_of_a_missing_image_points_at_the_local_one() -> None:
    backend = MemoryBackend()
    backend.images.add("redis:7-alpine")
    backend.missing_image("redis:7-alpnie")
    backend.missing_image("team/unrelated:1")
    name = "memory-typos"
    backends.register(name, backend)
    try:
        with pytest.raises(ImageNotFound, match=r"looks like a typo of the local image redis:7-alpine$"):
            testctr.new(ScriptRequest(), "redis:7-alpnie", testctr.with_backend(name))
        with pytest.raises(ImageNotFound) as info:
            testctr.new(ScriptRequest(), "team/unrelated:1", testctr.with_backend(name))
        assert "typo" not in str(info.value)
    finally:
        backends.default_registry.unregister(name)


class ScriptRequest:
    """Enough of a unittest case to own containers."""

    def __init__(self) -> None:
        self.cleanups: list[object] = []

    def addCleanup(self, fn: object) -> None:
        self.cleanups.append(fn)

    def id(self) -> str:
        return "test_image_typos"
