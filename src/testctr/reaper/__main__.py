"""``python -m testctr.reaper ARGS``: the watchdog, or with ``--outlive`` the one that outlives a worker."""

import sys

from testctr.reaper import outlive


def main(argv: list[str]) -> int:
    if argv[:1] == [outlive.FLAG]:
        return outlive.main(argv[1:])
    from testctr.reaper import watchdog  # only the watchdog that runs: see its docstring

    return watchdog.main(argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
