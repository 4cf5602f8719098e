"""What keeps one caller or one outage from taking a service down: a body size limit (413), 503 while a store is away.

A body larger than the limit is refused before it is read whole, whether it announces its length
or streams in chunks. A request that meets an unreachable database (a restart, a full pool, a lock
or statement timeout) is answered 503 with Retry-After, so callers retry instead of seeing a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.platform.database import UNAVAILABLE, StoreUnavailableError

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5


class BodyLimit:
    """ASGI middleware: 413 for an HTTP request whose body passes `max_bytes` (or the limit of its path in `larger`)."""

    def __init__(self, app: ASGIApp, max_bytes: int, setting: str, larger: Mapping[str, int] | None = None) -> None:
        self.app, self.max_bytes, self.setting = app, max_bytes, setting
        self.larger = dict(larger or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse at once on a Content-Length over the limit; otherwise count the bytes as they arrive."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope["path"], self.max_bytes)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit)
            return
        received, refused, started = 0, False, False

        async def counting_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request" and not started:
                received += len(message.get("body", b""))
                if received > limit:
                    # Answer 413 now; the route sees a client that went away and its answer is dropped.
                    refused = True
                    await self._refuse(scope, receive, send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counting_receive, tracking_send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        log.warning("refused %s %s: body over %d bytes", scope["method"], scope["path"], limit)
        setting = self.setting if limit == self.max_bytes else "a limit of its own for this path"
        detail = f"the request body exceeds the limit of {limit} bytes ({setting})"
        response = JSONResponse({"detail": detail}, status_code=status.HTTP_413_CONTENT_TOO_LARGE)
        await response(scope, receive, send)


def guard(
    app: FastAPI,
    *,
    max_body_bytes: int,
    setting: str,
    unavailable: Sequence[type[Exception]] = (),
    larger: Mapping[str, int] | None = None,
) -> None:
    """Limit `app`'s request bodies and answer 503 for StoreUnavailableError, UNAVAILABLE and `unavailable`.

    `setting` names the environment variable that sets the limit, so a 413 says how to change it;
    `larger` gives paths that take larger bodies (an upload) their own limit.
    """
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes, setting=setting, larger=larger)

    async def store_away(request: Request, error: Exception) -> JSONResponse:
        log.warning("answered 503 to %s %s: %s", request.method, request.url.path, type(error).__name__)
        return JSONResponse(
            {"detail": "a store this service needs is not reachable right now; try again shortly"},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    errors: list[type[Exception]] = [StoreUnavailableError, *UNAVAILABLE, *unavailable]
    for error in errors:
        app.add_exception_handler(error, store_away)
