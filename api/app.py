"""The Starlette application: health, a JSON overview and (with the API issue) GraphQL.

Endpoints are plain functions: Starlette runs them in its thread pool, so database calls never
block the event loop."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from sqlmodel import Session

from esupervision.models import timesource
from esupervision.models.lights_query import overview


def create_app(engine: Engine) -> Starlette:
    def healthz(_: Request) -> JSONResponse:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # the database is the one thing we cannot work without
            return JSONResponse({"status": "error", "database": str(exc.__class__.__name__)}, 503)
        return JSONResponse({"status": "ok", "database": engine.dialect.name,
                             "now": timesource.now().isoformat()})

    def overview_json(_: Request) -> JSONResponse:
        with Session(engine) as session:
            body = overview(session, now=timesource.now())
        return JSONResponse(body)

    return Starlette(routes=[
        Route("/healthz", healthz),
        Route("/overview", overview_json),
        Route("/", overview_json),
    ])
