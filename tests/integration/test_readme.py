"""Every ```python block of README.md runs, on Docker.

A block with a test or a fixture runs in its own pytest (a fixture-only block
gets a test that asks for each of its fixtures); any other block runs as a
script. Both start with ``import pytest, testctr``. A block that cannot run
here is preceded by ``<!-- not-run: why -->`` in the README: the list of those
is checked too, so a block is never dropped silently.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.engine

README = Path(__file__).parents[2] / "README.md"
BLOCK = re.compile(r"(?:<!-- not-run: (?P<why>[^>]*?) -->\s*\n)?^```python\n(?P<code>.*?)^```", re.M | re.S)
PRELUDE = "import pytest\nimport testctr\n\n"
#: Blocks not run here, by their reason: changing this list is a decision, not an accident.
NOT_RUN = {"needs macOS", "my-app is the reader's own image"}

#: Files the README's Compose example names, written beside a block that uses Compose.
#: Official image names: the run's TESTCTR_IMAGE_MAP puts the local images in their place.
COMPOSE_FILES = {
    "tests/compose.yml": """\
services:
  db:
    image: postgres:15
    environment:
      POSTGRES_PASSWORD: ${DB_PASSWORD}
  web:
    image: httpd
    ports: ["80"]
""",
    "compose.yml": """\
services:
  db:
    image: postgres:15
    environment:
      POSTGRES_PASSWORD: secret
""",
    "compose.ci.yml": """\
services:
  db:
    environment:
      POSTGRES_DB: ci
""",
}


def blocks() -> list[tuple[int, str, str | None]]:
    text = README.read_text()
    return [(text[: m.start("code")].count("\n") + 1, m["code"], m["why"]) for m in BLOCK.finditer(text)]


def test_only_the_listed_blocks_are_skipped() -> None:
    found = blocks()
    assert len(found) >= 6
    assert {why for _, _, why in found if why} == NOT_RUN


def fixtures_defined(tree: ast.Module) -> list[str]:
    names = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and any("fixture" in ast.unparse(d) for d in node.decorator_list):
            names.append(node.name)
        elif (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and "fixture" in ast.unparse(node.value.func)
        ):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
    return names


@pytest.mark.parametrize(("line", "code"), [(line, code) for line, code, why in blocks() if not why])
def test_block_runs(line: int, code: str, tmp_path: Path) -> None:
    tree = ast.parse(code)
    env = {**os.environ, "TESTCTR_RUNTIME": "docker", "TESTCTR_REUSE": "false"}  # reuse would outlive the test
    is_test = any(isinstance(n, ast.FunctionDef) and n.name.startswith("test_") for n in tree.body)
    fixtures = fixtures_defined(tree)
    if "testctr.compose" in code:
        for name, text in COMPOSE_FILES.items():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text(text)
    if is_test or fixtures:
        source = PRELUDE + code
        if not is_test:
            source += f"\n\ndef test_readme_fixtures({', '.join(fixtures)}):\n    pass\n"
        (tmp_path / "test_readme_block.py").write_text(source)
        argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_readme_block.py"]
    else:
        (tmp_path / "block.py").write_text(PRELUDE + code)
        argv = [sys.executable, "block.py"]
    result = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"README.md line {line}:\n{result.stdout}\n{result.stderr}"
