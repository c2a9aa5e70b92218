"""The `aiexport` command line (Typer + Rich)."""

from __future__ import annotations

import typer

from aiexport.commands.common import fail
from aiexport.errors import InputError, InputErrors

app = typer.Typer(
    help="aiexport: US export controls on AI compute (3A090/4A090, AI Diffusion, 4E091), "
    "executable and explained. Every answer is as of a date, under a posture, naming its rules.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            v = version("aiexport")
        except PackageNotFoundError:
            v = "unknown (not installed)"
        typer.echo(f"aiexport {v}")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: bool = typer.Option(False, "--version", help="Print the version and exit.", callback=_version, is_eager=True),
) -> None:
    """aiexport: US export controls on AI compute, executable and explained."""


def _register() -> None:
    from aiexport.commands import batch, check, chips, headroom, models, report, rules, whatif
    from aiexport.ledger import cli as ledger_cli

    for module in (chips, check, batch, models, rules, ledger_cli, whatif, headroom, report):
        module.register(app)
    from aiexport.commands import lists, screen

    for module in (screen, lists):
        module.register(app)


_register()


def main() -> None:
    """Every input error exits 2 with its message; lock contention exits 75; never a traceback
    (an unexpected error prints one line and exits 70; AIEXPORT_DEBUG=1 shows the traceback)."""
    import os
    import sys

    from aiexport.errors import EXIT_INTERNAL, report_unexpected

    try:
        try:
            app()
        except InputErrors as exc:
            fail(exc.errors)
        except InputError as exc:
            fail([exc])
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: a message, not a traceback
        if os.environ.get("AIEXPORT_DEBUG"):
            raise
        sys.exit(report_unexpected(exc) or EXIT_INTERNAL)


if __name__ == "__main__":
    main()
