"""``suite sip2 ...`` commands (filled in by the SIP2 work)."""


def add_commands(sub) -> None:
    """Add the ``sip2`` subcommand to the ``suite`` parser."""
