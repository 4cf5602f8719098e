"""GET /health for every service: liveness plus the state of the Kafka connection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from anyio import to_thread
from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from services.platform.kafka import answers_metadata


class Health(BaseModel):
    """What /health answers: the service is up; whether its Kafka broker answers right now."""

    service: str = Field(description="Which service answered.", examples=["ledger"])
    status: Literal["ok"] = "ok"
    kafka: Literal["up", "down"] = Field(description="Whether the configured broker answered a metadata request.")
    kafka_bootstrap: str = Field(examples=["127.0.0.1:9092"])
    store: str = Field(description="The kind of store this service writes to.", examples=["sqlite"])
    details: dict[str, Any] = Field(default={}, description="Service-specific figures, e.g. the relay's lag.")


def health_router(
    service: str, kafka_bootstrap: str, store: str, details: Callable[[], dict[str, Any]] | None = None
) -> APIRouter:
    """A router with GET /health for `service` and GET /metrics (Prometheus); neither needs a token.

    `details` is called in a worker thread (it may read the database).
    """
    router = APIRouter()

    @router.get("/health", response_model=Health, tags=["operations"])
    async def health() -> Health:
        kafka: Literal["up", "down"] = "up" if await answers_metadata(kafka_bootstrap) else "down"
        extra = await to_thread.run_sync(details) if details else {}
        return Health(service=service, kafka=kafka, kafka_bootstrap=kafka_bootstrap, store=store, details=extra)

    @router.get("/metrics", tags=["operations"], response_class=PlainTextResponse)
    def metrics() -> PlainTextResponse:
        """Prometheus metrics of this process."""
        return PlainTextResponse(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
