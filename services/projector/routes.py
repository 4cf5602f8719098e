"""The check API: may this system use this subject's data for this purpose, now? One subject or a whole audience."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import orjson
from aiokafka.errors import KafkaError
from anyio import to_thread
from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from schemas.events import Envelope
from schemas.fields import Instant
from services.platform.auth import Principal, require
from services.platform.errors import error_responses, unprocessable
from services.platform.strict_json import StrictJsonRoute
from services.projector.decisions import Question, decide
from services.projector.history import decision_as_of, kazakh_day, state_as_of, subject_events
from services.projector.store import ProjectionStore

BULK_CHUNK = 5000
_READ = error_responses(401, 403, 422, 503)
_STATE = error_responses(
    401, 403, 404, 422, 503, described={404: "No event about the subject had been recorded by then."}
)


class CheckAnswer(BaseModel):
    """Allow or deny, the rule that decided, why, and the event that decided it."""

    subject_id: str
    allow: bool
    rule: str = Field(examples=["opted_out"])
    reason: str
    event_id: str | None = Field(
        description="The event that decided it; none when no event did: the subject is unknown, or a service "
        "message about an order, which the policy allows whatever the consent (an erasure or block that denies "
        "one is named)."
    )


class Asked(BaseModel):
    """The question a check answers."""

    system: str = Field(examples=["marketing"])
    purpose: str = Field(examples=["marketing"])
    channel: str | None = Field(default=None, examples=["sms"])
    recipient: str | None = None
    country: str | None = Field(default=None, examples=["RU"])
    categories: list[str] = []
    service_message: bool = Field(default=False, description="A message about an order and its stages.")

    def question(self) -> Question:
        """As the decision rules take it."""
        return Question(
            self.system, self.purpose, self.channel, self.recipient, self.country, tuple(self.categories),
            self.service_message,
        )  # fmt: skip


class CheckQuery(Asked):
    """One subject's check."""

    subject_id: UUID


class BulkCheck(Asked):
    """A marketing audience to check: up to a million subjects for one question."""

    subject_ids: list[UUID] = Field(max_length=1_000_000)


_ENTERED_LATE = (
    "Days from its paper date to the day the ledger recorded it: over 30 when the DPO entered it late or imported "
    "it (its deadlines count from the paper date); null for events recorded before the ledger said so."
)


class OpenRequest(BaseModel):
    """An open subject request in the register, with the day its answer is due."""

    subject_id: str
    request_id: str
    kind: str = Field(examples=["access"])
    received_on: date
    due_on: date = Field(description="3 Kazakh working days after receipt.")
    entered_late_by_days: int | None = Field(description=_ENTERED_LATE, examples=[0, 59])
    effective_on: date | None = Field(
        description="For a withdrawal request: the day the subject's pending withdrawal takes effect."
    )


class SubjectRequest(BaseModel):
    """One of a subject's requests: open, answered with what was sent, or rejected with why."""

    request_id: str
    kind: str = Field(examples=["access"])
    received_on: date
    due_on: date
    entered_late_by_days: int | None = Field(description=_ENTERED_LATE, examples=[0, 59])
    status: Literal["open", "answered", "rejected"]
    answered_on: date | None
    response_ref: str | None = Field(
        description="What was sent.", examples=["access-report:sha256:3c3c...@2026-05-26T05:00:00Z"]
    )
    reason: str | None = Field(description="Why it was rejected.")
    effective_on: date | None = Field(description="For an open withdrawal request: when the withdrawal takes effect.")


class WithdrawalApplication(BaseModel):
    """A written withdrawal application: filed, the day it takes effect, and what became of it."""

    subject_id: str
    event_id: str = Field(description="The ConsentWithdrawalRequested event.")
    filed_on: date
    effective_on: date = Field(examples=["2026-06-08"])
    entered_late_by_days: int | None = Field(description=_ENTERED_LATE, examples=[0, 59])
    status: Literal["pending", "refused", "withdrawn", "lapsed"] = Field(
        description="lapsed: the consent expired, or the data was erased, before the withdrawal took effect."
    )
    outcome_event_id: str | None = Field(description="The refusal, withdrawal or expiry that settled it.")
    reason: str | None = Field(description="Why it was refused.", examples=["unfulfilled_obligation"])
    legal_basis: str | None = None


def store_of(request: Request) -> ProjectionStore:
    """The read models of this app."""
    store: ProjectionStore = request.app.state.store
    return store


def today(request: Request) -> date:
    """Today in Kazakhstan by the projector's clock."""
    now: datetime = request.app.state.clock()
    return kazakh_day(now)


def answer(subject_id: str, state: dict[str, Any] | None, question: Question, day: date) -> CheckAnswer:
    """The decision for one subject, as the API answers it."""
    return CheckAnswer(subject_id=subject_id, **asdict(decide(state, question, day)))


def answer_line(subject_id: str, state: dict[str, Any] | None, question: Question, day: date) -> bytes:
    """One line of a bulk answer: the CheckAnswer's JSON, field for field, without building the model."""
    d = decide(state, question, day)
    fields = {"subject_id": subject_id, "allow": d.allow, "rule": d.rule, "reason": d.reason, "event_id": d.event_id}
    return orjson.dumps(fields) + b"\n"


def router() -> APIRouter:
    """The projector's /v1 routes."""
    api = APIRouter(prefix="/v1", tags=["checks"], route_class=StrictJsonRoute)
    _add_checks(api)
    _add_state(api)
    _add_register(api)
    _add_audit(api)
    return api


