"""``nameko run`` with eventlet's deprecation notice silenced, so service logs stay JSON.

(The notice subclasses Warning, not DeprecationWarning, so PYTHONWARNINGS cannot name it
before eventlet is imported.)
"""
import sys
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

from nameko.cli.main import main  # noqa: E402

if __name__ == "__main__":
    sys.argv[0] = "nameko"
    sys.exit(main())
