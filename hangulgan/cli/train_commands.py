"""Commands of this stage (filled in by the issue that builds the stage)."""

import click


def register(group: click.Group) -> None:
    """Add this module's commands to ``group``."""
