"""Copies into containers through Podman's Docker-compatible API: failures per archive shape.

    python benchmarks/podman_copy.py [--copies 600] [--socket /run/podman/podman.sock]

Podman's copier stops reading an archive at its two zero EOF blocks, so a tar
with tarfile's default padding (up to a 10 KiB record) after them fails now
and then with "passing bulk input to subprocess: write |1: broken pipe".
testctr's ``file_tar`` ends at the EOF blocks. This sends the same files both
ways, interleaved, from six threads (concurrent tests, as under ``pytest -n``),
and prints how many copies failed for each: the padded archive is the baseline
measured in the same run. It prints, never gates.
"""

from __future__ import annotations

import argparse
import sys
import tarfile
import threading
import time

from testctr.backends.docker_family import file_tar

IMAGE = "testctr.local/busybox:latest"
THREADS = 6
FILES_PER_CONTAINER = 5


def padded(blob: bytes) -> bytes:
    """``blob`` padded to a whole tarfile record, as tarfile.close() writes it."""
    return blob + bytes(-len(blob) % tarfile.RECORDSIZE)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=600, help="copies per archive shape (default 600)")
    parser.add_argument("--socket", default="/run/podman/podman.sock")
    args = parser.parse_args()
    try:
        import docker
    except ImportError:
        print("podman_copy: needs the docker SDK (pip install 'testctr[docker]')")
        return 0
    api = docker.APIClient(base_url=f"unix://{args.socket}", timeout=60)
    try:
        api.ping()
    except Exception as e:  # any failure means: nothing to measure here
        print(f"podman_copy: no Podman API on {args.socket} ({e}); nothing measured")
        return 0

    shapes = {"padded (tarfile default)": padded, "testctr file_tar": lambda b: b}
    failures = dict.fromkeys(shapes, 0)
    copies = dict.fromkeys(shapes, 0)
    errors: set[str] = set()
    lock = threading.Lock()
    per_thread = max(1, args.copies // (THREADS * FILES_PER_CONTAINER))

    def worker() -> None:
        for _ in range(per_thread):
            for shape, make in shapes.items():
                container = api.create_container(IMAGE, command=["sleep", "60"])["Id"]
                try:
                    for i in range(FILES_PER_CONTAINER):
                        blob = make(file_tar(f"/data/f{i}.txt", b"x" * (i * 700), None))
                        try:
                            api.put_archive(container, "/", blob)
                            ok = True
                        except docker.errors.APIError as e:
                            ok = False
                            with lock:
                                errors.add(str(e.explanation))
                        with lock:
                            copies[shape] += 1
                            failures[shape] += not ok
                finally:
                    api.remove_container(container, force=True)

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"podman_copy: {THREADS} threads, {time.monotonic() - started:.1f} s, Podman API on {args.socket}")
    for shape in shapes:
        print(f"  {shape:<26} {failures[shape]:>4} failed of {copies[shape]} copies")
    for error in sorted(errors):
        print(f"  error seen: {error}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
