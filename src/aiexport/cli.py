"""The `aiexport` command line (Typer + Rich)."""

from __future__ import annotations

import importlib

import typer
from typer.core import TyperGroup

# Each command's module, imported only when that command runs (or --help lists it): `aiexport
# check` does not import SQLAlchemy, `aiexport --version` imports neither Polars nor Pydantic.
# tests/batch/test_startup.py checks this table against what the modules register.
COMMANDS: dict[str, str] = {
    "classify": "aiexport.commands.chips", "chips": "aiexport.commands.chips", "demo": "aiexport.commands.demo",
    "check": "aiexport.commands.check", "explain": "aiexport.commands.check",
    "batch": "aiexport.commands.batch",
    "models": "aiexport.commands.models", "rules": "aiexport.commands.rules",
    "ledger": "aiexport.commands.ledger", "holds": "aiexport.commands.ledger", "audit": "aiexport.commands.ledger",
    "whatif": "aiexport.commands.whatif", "headroom": "aiexport.commands.headroom", "report": "aiexport.commands.report",
    "screen": "aiexport.commands.screen", "disposition": "aiexport.commands.screen", "lists": "aiexport.commands.lists",
    "serve": "aiexport.commands.serve", "users": "aiexport.commands.users", "veu": "aiexport.commands.veu",
}


def load_command(name: str):
    """The click command NAME, built by its module's `register` on a Typer of its own."""
    sub = typer.Typer(pretty_exceptions_enable=False)
    importlib.import_module(COMMANDS[name]).register(sub)
    return typer.main.get_group(sub).commands[name]


class LazyGroup(TyperGroup):
    def list_commands(self, ctx) -> list[str]:
        return list(dict.fromkeys([*COMMANDS, *super().list_commands(ctx)]))

    def get_command(self, ctx, name: str):
        cmd = super().get_command(ctx, name)
        if cmd is None and name in COMMANDS:
            cmd = load_command(name)
            self.add_command(cmd, name)
        return cmd


app = typer.Typer(
    cls=LazyGroup,
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


class _Notes:
    """Prints the notes the lower layers log on ``aiexport.notes`` (e.g. "parties NOT screened")
    on stderr, as `note: ...`: the layers below the faces never print."""

    installed = False

    @classmethod
    def install(cls) -> None:
        import logging

        if cls.installed:
            return

        class Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                from aiexport.commands.common import err_console

                err_console.print(f"[yellow]note:[/] {record.getMessage()}", highlight=False, soft_wrap=True)

        log = logging.getLogger("aiexport.notes")
        log.addHandler(Handler())
        log.setLevel(logging.INFO)
        log.propagate = False
        cls.installed = True


@app.callback()
def _root(
    show_version: bool = typer.Option(False, "--version", help="Print the version and exit.", callback=_version, is_eager=True),
) -> None:
    """aiexport: US export controls on AI compute, executable and explained."""
    _Notes.install()


def main() -> None:
    """Every input error exits 2 with its message; lock contention exits 75; never a traceback
    (an unexpected error prints one line and exits 70; AIEXPORT_DEBUG=1 shows the traceback)."""
    import os
    import sys

    from aiexport.errors import EXIT_INTERNAL, InputError, InputErrors, report_unexpected

    try:
        try:
            app()
        except (InputErrors, InputError) as exc:
            from aiexport.commands.common import fail

            fail(exc.errors if isinstance(exc, InputErrors) else [exc])
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
