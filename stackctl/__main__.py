from stackctl.cli import main

raise SystemExit(main())