async def events_of(request: Request, subject: str) -> list[Envelope]:
    """The subject's events read from consent.events.v1; 503 when the log is not reachable."""
    settings = request.app.state.settings
    try:
        return await subject_events(settings.kafka(), settings.events_topic, subject)
    except (KafkaError, TimeoutError) as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the event log is not reachable") from error


def _add_checks(api: APIRouter) -> None:
    """GET /checks for one subject, POST /checks/bulk for an audience."""

    @api.get("/checks", responses=_READ)
    def check(
        request: Request, asked: Annotated[CheckQuery, Query()], _: Annotated[Principal, Depends(require("read"))]
    ) -> CheckAnswer:
        """May `system` use the subject's data for `purpose` (over `channel`, to `recipient` in `country`) now?"""
        subject = str(asked.subject_id)
        return answer(subject, store_of(request).state(subject), asked.question(), today(request))

    @api.post(
        "/checks/bulk",
        response_class=StreamingResponse,
        responses={
            200: {"content": {"application/x-ndjson": {"schema": {"type": "string"}}}},
            **error_responses(401, 403, 413, 422, 503),
        },
    )
    def bulk(request: Request, body: BulkCheck, _: Annotated[Principal, Depends(require("read"))]) -> StreamingResponse:
        """The same question for a whole audience, answered as NDJSON, one line per subject, in the order asked."""
        question, store, day = body.question(), store_of(request), today(request)

        def lines() -> Iterator[bytes]:
            ids = [str(subject) for subject in body.subject_ids]
            for asked, states in store.states_by_chunk(ids, BULK_CHUNK):
                yield b"".join(answer_line(s, states.get(s), question, day) for s in asked)

        return StreamingResponse(lines(), media_type="application/x-ndjson")


def _add_state(api: APIRouter) -> None:
    """GET /subjects/{subject_id}/state, now or as of a past moment."""

    @api.get("/subjects/{subject_id}/state", responses=_STATE)
    async def state(
        request: Request,
        subject_id: UUID,
        _: Annotated[Principal, Depends(require("read"))],
        as_of: Annotated[Instant | None, Query(description="Rebuild it from the log as it stood then.")] = None,
    ) -> dict[str, Any]:
        """The subject's consent state now (the read model), or at a past moment rebuilt from consent.events.v1."""
        return await state_at(request, str(subject_id), as_of, "as_of")


async def state_at(request: Request, subject: str, moment: datetime | None, query: str) -> dict[str, Any]:
    """The subject's state now (the read model) or at `moment` (rebuilt from the log; the query field `query`
    in the future is 422); 404 when no event about the subject had been recorded by then."""
    if moment is None:
        found = await to_thread.run_sync(store_of(request).state, subject)
    else:
        if moment > request.app.state.clock():
            raise unprocessable(("query", query), "lies in the future")
        found = state_as_of(await events_of(request, subject), subject, moment)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no event about this subject had been recorded by then")
    return found


def _add_register(api: APIRouter) -> None:
    """The DPO's registers: open requests, one subject's requests, withdrawal applications."""

    @api.get("/requests", responses=_READ)
    def open_requests(
        request: Request, _: Annotated[Principal, Depends(require("dpo"))], overdue: bool = False
    ) -> list[OpenRequest]:
        """Open subject requests with their due dates, soonest first; `overdue=true`: only those past due."""
        found = store_of(request).open_requests(due_before=today(request) if overdue else None)
        return [OpenRequest(**row) for row in found]

    @api.get("/subjects/{subject_id}/requests", tags=["register"], responses=_READ)
    def subject_requests(
        request: Request, subject_id: UUID, _: Annotated[Principal, Depends(require("dpo"))]
    ) -> list[SubjectRequest]:
        """Every request of the subject, in the order received: open, answered (with what was sent) or rejected."""
        return [SubjectRequest(**row) for row in store_of(request).subject_requests(str(subject_id))]

    @api.get("/withdrawals", tags=["register"], responses=_READ)
    def withdrawals(
        request: Request,
        _: Annotated[Principal, Depends(require("dpo"))],
        wanted: Annotated[
            Literal["pending", "refused", "withdrawn", "lapsed", "all"], Query(alias="status")
        ] = "pending",
    ) -> list[WithdrawalApplication]:
        """Withdrawal applications (pending ones unless `status` says otherwise), the soonest to take effect first."""
        found = store_of(request).withdrawal_applications(None if wanted == "all" else wanted)
        return [WithdrawalApplication(**row) for row in found]


def _add_audit(api: APIRouter) -> None:
    """GET /audit/checks: a past check replayed from the log."""

    @api.get("/audit/checks", tags=["audit"], responses=_READ)
    async def audit_check(
        request: Request,
        asked: Annotated[CheckQuery, Query()],
        at: Annotated[Instant, Query(description="The moment the check is replayed for.")],
        _: Annotated[Principal, Depends(require("dpo"))],
    ) -> CheckAnswer:
        """What the check API answered at `at`, reproduced from consent.events.v1 alone, with its deciding event."""
        if at > request.app.state.clock():
            raise unprocessable(("query", "at"), "lies in the future")
        subject = str(asked.subject_id)
        decision = decision_as_of(await events_of(request, subject), subject, asked.question(), at)
        return CheckAnswer(subject_id=subject, **asdict(decision))
