"""The projector's HTTP API (FastAPI). Run with: uvicorn --factory services.projector.http:create_app."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI

from services.platform.auth import TokenRegistry
from services.platform.errors import add_validation_handler
from services.platform.guards import guard
from services.platform.health import health_router
from services.platform.tasks import stop_tasks
from services.projector.consumer import run_projector
from services.projector.overview_routes import overview_router
from services.projector.routes import router
from services.projector.settings import ProjectorSettings
from services.projector.store import ProjectionStore


def utc_now() -> datetime:
    """The current time."""
    return datetime.now(UTC)


def create_app(
    settings: ProjectorSettings | None = None, *, consume: bool = True, clock: Callable[[], datetime] = utc_now
) -> FastAPI:
    """The projector's ASGI app: read models from consent.events.v1 and the check API over them."""
    settings = settings or ProjectorSettings()
    store = ProjectionStore(settings.projector_store)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(run_projector(store, settings, stop), name="projector")] if consume else []
        yield
        await stop_tasks(tasks, stop)
        store.close()

    app = FastAPI(title="Consent projector", version="0.1.0", lifespan=lifespan)
    app.state.store = store
    app.state.tokens = TokenRegistry.from_json(settings.api_tokens)
    app.state.clock = clock
    app.state.settings = settings
    app.include_router(health_router("projector", settings.kafka(), settings.projector_store))
    app.include_router(router())
    app.include_router(overview_router())
    add_validation_handler(app)  # a 422 names what is wrong, never the value sent (an IIN, a phone number)
    guard(app, max_body_bytes=settings.max_body_bytes, setting="CONSENT_MAX_BODY_BYTES")
    return app
