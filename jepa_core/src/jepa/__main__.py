"""``python -m jepa``: the jepa command line."""

from jepa_core.cli import main

raise SystemExit(main())
