"""JSON bodies parsed strictly: text that is not valid UTF-8 is malformed JSON (422), never a 500 later on.

Python's json module accepts a lone surrogate escape (`"\\ud800"`) and hands on a string that no
encoder, database or HMAC can take; orjson refuses it, as it refuses NaN and integers beyond 64 bits.
Routers take `route_class=StrictJsonRoute`; FastAPI then answers such a body as it answers any JSON
that does not parse: 422, `type` json_invalid, at the position it failed.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.routing import APIRoute


class StrictJsonRequest(Request):
    """A request whose JSON body is parsed with orjson (its JSONDecodeError is json's, which FastAPI maps to 422)."""

    async def json(self) -> Any:
        """The body as JSON."""
        if not hasattr(self, "_json"):
            self._json = orjson.loads(await self.body())
        return self._json


class StrictJsonRoute(APIRoute):
    """A route that reads its JSON body with StrictJsonRequest."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler, given the request as a StrictJsonRequest."""
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict
