"""Running and operating the suite: the ``suite`` command, the local runner, imports, topology."""
from services.common import known_warnings

known_warnings.silence()   # before anything imports eventlet or dnspython
