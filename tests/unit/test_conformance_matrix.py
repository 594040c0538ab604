"""The conformance matrix: rendering and its JSON round trip."""

from __future__ import annotations

import json
import pathlib

import pytest

docker_api = pytest.importorskip("testctr.backends.docker_api", reason="needs the docker extra")


def test_matrix_renders_and_round_trips(tmp_path: pathlib.Path) -> None:
    from testctr.conformance.matrix import ClauseResult, Column, main, render

    a = Column("cli/docker", {"lifecycle": ClauseResult(3), "options": ClauseResult(5, 0, ["with_privileged"])})
    b = Column("x/y", {"lifecycle": ClauseResult(2, 1)})
    lines = render([a, b])
    assert lines[0].split() == ["clause", "cli/docker", "x/y"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:11]}
    assert rows["lifecycle"] == ["ok", "FAIL(1)"]
    assert rows["options"] == ["ok*", "-"]
    assert rows["ports"] == ["-", "-"]
    assert any("with_privileged" in line for line in lines)
    assert Column.from_json(json.loads(json.dumps(a.to_json()))).to_json() == a.to_json()
    path = tmp_path / "a.json"
    path.write_text(json.dumps(b.to_json()))
    assert main([str(path)]) == 1, "a failed clause fails the combined matrix"
    path.write_text(json.dumps(a.to_json()))
    assert main([str(path)]) == 0


def test_measurements_are_listed_under_the_matrix_and_survive_the_json() -> None:
    from testctr.conformance.matrix import ClauseResult, Column, render

    a = Column("cli/docker", {"reaper": ClauseResult(1, notes=["SIGKILL -> container gone in 1.2s"])})
    lines = render([a, Column("x/y", {"reaper": ClauseResult(1)})])
    assert lines[lines.index("measured:") + 1 :] == ["  cli/docker reaper: SIGKILL -> container gone in 1.2s"]
    assert Column.from_json(json.loads(json.dumps(a.to_json()))).clauses["reaper"].notes == a.clauses["reaper"].notes
    assert "measured:" not in render([Column("x/y", {"reaper": ClauseResult(1)})])


def test_every_clause_has_a_row_the_reaper_included() -> None:
    from testctr.conformance import CLAUSES
    from testctr.conformance.matrix import Column, render

    rows = [line.split()[0] for line in render([Column("x/y")])[1 : len(CLAUSES) + 1]]
    assert rows == list(CLAUSES) and "reaper" in rows
