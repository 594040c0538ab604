"""The conformance matrix: clause x backend.

One pytest run fills one column (:func:`column`); ``python -m
testctr.conformance.matrix report.json ...`` prints the columns of several runs
side by side and exits 1 when any clause failed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from testctr.conformance import CLAUSES


@dataclass
class ClauseResult:
    passed: int = 0
    failed: int = 0
    #: Options the backend refused with UnsupportedOption (allowed by the contract).
    unsupported: list[str] = field(default_factory=list)
    #: Measurements the clause's tests reported (the reaper's time from SIGKILL to gone).
    notes: list[str] = field(default_factory=list)

    @property
    def cell(self) -> str:
        if self.failed:
            return f"FAIL({self.failed})"
        if not self.passed:
            return "-"
        return "ok*" if self.unsupported else "ok"


@dataclass
class Column:
    label: str
    clauses: dict[str, ClauseResult] = field(default_factory=dict)

    def result(self, clause: str) -> ClauseResult:
        return self.clauses.setdefault(clause, ClauseResult())

    @property
    def failed(self) -> bool:
        return any(r.failed for r in self.clauses.values())

    def to_json(self) -> dict[str, object]:
        return {
            "column": self.label,
            "clauses": {
                name: {
                    "passed": r.passed,
                    "failed": r.failed,
                    "unsupported": sorted(set(r.unsupported)),
                    "notes": r.notes,
                }
                for name, r in self.clauses.items()
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Column:
        col = cls(str(data["column"]))
        clauses = data.get("clauses") or {}
        assert isinstance(clauses, dict)
        for name, r in clauses.items():
            col.clauses[name] = ClauseResult(
                int(r["passed"]), int(r["failed"]), list(r.get("unsupported") or []), list(r.get("notes") or [])
            )
        return col


def render(columns: Sequence[Column]) -> list[str]:
    """The matrix as lines of text: a row per clause, a column per run."""
    names = list(CLAUSES) + sorted({c for col in columns for c in col.clauses} - set(CLAUSES))
    first = max(len("clause"), *(len(n) for n in names))
    widths = [max(len(col.label), 8) for col in columns]
    header = [col.label.ljust(w) for col, w in zip(columns, widths, strict=True)]
    lines = ["  ".join(["clause".ljust(first), *header]).rstrip()]
    for name in names:
        cells = [col.clauses.get(name, ClauseResult()).cell.ljust(w) for col, w in zip(columns, widths, strict=True)]
        lines.append("  ".join([name.ljust(first), *cells]).rstrip())
    notes = []
    for col in columns:
        refused = sorted({opt for r in col.clauses.values() for opt in r.unsupported})
        if refused:
            notes.append(f"  {col.label}: refused {', '.join(refused)}")
    lines.append(
        "ok = every test passed; ok* = passed, some options refused (UnsupportedOption or the engine) "
        "or values reported as unknown; "
        "FAIL(n) = n tests failed; - = not run"
    )
    if notes:
        lines += ["ok* details:", *notes]
    measured = [
        f"  {col.label} {name}: {note}" for col in columns for name, r in col.clauses.items() for note in r.notes
    ]
    if measured:
        lines += ["measured:", *measured]
    return lines


def load(paths: Iterable[str]) -> list[Column]:
    columns = []
    for path in paths:
        with open(path) as f:
            columns.append(Column.from_json(json.load(f)))
    return columns


def main(argv: Sequence[str] | None = None) -> int:
    paths = list(sys.argv[1:] if argv is None else argv)
    if not paths:
        print("usage: python -m testctr.conformance.matrix REPORT.json ...", file=sys.stderr)
        return 2
    columns = load(paths)
    print("\n".join(render(columns)))
    return 1 if any(col.failed for col in columns) else 0


if __name__ == "__main__":
    sys.exit(main())
