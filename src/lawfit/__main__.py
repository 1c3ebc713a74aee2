"""``python -m lawfit``: the command line (the same as the ``lawfit`` script)."""

from lawfit.cli import main

raise SystemExit(main())
