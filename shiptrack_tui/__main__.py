from shiptrack_tui.cli import main

raise SystemExit(main())
