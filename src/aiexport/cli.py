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
    try:
        app()
    except InputErrors as exc:
        fail(exc.errors)
    except InputError as exc:
        fail([exc])


if __name__ == "__main__":
    main()
