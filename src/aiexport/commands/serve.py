"""`aiexport serve`: the REST API (/v1, OpenAPI at /openapi.json, docs at /docs) and the web
workspace (/) on the ledger database."""

from __future__ import annotations

import os

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0 for every interface)."),
        port: int = typer.Option(8000, "--port", min=1, max=65535),
        db: str = typer.Option(None, "--db", help="Ledger database URL (default: $AIEXPORT_DATABASE_URL or the default SQLite file)."),
        workers: int = typer.Option(1, "--workers", min=1, help="Server processes (sessions need AIEXPORT_SECRET_KEY when > 1)."),
    ) -> None:
        """Start the API and the web workspace. Every request is authenticated (API token or web login)."""
        import uvicorn

        from aiexport.commands.common import err_console
        from aiexport.ledger import db as dbmod

        if db:
            os.environ[dbmod.ENV_URL] = db  # the recording code opens the ledger by this variable too
        url = dbmod.resolve_url(db)
        err_console.print(f"aiexport serving http://{host}:{port}/ (API /v1, docs /docs) on the ledger "
                          f"{dbmod.display_url(url)}, once the rules are warmed up (a few seconds)", highlight=False)
        if workers > 1:
            if not os.environ.get("AIEXPORT_SECRET_KEY"):
                err_console.print("[yellow]--workers > 1 without AIEXPORT_SECRET_KEY: web sessions do not carry "
                                  "across processes[/]")
            uvicorn.run("aiexport.api.server:app", host=host, port=port, workers=workers, log_level="warning")
        else:
            from aiexport.api import create_app

            uvicorn.run(create_app(url, warm=True), host=host, port=port, log_level="warning")
