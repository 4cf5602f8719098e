"""GET /health for every service: liveness plus the state of the Kafka connection."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from services.platform.kafka import answers_metadata


class Health(BaseModel):
    """What /health answers: the service is up; whether its Kafka broker answers right now."""

    service: str = Field(description="Which service answered.", examples=["ledger"])
    status: Literal["ok"] = "ok"
    kafka: Literal["up", "down"] = Field(description="Whether the configured broker answered a metadata request.")
    kafka_bootstrap: str = Field(examples=["127.0.0.1:9092"])
    store: str = Field(description="The kind of store this service writes to.", examples=["sqlite"])


def health_router(service: str, kafka_bootstrap: str, store: str) -> APIRouter:
    """A router with GET /health for `service`; it needs no token."""
    router = APIRouter()

    @router.get("/health", response_model=Health, tags=["operations"])
    async def health() -> Health:
        kafka: Literal["up", "down"] = "up" if await answers_metadata(kafka_bootstrap) else "down"
        return Health(service=service, kafka=kafka, kafka_bootstrap=kafka_bootstrap, store=store)

    return router
