"""The floors bench_http.py measures beside the API, served by uvicorn exactly as the API is.

- `starlette_app`: a bare Starlette route answering the bytes in the file BENCH_BODY_FILE (the
  API's own answer for one dashboard, pre-serialized): what the server, the event loop and HTTP
  cost with no framework work at all.
- `connexion_app`: one trivial operation of a tiny spec (floor.yaml), a sync handler like the
  API's, with no security and no store: what Connexion itself costs per request.
"""

import os
import pathlib

import connexion
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

HERE = pathlib.Path(__file__).resolve().parent


def _bare():
    body = pathlib.Path(os.environ["BENCH_BODY_FILE"]).read_bytes()

    async def serve(_request):
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/api/body", serve)])


def ping():
    return {"ok": True}


def _connexion():
    app = connexion.AsyncApp(__name__, specification_dir=HERE)
    app.add_api("floor.yaml")
    return app


def starlette_app():
    return _bare()


def connexion_app():
    return _connexion()
