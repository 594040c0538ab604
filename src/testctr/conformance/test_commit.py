"""Clause commit: commit a container, then a new container from the image sees the file.

A backend whose engine cannot make an image from a container raises
UnsupportedOption("commit") (shown as ok*); for an unknown id it still raises
ContainerNotFound (clause lifecycle checks that).
"""

from __future__ import annotations

import os
import warnings

import pytest

import testctr
from testctr.backend.protocols import Backend, ImageLister, ImageRemover
from testctr.conformance._support import BUSYBOX, SLEEPER, record_unsupported

pytestmark = [pytest.mark.clause("commit"), pytest.mark.engine]


def test_commit_then_run_the_committed_image(request: pytest.FixtureRequest, backend: Backend) -> None:
    source = testctr.new(request, BUSYBOX, testctr.with_command(*SLEEPER), testctr.with_wait_for_log("ready"))
    content = "committed-" + os.urandom(4).hex()
    source.exec_simple("sh", "-c", f"echo {content} > /committed.txt")
    # "localhost/" is a registry host: TESTCTR_IMAGE_PREFIX leaves the name alone.
    image = f"localhost/testctr-conformance-commit:{os.urandom(4).hex()}"

    def remove_image() -> None:
        if isinstance(backend, ImageRemover):
            backend.remove_image(image)
        else:
            warnings.warn(f"backend cannot remove images: {image} is left behind", stacklevel=1)

    try:
        source.commit(image)
    except testctr.UnsupportedOption as e:
        assert e.option == "commit", f"UnsupportedOption names commit, got {e.option!r}"
        record_unsupported(request, "commit")
        return
    # Finalizers run last-in first-out: the image goes after the container made from it.
    request.addfinalizer(remove_image)
    copy = testctr.new(request, image, testctr.with_command(*SLEEPER), testctr.with_wait_for_log("ready"))
    assert copy.exec_simple("cat", "/committed.txt") == content
    assert copy.id != source.id
    if isinstance(backend, ImageLister):  # what the missing-image hint compares a typo with
        assert image in backend.list_images()
