from testctr.command import main

raise SystemExit(main())
