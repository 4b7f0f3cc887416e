from station.app.cli import main

raise SystemExit(main())
