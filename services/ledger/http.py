"""The ledger's HTTP API (FastAPI). Run with: uvicorn --factory services.ledger.http:create_app."""

from __future__ import annotations

from fastapi import FastAPI

from services.ledger.settings import LedgerSettings
from services.platform.health import health_router
from services.platform.settings import store_kind


def create_app(settings: LedgerSettings | None = None) -> FastAPI:
    """The ledger's ASGI app, configured from `settings` or the environment."""
    settings = settings or LedgerSettings()
    app = FastAPI(title="Consent ledger", version="0.1.0")
    app.include_router(health_router("ledger", settings.kafka_bootstrap, store_kind(settings.ledger_store)))
    return app
