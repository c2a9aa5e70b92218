"""`uvicorn aiexport.api.server:app`: the server on $AIEXPORT_DATABASE_URL (used by `serve --workers N`)."""

from aiexport.api.main import create_app

app = create_app(warm=True)  # (each worker process warms up before it serves)
