import sys

from testctr.reaper import outlive

if sys.argv[1:2] == [outlive.FLAG]:
    raise SystemExit(outlive.main(sys.argv[2:]))

from testctr.reaper import watchdog

raise SystemExit(watchdog.main(sys.argv[1:]))
