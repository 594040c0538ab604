"""Pulling images, against the local registry scripts/provision runs on 127.0.0.1:5000.

provision pushes testctr.local/busybox:latest there as REGISTRY_IMAGE. Each
backend is checked on each runtime: the CLI backend drives docker/podman, the
docker-api backend talks to dockerd and to Podman's compatible API.
"""

from __future__ import annotations

import fcntl
import subprocess
import urllib.request
from collections.abc import Iterator

import pytest

import testctr
from testctr import backends
from testctr.backend.protocols import ImageEnsurer, RuntimeSelectable
from testctr.conformance._support import SLEEPER

pytestmark = pytest.mark.engine

REGISTRY = "127.0.0.1:5000"
REGISTRY_IMAGE = f"{REGISTRY}/testctr/busybox:latest"
LOCAL_IMAGE = "testctr.local/busybox:latest"  # built by provision, never pulled
#: What engines print while pulling; the quiet path must keep it out of errors.
PROGRESS = (
    "Trying to pull",
    "Getting image source signatures",
    "Copying blob",
    "Copying config",
    "Writing manifest",
    "Pulling from",
    "Pulling fs layer",
    "Download complete",
    "Pull complete",
)


@pytest.fixture(params=["cli", "docker-api"])
def backend_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def opts(backend_name: str, runtime: str) -> tuple[testctr.Option, ...]:
    return testctr.with_backend(backend_name), testctr.with_runtime(runtime)


@pytest.fixture(scope="session")
def registry_up() -> None:
    """The pull tests need provision's registry; without it they fail, saying why."""
    try:
        with urllib.request.urlopen(f"http://{REGISTRY}/v2/", timeout=5):
            pass
    except OSError as e:
        pytest.fail(f"no registry answers on http://{REGISTRY}/v2/ ({e}): run `bash scripts/provision`")


@pytest.fixture
def image_absent(registry_up: None, runtime: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """REGISTRY_IMAGE removed from the runtime's store, and held so for this test.

    Both backends share one store per runtime; an xdist worker removing the
    image while another is between its pull and its create would make either
    test flaky, so tests of one runtime take turns (a lock file shared by the
    workers of this session).
    """
    lock_path = tmp_path_factory.getbasetemp().parent / f"pull-{runtime}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        subprocess.run([runtime, "rmi", "-f", REGISTRY_IMAGE], capture_output=True, timeout=60, check=False)
        assert image_id(runtime, REGISTRY_IMAGE) is None
        yield REGISTRY_IMAGE


def image_id(runtime: str, image: str) -> str | None:
    result = subprocess.run(
        [runtime, "image", "inspect", "--format", "{{.Id}}", image],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return result.stdout.strip() or None if result.returncode == 0 else None


def ensurer(backend_name: str, runtime: str) -> ImageEnsurer:
    backend = backends.get(backend_name)
    assert isinstance(backend, RuntimeSelectable)
    selected = backend.for_runtime(runtime)
    assert isinstance(selected, ImageEnsurer)
    return selected


def assert_no_progress(text: str) -> None:
    leaked = [marker for marker in PROGRESS if marker.lower() in text.lower()]
    assert not leaked, f"pull progress in {text!r}"


def test_new_pulls_an_image_that_is_only_in_the_registry(
    request: pytest.FixtureRequest, image_absent: str, runtime: str, opts: tuple[testctr.Option, ...]
) -> None:
    c = testctr.new(request, image_absent, testctr.with_command(*SLEEPER), *opts)
    assert c.exec_simple("echo", "pulled") == "pulled"
    assert image_id(runtime, image_absent) is not None


def test_run_pulls_an_image_that_is_only_in_the_registry(
    image_absent: str, runtime: str, opts: tuple[testctr.Option, ...]
) -> None:
    with testctr.run(image_absent, testctr.with_command(*SLEEPER), *opts) as c:
        assert c.exec_simple("echo", "pulled") == "pulled"
    assert image_id(runtime, image_absent) is not None


def test_tag_missing_from_the_registry_is_image_not_found(
    registry_up: None, opts: tuple[testctr.Option, ...], capfd: pytest.CaptureFixture[str]
) -> None:
    # capfd: stderr is not a TTY, so the backend takes its quiet path and the
    # engine's output goes to the error, not to the test's stderr.
    for image in (f"{REGISTRY}/testctr/nope:1", f"{REGISTRY}/testctr/busybox:no-such-tag"):
        with pytest.raises(testctr.ImageNotFound) as info, testctr.run(image, *opts):
            pass
        message = str(info.value)
        assert image in message
        assert "manifest unknown" in message  # the engine's own reason
        assert f"its registry {REGISTRY} has no such image" in message
        assert "typo" not in message
        assert_no_progress(message)
    assert_no_progress(capfd.readouterr().err)


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        ("127.0.0.1:1/x:1", "connection refused"),  # nothing listens on port 1
        ("registry.invalid/x:1", "no such host"),  # .invalid never resolves
    ],
)
def test_unreachable_registry_is_a_pull_error_saying_what_to_do(
    image: str, reason: str, opts: tuple[testctr.Option, ...], capfd: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(testctr.ImagePullError) as info, testctr.run(image, *opts):
        pass
    message = str(info.value)
    assert not isinstance(info.value, testctr.ImageNotFound)
    assert image in message
    assert reason in message  # the engine's own reason
    assert f"its registry {image.partition('/')[0]} cannot be reached" in message
    assert "fix: check the network and the registry's address" in message
    assert "typo" not in message
    assert_no_progress(message)
    assert_no_progress(capfd.readouterr().err)


def test_a_typo_of_a_local_image_says_which(registry_up: None, opts: tuple[testctr.Option, ...]) -> None:
    typo = LOCAL_IMAGE.replace("busybox", "busybx")
    with pytest.raises((testctr.ImagePullError, testctr.ImageNotFound)) as info, testctr.run(typo, *opts):
        pass
    assert str(info.value).endswith(f"hint: {typo} looks like a typo of the local image {LOCAL_IMAGE}")


def test_ensure_image_leaves_a_present_image_alone(registry_up: None, backend_name: str, runtime: str) -> None:
    # LOCAL_IMAGE's registry (testctr.local) does not exist: any pull would fail.
    before = image_id(runtime, LOCAL_IMAGE)
    assert before is not None, f"{LOCAL_IMAGE} is missing in {runtime}: run `bash scripts/provision`"
    ensurer(backend_name, runtime).ensure_image(LOCAL_IMAGE)
    assert image_id(runtime, LOCAL_IMAGE) == before


def test_ensure_image_pulls_an_absent_image(image_absent: str, backend_name: str, runtime: str) -> None:
    ensurer(backend_name, runtime).ensure_image(image_absent)
    pulled = image_id(runtime, image_absent)
    assert pulled is not None
    ensurer(backend_name, runtime).ensure_image(image_absent)  # present now: nothing to do
    assert image_id(runtime, image_absent) == pulled


def test_registry_image_is_the_provisioned_busybox(registry_up: None) -> None:
    """Guards the tests above: they pull what provision pushed, not something else."""
    request = urllib.request.Request(
        f"http://{REGISTRY}/v2/testctr/busybox/manifests/latest",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        manifest = response.read().decode()
    assert image_id("docker", LOCAL_IMAGE) in manifest
