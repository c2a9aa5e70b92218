"""`aiexport headroom` (placeholder, filled below)."""

import typer


def register(app: typer.Typer) -> None:
    pass
