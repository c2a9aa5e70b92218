"""The application layer: one function per use case, taking validated inputs and an
authenticated `Actor`, returning data (dicts), never text. The CLI commands, the REST API
(`aiexport.api`) and the web workspace (`aiexport.web`) are thin adapters over it.

    faces:   commands/ (Typer)   api/ (FastAPI)   web/ (Jinja2 + HTMX)
                   \\                  |                 /
    app/:    classify check explain record batch screen ledger holds rules models  (+ auth/)
                   |                                    |
    engine:  law/ engine/ io/ (pure, dated rules)     ledger/ screening/ batch/ (records)
"""

from aiexport.app.errors import AppError, Conflict, Forbidden, NotFound, Unauthenticated

__all__ = ["AppError", "Conflict", "Forbidden", "NotFound", "Unauthenticated"]  # the actor: aiexport.auth.service.Actor
