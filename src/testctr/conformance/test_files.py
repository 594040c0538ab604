"""Clause files: from a path, bytes, str or reader; mode bits; missing parents; copy out."""

from __future__ import annotations

import io
import os
import pathlib

import pytest

import testctr
from testctr.backend.protocols import Backend, FileCopier
from testctr.conformance._support import BUSYBOX, SLEEPER, record_unsupported, sleeper_command

pytestmark = [pytest.mark.clause("files"), pytest.mark.engine]

ALL_BYTES = bytes(range(256)) * 3


def _mode(c: testctr.Container, path: str) -> str:
    return c.exec_simple("stat", "-c", "%a", path)


def test_files_placed_before_start(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> None:
    host_file = tmp_path / "app.conf"
    host_file.write_text("from-a-host-file\n")
    host_file.chmod(0o640)
    try:
        c = testctr.new(
            request,
            BUSYBOX,
            testctr.with_file(host_file, "/etc/app/app.conf"),
            testctr.with_file_content(ALL_BYTES, "/data/all.bin"),
            testctr.with_file_content("text, not bytes: é\n", "/data/text.txt"),
            testctr.with_file_content(io.BytesIO(b"from a reader"), "/deep/a/b/c/reader.txt", mode=0o600),
            testctr.with_file_content(b"#!/bin/sh\necho script-ran\n", "/usr/local/bin/hello", mode=0o755),
            # The entrypoint sees the file: it is there before the container starts.
            testctr.with_command(*sleeper_command("cat /etc/app/app.conf")),
            testctr.with_wait_for_log("from-a-host-file"),
        )
    except testctr.UnsupportedOption as e:
        assert e.option == "with_file"
        record_unsupported(request, "with_file")
        return
    assert c.copy_from("/etc/app/app.conf") == b"from-a-host-file\n"
    assert _mode(c, "/etc/app/app.conf") == "640", "with_file keeps the host file's mode"
    assert c.copy_from("/data/all.bin") == ALL_BYTES
    assert c.copy_from("/data/text.txt").decode() == "text, not bytes: é\n"
    assert c.copy_from("/deep/a/b/c/reader.txt") == b"from a reader"
    assert _mode(c, "/deep/a/b/c/reader.txt") == "600"
    assert c.exec_simple("hello") == "script-ran"
    assert _mode(c, "/usr/local/bin/hello") == "755"


@pytest.fixture
def box(request: pytest.FixtureRequest, backend: Backend) -> testctr.Container:
    return testctr.new(request, BUSYBOX, testctr.with_command(*SLEEPER), testctr.with_wait_for_log("ready"))


def test_copy_to_a_running_container(
    request: pytest.FixtureRequest, backend: Backend, box: testctr.Container, tmp_path: pathlib.Path
) -> None:
    if not isinstance(backend, FileCopier):
        with pytest.raises(testctr.UnsupportedOption):
            box.copy_to(b"x", "/tmp/x")
        record_unsupported(request, "copy_to")
        return
    box.copy_to(b"bytes-in", "/tmp/new/dir/bytes.bin")
    assert box.exec_simple("cat", "/tmp/new/dir/bytes.bin") == "bytes-in"
    box.copy_to(io.BytesIO(b"reader-in"), "/opt/reader.txt", mode=0o700)
    assert box.exec_simple("cat", "/opt/reader.txt") == "reader-in"
    assert _mode(box, "/opt/reader.txt") == "700"
    host_file = tmp_path / "script.sh"
    host_file.write_bytes(b"#!/bin/sh\necho copied-script\n")
    host_file.chmod(0o750)
    box.copy_to(str(host_file), "/usr/local/bin/copied")
    assert box.exec_simple("copied") == "copied-script"
    assert _mode(box, "/usr/local/bin/copied") == "750"
    assert _mode(box, "/tmp") == "1777", "copying into /tmp/... must not change /tmp itself"


def test_overwrite_and_large_binary_roundtrip(
    request: pytest.FixtureRequest, backend: Backend, box: testctr.Container
) -> None:
    if not isinstance(backend, FileCopier):
        record_unsupported(request, "copy_to")
        return
    big = os.urandom(1 << 20) + ALL_BYTES
    box.copy_to(b"old", "/tmp/blob")
    box.copy_to(big, "/tmp/blob")
    assert box.copy_from("/tmp/blob") == big
    assert box.exec_simple("wc", "-c", "/tmp/blob").split()[0] == str(len(big))


def test_copy_out_of_the_container(request: pytest.FixtureRequest, backend: Backend, box: testctr.Container) -> None:
    if not isinstance(backend, FileCopier):
        record_unsupported(request, "copy_from")
        return
    box.exec_simple("sh", "-c", "printf 'made inside\\n' > /tmp/inside.txt")
    assert box.copy_from("/tmp/inside.txt") == b"made inside\n"
    with pytest.raises(testctr.TestctrError) as info:
        box.copy_from("/tmp/testctr-no-such-file")
    assert not isinstance(info.value, testctr.ContainerNotFound), "the container exists; the file does not"
