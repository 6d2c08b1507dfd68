"""`python -m purpose_desktop` → cli.main()."""

from purpose_desktop.cli import main

raise SystemExit(main())
