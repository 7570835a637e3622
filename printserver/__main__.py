"""``python -m printserver`` is the ``printserver`` command."""

from printserver.cli import main

raise SystemExit(main())
