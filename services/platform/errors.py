"""The error bodies both services answer with, declared once for their OpenAPI documents and handlers.

401, 403, 404, 413 and 503 carry `{"detail": "<why>"}`; 409 names the rule that refused
(`{"rule", "message"}`); 422 lists what is wrong, field by field (`{"detail": [{"loc", "msg",
"type"}]}`), and never echoes the value sent: it may be personal data (an IIN in the wrong place).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field


class Problem(BaseModel):
    """Why the request was not served, in plain words."""

    detail: str = Field(examples=["a valid bearer token is required"])


class FieldProblem(BaseModel):
    """One thing wrong with the request: where, what, and its kind (never the value sent)."""

    loc: list[str | int] = Field(examples=[["body", "command_id"]])
    msg: str = Field(examples=["Field required"])
    type: str = Field(examples=["missing"])


class ValidationProblem(BaseModel):
    """A malformed request: each field that is wrong."""

    detail: list[FieldProblem]


class Refusal(BaseModel):
    """A command refused by a rule of the policy, or by a concurrent write."""

    rule: str = Field(examples=["consent_withdrawn"])
    message: str


_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.", "schema": {"type": "integer"}}}
_BEARER = {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}}
ERROR_RESPONSES: dict[int, dict[str, Any]] = {
    401: {"model": Problem, "description": "No valid bearer token.", "headers": _BEARER},
    403: {"model": Problem, "description": "The token lacks the scope this route needs."},
    404: {"model": Problem, "description": "Nothing recorded under this name."},
    409: {"model": Refusal, "description": "Refused by a rule."},
    413: {"model": Problem, "description": "The body exceeds the configured limit."},
    422: {"model": ValidationProblem, "description": "Malformed request: the fields that are wrong."},
    503: {"model": Problem, "description": "A store or the event log is unreachable.", "headers": _RETRY_AFTER},
}


def error_responses(*codes: int, described: Mapping[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for these error status codes with the shared bodies; `described` words them for a route."""
    wording = described or {}
    return {
        code: ERROR_RESPONSES[code] | {"description": wording.get(code, ERROR_RESPONSES[code]["description"])}
        for code in codes
    }


def unprocessable(loc: tuple[str, ...], message: str) -> HTTPException:
    """A 422 in the shape request validation answers with: `raise unprocessable(("query", "as_of"), "...")`."""
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT, [{"loc": list(loc), "msg": message, "type": "value_error"}]
    )


def validation_problem(error: RequestValidationError) -> JSONResponse:
    """The 422 for a request that failed validation: where and why, without the input."""
    detail = [{key: value for key, value in e.items() if key in ("loc", "msg", "type")} for e in error.errors()]
    return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


def add_validation_handler(app: FastAPI) -> None:
    """Answer malformed requests with ValidationProblem (the value sent left out) instead of FastAPI's echo."""

    @app.exception_handler(RequestValidationError)
    async def malformed(request: Request, error: RequestValidationError) -> JSONResponse:
        return validation_problem(error)
