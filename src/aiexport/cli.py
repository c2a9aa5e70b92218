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
    from aiexport.commands import chips as chips_cmd

    chips_cmd.register(app)
    for module, attr in (
        ("aiexport.commands.check", "register"),
        ("aiexport.commands.models", "register"),
        ("aiexport.commands.rules", "register"),
        ("aiexport.ledger.cli", "register"),
    ):
        try:
            mod = __import__(module, fromlist=[attr])
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("aiexport"):
                continue
            raise
        getattr(mod, attr)(app)


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
