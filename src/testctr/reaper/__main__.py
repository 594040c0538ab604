import sys

from testctr.reaper.watchdog import main

raise SystemExit(main(sys.argv[1:]))
