"""`aiexport users`: the first admin (explicit set-up), users with roles, API tokens, passwords.

The CLI acts as the configured local user: $AIEXPORT_TOKEN, else the token file that
`users init` or `users token NAME --save` writes. A name typed on the command line is not an
identity."""

from __future__ import annotations

import json
import sys

import typer

from aiexport.commands.common import console, err_console


def _ledger(db: str | None):
    from aiexport.ledger import Ledger

    return Ledger(db)


def _fail(exc) -> None:
    from aiexport.app.errors import AppError

    if isinstance(exc, AppError):
        from aiexport.commands.common import app_fail

        app_fail(exc)
    raise exc


def _password(ask: bool) -> str | None:
    if not ask:
        return None
    import os

    pw = os.environ.get("AIEXPORT_PASSWORD")  # for scripts and tests; interactive use is prompted
    if pw is None:
        pw = typer.prompt("Password (8 characters or more)", hide_input=True, confirmation_prompt=True)
    if len(pw) < 8:
        err_console.print("[bold red]error:[/] command line, --password: expected a password of 8 characters or more")
        raise typer.Exit(2)
    return pw


def register(app: typer.Typer) -> None:
    users = typer.Typer(help="Users with roles (viewer < analyst < officer < admin), API tokens and passwords.",
                        no_args_is_help=True)
    DB = typer.Option(None, "--db", help="Ledger database URL (default as for `ledger`).")

    @users.command("init")
    def init(name: str = typer.Argument(..., help="The first admin's user name."),
             password: bool = typer.Option(False, "--password", help="Also set a password for the web workspace (prompted, or $AIEXPORT_PASSWORD)."),
             save: bool = typer.Option(True, "--save/--no-save", help="Write the token to the local token file (the CLI's identity)."),
             db: str = DB) -> None:
        """The explicit set-up step: create the first admin (only when there is no user yet) and print its token."""
        from aiexport.app.errors import AppError
        from aiexport.auth import service as auth

        pw = _password(password)
        with _ledger(db) as led:
            try:
                token = auth.init_admin(led, name, pw)
            except AppError as exc:
                _fail(exc)
        where = f"; saved to {auth.save_token(token)} (this CLI now acts as {name})" if save else ""
        err_console.print(f"First admin {name!r} created{where}. The token is shown once:", highlight=False)
        sys.stdout.write(token + "\n")

    @users.command("add")
    def add(name: str = typer.Argument(...),
            role: str = typer.Option(..., "--role", help="viewer, analyst, officer or admin."),
            password: bool = typer.Option(False, "--password", help="Set a password for the web workspace (prompted, or $AIEXPORT_PASSWORD)."),
            db: str = DB) -> None:
        """Add a user (or change a user's role): admins only. Prints the user's new API token."""
        from aiexport.app.errors import AppError
        from aiexport.auth import service as auth

        pw = _password(password)
        with _ledger(db) as led:
            try:
                user, token = auth.add_user(led, auth.local_actor(led), name, role, pw)
            except AppError as exc:
                _fail(exc)
        err_console.print(f"User {user['name']!r} has the role {user['role']}. API token (shown once):", highlight=False)
        sys.stdout.write(token + "\n")

    @users.command("token")
    def token(name: str = typer.Argument(...),
              save: bool = typer.Option(False, "--save", help="Write it to the local token file: this CLI then acts as NAME."),
              db: str = DB) -> None:
        """A new API token for NAME (admins for anyone, a user for themself); the old token stops working."""
        from aiexport.app.errors import AppError
        from aiexport.auth import service as auth

        with _ledger(db) as led:
            try:
                tok = auth.issue_token(led, auth.local_actor(led), name)
            except AppError as exc:
                _fail(exc)
        if save:
            err_console.print(f"saved to {auth.save_token(tok)}", highlight=False)
        sys.stdout.write(tok + "\n")

    @users.command("password")
    def password_cmd(name: str = typer.Argument(...), db: str = DB) -> None:
        """Set NAME's web password (admins for anyone, a user for themself)."""
        from aiexport.app.errors import AppError
        from aiexport.auth import service as auth

        pw = _password(True)
        with _ledger(db) as led:
            try:
                auth.set_password(led, auth.local_actor(led), name, pw)
            except AppError as exc:
                _fail(exc)
        console.print(f"Password of {name!r} set.")

    @users.command("disable")
    def disable(name: str = typer.Argument(...), db: str = DB) -> None:
        """Disable a user and revoke their token (admins only; never the last admin)."""
        from aiexport.app.errors import AppError
        from aiexport.auth import service as auth

        with _ledger(db) as led:
            try:
                auth.disable_user(led, auth.local_actor(led), name)
            except AppError as exc:
                _fail(exc)
        console.print(f"User {name!r} disabled.")

    @users.command("list")
    def list_cmd(db: str = DB) -> None:
        """Every user and role (admins only)."""
        from aiexport.app.errors import AppError
        from aiexport.auth import service as auth

        with _ledger(db) as led:
            try:
                rows = auth.list_users(led, auth.local_actor(led))
            except AppError as exc:
                _fail(exc)
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")

    @users.command("whoami")
    def whoami(db: str = DB) -> None:
        """Who this CLI acts as: the configured local user, or the local admin while no user exists."""
        from aiexport.app.errors import AppError
        from aiexport.auth import service as auth

        with _ledger(db) as led:
            try:
                a = auth.cli_identity(led)
            except AppError as exc:
                _fail(exc)
        console.print(f"{a.name} ({a.role})")

    app.add_typer(users, name="users")
