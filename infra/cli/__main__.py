"""``python -m infra.cli``: the ``suite`` command."""
from infra.cli.main import main

raise SystemExit(main())
