"""What the console shows beside the checks: a subject's answers at a glance, and the consents about to expire."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from schemas.fields import Instant
from services.platform.auth import Principal, require
from services.platform.errors import error_responses
from services.platform.strict_json import StrictJsonRoute
from services.projector.history import kazakh_day
from services.projector.overview import Answered, overview
from services.projector.routes import state_at, store_of, today

_DECISIONS = error_responses(
    401, 403, 404, 422, 503, described={404: "No event about the subject had been recorded by then."}
)
_EXPIRING = error_responses(401, 403, 422, 503)
_EVENT = "The event that decided it; none when no event did (the subject is unknown)."


class PurposeAnswer(BaseModel):
    """The check's answer for one purpose (for marketing: over one channel)."""

    purpose: str = Field(examples=["loyalty"])
    channel: str | None = Field(description="The marketing channel asked about; none for the other purposes.")
    allow: bool
    rule: str = Field(examples=["consented"])
    reason: str
    event_id: str | None = Field(description=_EVENT)


class CategoryAnswer(BaseModel):
    """The check's answer for one category of personal data, asked with the purpose it names."""

    category: str = Field(examples=["contacts"])
    purpose: str = Field(
        description="The first purpose of the vocabulary the consent covers (the first of all when none).",
        examples=["loyalty"],
    )
    allow: bool
    rule: str = Field(examples=["category_not_consented"])
    reason: str
    event_id: str | None = Field(description=_EVENT)


class SubjectDecisions(BaseModel):
    """Every answer the check API would give about the subject, per purpose and per data category."""

    subject_id: str
    at: datetime | None = Field(description="The moment replayed from the log; none: now, from the read model.")
    today: date = Field(description="The day in Kazakhstan the answers were decided on.")
    purposes: list[PurposeAnswer] = Field(
        description="In the vocabulary's order; marketing once per channel, in the channels' order."
    )
    categories: list[CategoryAnswer] = Field(description="In the vocabulary's order.")


class ExpiringConsent(BaseModel):
    """A consent in force whose term ends soon."""

    subject_id: str
    consent_id: str = Field(description="The consent: the event id of its ConsentGranted.")
    valid_until: date = Field(description="Its last day in force.", examples=["2026-12-31"])
    event_id: str = Field(description="The ConsentGranted that set the term.")


def _purpose_rows(answers: list[Answered]) -> list[PurposeAnswer]:
    return [
        PurposeAnswer(purpose=a.question.purpose, channel=a.question.channel, **asdict(a.decision)) for a in answers
    ]


def _category_rows(answers: list[Answered]) -> list[CategoryAnswer]:
    return [
        CategoryAnswer(category=a.question.categories[0], purpose=a.question.purpose, **asdict(a.decision))
        for a in answers
    ]


def overview_router() -> APIRouter:
    """The console's /v1 views of the projector: a subject's decisions, the consents about to expire."""
    api = APIRouter(prefix="/v1", tags=["checks"], route_class=StrictJsonRoute)

    @api.get("/subjects/{subject_id}/decisions", responses=_DECISIONS)
    async def decisions(
        request: Request,
        subject_id: UUID,
        _: Annotated[Principal, Depends(require("read"))],
        at: Annotated[Instant | None, Query(description="Replay the answers from the log as they were then.")] = None,
    ) -> SubjectDecisions:
        """Allowed or denied and why, per purpose, marketing channel and data category, asked as system "console"."""
        subject = str(subject_id)
        state = await state_at(request, subject, at, "at")
        day = today(request) if at is None else kazakh_day(at)
        found = overview(state, day)
        return SubjectDecisions(
            subject_id=subject, at=at, today=day,
            purposes=_purpose_rows(found.purposes), categories=_category_rows(found.categories),
        )  # fmt: skip

    @api.get("/consents/expiring", tags=["register"], responses=_EXPIRING)
    def expiring(
        request: Request,
        _: Annotated[Principal, Depends(require("dpo"))],
        within_days: Annotated[int, Query(ge=1, le=366, description="Days from today in Kazakhstan.")] = 30,
    ) -> list[ExpiringConsent]:
        """Consents in force whose term ends from today to `within_days` days later, soonest first."""
        first = today(request)
        found = store_of(request).expiring_consents(first, first + timedelta(days=within_days))
        return [ExpiringConsent(**row) for row in found]

    return api
