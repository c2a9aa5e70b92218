"""The `aiexport` command line (Typer + Rich)."""

from __future__ import annotations

import importlib
import logging

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


# What `aiexport --help` lists, without importing every command's module (which would pull in
# Polars, SQLAlchemy and FastAPI). tests/batch/test_startup.py checks each line against the
# command's own help, so the two cannot drift.
SUMMARIES: dict[str, str] = {
    "classify": "Classify chips under ECCN 3A090 as of a date: TPP, PD, paragraph, and why.",
    "chips": "List the bundled accelerator catalog (Epoch AI data, CC BY 4.0).",
    "demo": "The main job on bundled data: the catalog classified today, and its story by rule version.",
    "check": "Does each order need a license? Outcome, exception and obligations, review policy, and the rules.",
    "explain": "A determination memo: facts, each rule tried with its citation, outcome, obligations, and the other posture.",
    "batch": "Decide an order book at columnar speed: the same rules and values as `check`, bad rows to a rejects file.",
    "models": "AI models under ECCN 4E091: the bundled catalog, and training-operations estimates.",
    "rules": "The rules over time: versions, diffs between dates, parameter history.",
    "ledger": "Licenses, allocations and quotas as accounts: open, draw, release, adjust, balance.",
    "holds": "Holds on LICENSE_REQUIRED / NEEDS_FACTS decisions; officers release or reject them.",
    "audit": "The hash-chained audit log of every entry and decision.",
    "whatif": "Run the baseline law and a reform side by side: what flips (chips, orders, models), and why.",
    "headroom": "Distance to each line, per rule version: what a part could gain or must lose to change classification.",
    "report": "Reports to file: standalone HTML or PDF (chosen by the --out suffix), with charts and citations.",
    "screen": "Screen parties against the restricted-party lists (EL, DPL, MEU, UVL, SDN, …); every hit explained.",
    "disposition": "Dispositions of potential matches (false positive / confirmed), recorded in the audit chain.",
    "lists": "Restricted-party lists (trade.gov CSL, OFAC SDN) as versioned data.",
    "serve": "Start the API and the web workspace.",
    "users": "Users with roles (viewer < analyst < officer < admin), API tokens and passwords.",
    "veu": "Validated end-user authorizations on record (15 CFR 748.15): load, show, revoke.",
}


def load_command(name: str):
    """The click command NAME, built by its module's `register` on a Typer of its own."""
    sub = typer.Typer(pretty_exceptions_enable=False)
    importlib.import_module(COMMANDS[name]).register(sub)
    return typer.main.get_group(sub).commands[name]


class LazyGroup(TyperGroup):
    _listing = False  # True while the group's own --help is being written

    def list_commands(self, ctx) -> list[str]:
        return list(dict.fromkeys([*COMMANDS, *super().list_commands(ctx)]))

    def get_command(self, ctx, name: str):
        cmd = super().get_command(ctx, name)
        if cmd is None and name in COMMANDS:
            if self._listing:  # a name and its summary is all the listing needs
                import click

                return click.Command(name, help=SUMMARIES[name], short_help=SUMMARIES[name])
            cmd = load_command(name)
            self.add_command(cmd, name)
        return cmd

    def format_help(self, ctx, formatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


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


class _Notes(logging.Handler):
    """Prints the notes the lower layers log on ``aiexport.notes`` (e.g. "parties NOT screened")
    on stderr, as `note: ...`: the layers below the faces never print."""

    def emit(self, record: logging.LogRecord) -> None:
        from aiexport.commands.common import err_console

        err_console.print(f"[yellow]note:[/] {record.getMessage()}", highlight=False, soft_wrap=True)

    @classmethod
    def install(cls) -> None:
        log = logging.getLogger("aiexport.notes")
        if not any(isinstance(h, cls) for h in log.handlers):
            log.addHandler(cls())
            log.setLevel(logging.INFO)
            log.propagate = False


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

    from aiexport import tune_allocator

    tune_allocator()  # before anything imports Polars
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
