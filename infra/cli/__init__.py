"""The ``suite`` command: ``main.py`` builds its parser from the command modules beside it,
which share ``common.py`` (settings, the RPC proxy, argument types)."""
