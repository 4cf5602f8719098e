"""The projector's HTTP API (FastAPI). Run with: uvicorn --factory services.projector.http:create_app."""

from __future__ import annotations

from fastapi import FastAPI

from services.platform.health import health_router
from services.platform.settings import store_kind
from services.projector.settings import ProjectorSettings


def create_app(settings: ProjectorSettings | None = None) -> FastAPI:
    """The projector's ASGI app, configured from `settings` or the environment."""
    settings = settings or ProjectorSettings()
    app = FastAPI(title="Consent projector", version="0.1.0")
    app.include_router(health_router("projector", settings.kafka_bootstrap, store_kind(settings.projector_store)))
    return app
