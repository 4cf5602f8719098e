"""GET /health for every service: each dependency (store, broker) checked with a time limit, so it never hangs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Literal

from anyio import to_thread
from fastapi import APIRouter, Response, status
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from services.platform.database import reachable
from services.platform.kafka import KafkaAccess, answers_metadata
from services.platform.settings import store_kind

CHECK_SECONDS = 3.0  # no dependency check takes longer; one that would counts as down

Status = Literal["ok", "degraded", "unavailable"]
UpDown = Literal["up", "down"]


class Health(BaseModel):
    """What /health answers: each dependency up or down, and what that means for the service."""

    service: str = Field(description="Which service answered.", examples=["ledger"])
    status: Status = Field(
        description="ok: every dependency answers. degraded: Kafka is away (HTTP still works; events wait and "
        "are published once it is back). unavailable: the store is away (answered with HTTP 503)."
    )
    kafka: UpDown = Field(description="Whether the configured broker answered a metadata request.")
    kafka_bootstrap: str = Field(examples=["127.0.0.1:9092"])
    store: str = Field(description="The kind of store this service writes to.", examples=["sqlite"])
    database: UpDown = Field(description="Whether the store answered a query.")
    details: dict[str, Any] = Field(default={}, description="Service-specific figures, e.g. the relay's lag.")


async def _within(seconds: float, check: Callable[[], Any], fallback: Any) -> Any:
    """`check()` run in a worker thread, or `fallback` if it has not answered within `seconds`."""
    try:
        return await asyncio.wait_for(to_thread.run_sync(check, abandon_on_cancel=True), timeout=seconds)
    except TimeoutError:
        return fallback


def health_router(
    service: str, kafka: KafkaAccess, store_url: str, details: Callable[[], dict[str, Any]] | None = None
) -> APIRouter:
    """A router with GET /health for `service` and GET /metrics (Prometheus); neither needs a token.

    `details` is called in a worker thread once the store answered (it may read it), with the same time limit.
    """
    router = APIRouter()

    @router.get(
        "/health",
        response_model=Health,
        tags=["operations"],
        responses={503: {"model": Health, "description": "The store is unreachable."}},
    )
    async def health(response: Response) -> Health:
        """Each dependency's state, checked now; 503 while the store is unreachable."""
        kafka_up, store_up = await asyncio.gather(
            _kafka(kafka),
            _within(CHECK_SECONDS, lambda: reachable(store_url), False),
        )
        extra: dict[str, Any] = {}
        if details is not None and store_up:
            extra = await _within(CHECK_SECONDS, details, {"error": "no answer within the time limit"})
        state: Status = "ok" if kafka_up and store_up else "degraded" if store_up else "unavailable"
        if not store_up:
            response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return Health(
            service=service,
            status=state,
            kafka="up" if kafka_up else "down",
            kafka_bootstrap=kafka.bootstrap_servers,
            store=store_kind(store_url),
            database="up" if store_up else "down",
            details=extra,
        )

    @router.get("/metrics", tags=["operations"], response_class=PlainTextResponse)
    def metrics() -> PlainTextResponse:
        """Prometheus metrics of this process."""
        return PlainTextResponse(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


async def _kafka(kafka: KafkaAccess) -> bool:
    try:
        return await asyncio.wait_for(answers_metadata(kafka), timeout=CHECK_SECONDS)
    except TimeoutError:
        return False
