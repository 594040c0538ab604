import sys

from testctr.reaper import outlive
from testctr.reaper.watchdog import main

if sys.argv[1:2] == [outlive.FLAG]:
    raise SystemExit(outlive.main(sys.argv[2:]))
raise SystemExit(main(sys.argv[1:]))
