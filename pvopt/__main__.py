"""``python -m pvopt`` is the ``pvopt`` command."""

from pvopt.cli import main

raise SystemExit(main())
