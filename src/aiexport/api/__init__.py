"""The REST API (FastAPI): thin routes over `aiexport.app`. `create_app()` builds it."""

from aiexport.api.main import create_app

__all__ = ["create_app"]
