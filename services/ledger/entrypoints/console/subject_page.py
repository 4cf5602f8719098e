"""What the subject page shows, gathered from the ledger (history, state) and the projector (every check's answer)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from starlette.concurrency import run_in_threadpool

from services.ledger.adapters.calendar import KazakhCalendar
from services.ledger.adapters.projector import Projector, ProjectorError
from services.ledger.application.contract import to_envelope
from services.ledger.application.views import subject_view
from services.ledger.bootstrap import LedgerServices
from services.ledger.domain.calendar import kazakh_day
from services.ledger.entrypoints.console.rendering import Words
from services.ledger.entrypoints.console.timeline import (
    Enforcement,
    Timeline,
    enforcements,
    event_name,
    timeline,
    transfers,
)

CALENDAR = KazakhCalendar()  # the same working days as the ledger's deadlines


@dataclass(frozen=True)
class OpenRequest:
    """An open request of the subject, with its clock on the Kazakh calendar."""

    request_id: str
    kind: str
    received_on: str
    due_on: str
    working_days_left: int  # negative: overdue by that many working days
    event_id: str


@dataclass
class SubjectPage:
    """Everything the subject page shows, as it stood at `at` (None: now)."""

    subject_id: UUID
    at: datetime | None
    found: bool
    state: dict[str, Any] = field(default_factory=dict)
    timeline: Timeline | None = None
    requests: list[OpenRequest] = field(default_factory=list)
    transfers: list[Any] = field(default_factory=list)
    enforcements: list[Enforcement] = field(default_factory=list)
    decisions: dict[str, Any] | None = None
    projector_problem: str | None = None
    last_event_id: str | None = None
    language: str = "ru"  # the subject's: the language of the consent form they signed


def working_days_left(today: date, due: date) -> int:
    """Working days from `today` to `due` (0: due today), negative when overdue."""
    if due >= today:
        return CALENDAR.working_days_between(today, due)
    return -max(CALENDAR.working_days_between(due, today), 1)


async def subject_page(
    wired: LedgerServices, projector: Projector, subject_id: UUID, at: datetime | None, words: Words
) -> SubjectPage:
    """The subject's page data: from the ledger's history, and the projector's answers to every check."""
    events, subject = await run_in_threadpool(wired.ledger.history, subject_id, at)
    if not events:
        return SubjectPage(subject_id, at, found=False)
    envelopes = [to_envelope(event) for event in events]
    page = SubjectPage(
        subject_id, at, found=True, state=subject_view(subject), timeline=timeline(envelopes, words),
        transfers=transfers(envelopes), enforcements=enforcements(envelopes, words), last_event_id=envelopes[-1]["id"],
    )  # fmt: skip
    page.requests = _open_requests(envelopes, page.state, kazakh_day(at or wired.clock()))
    page.language = _language(envelopes)
    try:
        page.decisions = await projector.decisions(subject_id, at)
    except ProjectorError as problem:
        page.projector_problem = str(problem)
    return page


def _open_requests(envelopes: list[dict[str, Any]], state: dict[str, Any], today: date) -> list[OpenRequest]:
    """The subject's open requests (the state says which), described by their SubjectRequestReceived events."""
    received = {
        envelope["data"]["request_id"]: envelope
        for envelope in envelopes
        if event_name(envelope) == "SubjectRequestReceived"
    }
    found = []
    for request_id, due in state.get("open_requests", {}).items():
        envelope = received[request_id]
        data = envelope["data"]
        left = working_days_left(today, date.fromisoformat(due))
        found.append(OpenRequest(request_id, data["kind"], data["received_on"], due, left, envelope["id"]))
    return sorted(found, key=lambda request: request.due_on)


def _language(envelopes: list[dict[str, Any]]) -> str:
    """The language of the last consent form the subject signed (kk or ru), else Russian."""
    for envelope in reversed(envelopes):
        if event_name(envelope) == "ConsentGranted":
            return str(envelope["data"]["terms"]["notice"]["language"])
    return "ru"
