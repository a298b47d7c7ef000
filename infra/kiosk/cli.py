"""``suite kiosk ...`` commands (filled in by the kiosk client work)."""


def add_commands(sub) -> None:
    """Add the ``kiosk`` subcommand to the ``suite`` parser."""
