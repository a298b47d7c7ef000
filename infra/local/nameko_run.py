"""``nameko run`` with the libraries' import-time warnings silenced (``infra/__init__.py``), so
service logs stay JSON."""
import sys

from nameko.cli.main import main

if __name__ == "__main__":
    sys.argv[0] = "nameko"
    sys.exit(main())
