"""The ledger's HTTP routes: one POST per command of the registry, plus history, subject ids and the sealing key."""

from __future__ import annotations

import logging
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from schemas import commands as c
from schemas.fields import Instant
from services.ledger.application.commands import Submitted
from services.ledger.application.contract import to_envelope
from services.ledger.application.identity import Identifier
from services.ledger.application.registry import REGISTRY, SUBJECT, CommandSpec
from services.ledger.application.views import subject_view
from services.ledger.domain.errors import InvalidCommandError
from services.ledger.entrypoints.app_state import group_of, services_of
from services.platform.auth import Principal, require
from services.platform.errors import error_responses, unprocessable
from services.platform.strict_json import StrictJsonRoute

log = logging.getLogger(__name__)


class CommandAccepted(BaseModel):
    """What a command recorded; `replayed` is true for a repeat of a command already applied (nothing new recorded)."""

    subject_id: UUID
    event_ids: list[str] = Field(description="Ids of the events recorded, in order.")
    replayed: bool


class SubjectIdRequest(BaseModel):
    """A person as a channel knows them; the value is never stored or logged."""

    identifier: Identifier
    value: str = Field(min_length=1, max_length=64)


class SubjectIdAnswer(BaseModel):
    """The subject's opaque id."""

    subject_id: UUID


# The subject's command routes as (path under /v1/subjects/{subject_id}, model, scope), from the registry.
COMMAND_ROUTES = [
    (spec.path.removeprefix(SUBJECT), spec.model, spec.scope) for spec in REGISTRY if spec.subject_in_path
]
_REPEAT = (
    "A repeat: the same command id with the same command (actor, occurred_at and correlation ids aside). "
    "The first outcome, nothing recorded again (`replayed` true)."
)
_REFUSED = (
    "Refused by the rule named in `rule`; `command_id_reused` when the command id was used for a different "
    "command (another type or body): nothing is recorded, send the new command under a new id."
)
_COMMAND_ANSWERS = {
    200: {"model": CommandAccepted, "description": _REPEAT},
    **error_responses(401, 403, 409, 413, 422, 503, described={409: _REFUSED}),
}
_NOTHING_RECORDED = {404: "The ledger has recorded nothing for the subject."}


async def apply_command(
    request: Request, subject_id: UUID, command: c.AnyCommand, principal: Principal, response: Response
) -> CommandAccepted:
    """Run a command for an authenticated caller, in a commit shared with concurrent ones; 201 recorded, 200 repeat."""
    wired = services_of(request)
    if command.subject_id is not None and command.subject_id != subject_id:
        raise unprocessable(("body", "subject_id"), "differs from the subject in the path")
    sender = REGISTRY.of(command).sender_field
    if sender is not None and getattr(command, sender) != principal.name:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"a token of {principal.name!r} confirms only for itself")
    actor = f"{principal.name}/{command.actor}" if command.actor else principal.name
    outcome = await group_of(request).submit(Submitted(subject_id, command, actor, wired.clock(), principal.scopes))
    response.status_code = status.HTTP_200_OK if outcome.replayed else status.HTTP_201_CREATED
    return CommandAccepted(subject_id=subject_id, event_ids=outcome.event_ids, replayed=outcome.replayed)


def _command_route(spec: CommandSpec[Any]) -> Any:
    """The route of one command: the subject from the path, or (a path without it) from the body."""

    async def route(
        subject_id: UUID, command: Any, request: Request, response: Response, principal: Any
    ) -> CommandAccepted:
        return await apply_command(request, subject_id, command, principal, response)

    async def in_body(command: Any, request: Request, response: Response, principal: Any) -> CommandAccepted:
        if command.subject_id is None:
            raise unprocessable(("body", "subject_id"), "is required: the body names the subject")
        return await apply_command(request, command.subject_id, command, principal, response)

    handler = route if spec.subject_in_path else in_body
    # Set as objects, not strings: FastAPI reads the body model and the scope check from here.
    handler.__annotations__ |= {"command": spec.model, "principal": Annotated[Principal, Depends(require(spec.scope))]}
    handler.__doc__ = spec.model.__doc__
    return handler


# All of the ledger's /v1 routes but the access report's and the evidence's.
router = APIRouter(prefix="/v1", route_class=StrictJsonRoute)
for spec in REGISTRY:
    router.add_api_route(
        spec.path, _command_route(spec), methods=["POST"], response_model=CommandAccepted, status_code=201,
        responses=_COMMAND_ANSWERS, name=spec.route_name or spec.name, summary=f"{spec.name} (scope {spec.scope})",
        tags=["commands"],
    )  # fmt: skip


@router.post("/subject-ids", tags=["identity"], responses=error_responses(401, 403, 413, 422))
def derive_subject_id(
    body: SubjectIdRequest, request: Request, _: Annotated[Principal, Depends(require("consent:write"))]
) -> SubjectIdAnswer:
    """The opaque subject id of a person known by IIN, phone or card number (keyed HMAC)."""
    subject_ids = services_of(request).commands.subject_ids
    try:
        return SubjectIdAnswer(subject_id=subject_ids.subject_id(body.identifier, body.value))
    except ValueError as error:  # InvalidIinError included; messages never repeat the value
        raise InvalidCommandError("value", str(error)) from None


@router.get(
    "/subjects/{subject_id}/history",
    tags=["reading"],
    responses=error_responses(401, 403, 404, 422, 503, described=_NOTHING_RECORDED),
)
def history(
    subject_id: UUID,
    request: Request,
    _: Annotated[Principal, Depends(require("read"))],
    as_of: Annotated[Instant | None, Query(description="Show the history up to this moment.")] = None,
) -> dict[str, Any]:
    """The subject's events (envelopes, personal data encrypted) and state as they stood at `as_of`."""
    events, state = services_of(request).ledger.history(subject_id, as_of)
    if not events:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the ledger has recorded nothing for this subject")
    return {
        "subject_id": str(subject_id),
        "as_of": as_of.isoformat() if as_of else None,
        "state": subject_view(state),
        "events": [to_envelope(event) for event in events],
    }


@router.get(
    "/commands/public-key",
    tags=["commands"],
    response_class=Response,  # text for 200 alone, as /v1/evidence/public-key; the errors stay JSON
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "The key, base64."},
        **error_responses(503, described={503: "CONSENT_LEDGER_SEALING_KEY is not set."}),
    },
)
def sealing_public_key(request: Request) -> PlainTextResponse:
    """The X25519 public key (base64) that channels seal personal data to for Kafka; public by design."""
    key = services_of(request).commands.sealing_key
    if key is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "sealing is not available: CONSENT_LEDGER_SEALING_KEY is not set"
        )
    return PlainTextResponse(key.public_base64())
