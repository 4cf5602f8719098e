"""The ledger's HTTP API (FastAPI). Run with: uvicorn --factory services.ledger.entrypoints.http.app:create_app."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from services.ledger.adapters.pii.keys import SubjectErasedError
from services.ledger.adapters.store import STORE_AWAY
from services.ledger.application.group_commit import GroupCommit, WriterStoppedError
from services.ledger.application.ledger import ConcurrentWriteError
from services.ledger.bootstrap import LedgerServices, build
from services.ledger.domain.errors import InvalidCommandError, RuleViolationError
from services.ledger.entrypoints.background import start_background
from services.ledger.entrypoints.console import UPLOAD_PATH, close_console, install_console
from services.ledger.entrypoints.http import commands, evidence, reports
from services.ledger.entrypoints.relay import relay_for
from services.ledger.settings import LedgerSettings
from services.platform.errors import add_validation_handler
from services.platform.guards import guard
from services.platform.health import health_router
from services.platform.tasks import stop_tasks

log = logging.getLogger("services.ledger")


def create_app(settings: LedgerSettings | None = None, *, wired: LedgerServices | None = None) -> FastAPI:
    """The ledger's ASGI app, from `wired` services, else built from `settings` or the environment."""
    wired = wired or build(settings or LedgerSettings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        writer = asyncio.create_task(group.run(stop), name="group-commit")  # stops after the queue is answered
        tasks = [writer, *start_background(wired, relay, stop)]
        yield
        await stop_tasks(tasks, stop)
        await close_console(app)
        wired.close()

    app = FastAPI(
        title="Consent ledger",
        version="0.1.0",
        description="Every consent act of ESPERANCE-RK LLP's personal-data policy, as an immutable event.",
        lifespan=lifespan,
    )
    app.state.ledger = wired
    app.state.tokens = wired.tokens
    app.state.group_commit = group = GroupCommit(wired.commands)
    relay = relay_for(wired) if wired.settings.ledger_run_relay else None

    def details() -> dict[str, Any]:
        if relay is None:
            return {"relay": "runs elsewhere (consent-ledger relay)"}
        return {"relay": {"leading": relay.leading, "published_position": relay.published, "lag": relay.lag()}}

    settings = wired.settings
    app.include_router(health_router("ledger", settings.kafka(), settings.ledger_store, details))
    for routes in (commands.router, reports.router, evidence.router):
        app.include_router(routes)
    install_console(app, wired)
    add_error_handlers(app)
    guard(
        app,
        max_body_bytes=settings.max_body_bytes,
        setting="CONSENT_MAX_BODY_BYTES",
        unavailable=(*STORE_AWAY, WriterStoppedError),
        larger={UPLOAD_PATH: settings.console_upload_max_bytes},
    )
    return app


def refusal(rule: str, message: str) -> JSONResponse:
    """409 naming the rule that refused the command."""
    return JSONResponse({"rule": rule, "message": message}, status_code=status.HTTP_409_CONFLICT)


def add_error_handlers(app: FastAPI) -> None:
    """Map the domain's refusals to answers a caller can act on, and log them (no personal data)."""

    @app.exception_handler(RuleViolationError)
    async def rule_violation(request: Request, error: RuleViolationError) -> JSONResponse:
        log.info("refused %s %s: %s", request.method, request.url.path, error.rule)
        return refusal(error.rule, error.message)

    @app.exception_handler(SubjectErasedError)
    async def erased(request: Request, error: SubjectErasedError) -> JSONResponse:
        return refusal("subject_erased", str(error))

    @app.exception_handler(ConcurrentWriteError)
    async def concurrent(request: Request, error: ConcurrentWriteError) -> JSONResponse:
        log.warning("refused %s %s: concurrent writes", request.method, request.url.path)
        return refusal("concurrent_write", f"{error}; send the same command again")

    add_validation_handler(app)  # the input is left out of a 422: it may be personal data

    @app.exception_handler(InvalidCommandError)
    async def invalid(request: Request, error: InvalidCommandError) -> JSONResponse:
        detail = [{"loc": ["body", *error.field.split(".")], "msg": error.message, "type": "value_error"}]
        return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
