"""Answer an access request with the subject's access report (policy §5): a use case of the reports.

The answer records SubjectRequestAnswered whose `response_ref` names the report sent —
`access-report:<report_id>@<as_of>` — so anyone can rebuild the report as of that moment and check
its id (once the subject is erased, a rebuilt report reads no personal data and its id differs: the
recorded id still names the report as it was sent). A repeat (same command id, same request) is told
apart by Ledger.execute like any command's, and gives the first answer with its report again; an answer
recorded before answers carried the digest of their request is found in the history instead.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from schemas.envelope import canonical_bytes, utc_text
from services.ledger.application.commands import Commands
from services.ledger.application.ledger import Outcome
from services.ledger.domain import events as e
from services.ledger.domain.calendar import kazakh_day
from services.ledger.domain.errors import RuleViolationError
from services.ledger.domain.state import Context
from services.ledger.domain.subject import DataSubject
from services.ledger.domain.vocabulary import RequestKind
from services.ledger.reports.access_report import UnknownSubjectError, build_access_report

RESPONSE_REF_PREFIX = "access-report:"


@dataclass(frozen=True)
class ReportAnswer:
    """The report sent, the answer recorded, and the reference the answer carries."""

    report: dict[str, Any]
    outcome: Outcome
    response_ref: str


def access_report(commands: Commands, subject_id: UUID, as_of: datetime) -> dict[str, Any]:
    """The subject's access report as of `as_of`; UnknownSubjectError if nothing was recorded by then."""
    return build_access_report(commands.ledger, subject_id, as_of=as_of, controller=commands.controller)


def answer_with_access_report(
    commands: Commands, subject_id: UUID, request_id: str, command_id: str, *, actor: str, now: datetime
) -> ReportAnswer:
    """Answer the open access request `request_id` with the report as of the subject's last recorded act.

    As of that act: any later event is recorded later still (a subject's events are kept in
    increasing time), so the report rebuilt as of this moment is always the one sent.
    """
    events, _ = commands.ledger.history(subject_id)
    if not events:
        raise UnknownSubjectError(subject_id)
    earlier = _answered_before_digests_of_requests(events, command_id, request_id)
    if earlier is not None:
        ref = earlier.response_ref or ""
        return ReportAnswer(
            access_report(commands, subject_id, _moment_of(ref)),
            Outcome(subject_id, [str(earlier.event_id)], replayed=True),
            ref,
        )
    received = _received(events, request_id)
    ctx = Context(
        command_id, actor, now, causation_id=str(received.event_id) if received else None,
        command_digest=_digest(request_id),
    )  # fmt: skip
    sent: dict[str, Any] = {}

    def decide(subject: DataSubject) -> None:
        _check_open_access_request(received, subject, request_id)
        report = access_report(commands, subject_id, subject.modified_on)
        sent.update(report=report, ref=f"{RESPONSE_REF_PREFIX}{report['report_id']}@{utc_text(subject.modified_on)}")
        subject.answer_request(ctx, request_id, kazakh_day(now), sent["ref"])

    outcome = commands.ledger.execute(subject_id, ctx, decide)
    if outcome.replayed:
        ref = _recorded_ref(commands, subject_id, request_id, outcome.event_ids[0])
        return ReportAnswer(access_report(commands, subject_id, _moment_of(ref)), outcome, ref)
    return ReportAnswer(sent["report"], outcome, sent["ref"])


def _digest(request_id: str) -> str:
    """What the answer asks: a repeat with the same command id must name the same request."""
    asked = {"type": "AnswerWithAccessReport", "request_id": request_id}
    return hashlib.sha256(canonical_bytes(asked)).hexdigest()


def _answered_before_digests_of_requests(
    events: list[e.SubjectEvent], command_id: str, request_id: str
) -> e.SubjectRequestAnswered | None:
    """An answer this command id recorded before answers carried the digest of their request (decision 0012).

    Its repeat is answered as then; a command id such an answer used for another request is refused.
    """
    for event in events:
        if isinstance(event, e.SubjectRequestAnswered) and event.command_id == command_id:
            if event.command_digest == _digest(request_id):
                return None  # recorded since: Ledger.execute tells the repeat
            _check_same_answer(event, request_id)
            return event
    return None


def _check_same_answer(answered: e.SubjectEvent, request_id: str) -> None:
    """Refuse unless `answered` answered `request_id` with an access report."""
    ref = answered.response_ref if isinstance(answered, e.SubjectRequestAnswered) else None
    same = isinstance(answered, e.SubjectRequestAnswered) and answered.request_id == request_id
    if not same or not ref or not ref.startswith(RESPONSE_REF_PREFIX) or "@" not in ref:
        raise RuleViolationError("command_id_reused", f"command id {answered.command_id!r} was used for another answer")


def _received(events: list[e.SubjectEvent], request_id: str) -> e.SubjectRequestReceived | None:
    received = [ev for ev in events if isinstance(ev, e.SubjectRequestReceived) and ev.request_id == request_id]
    return received[-1] if received else None


def _check_open_access_request(
    received: e.SubjectRequestReceived | None, subject: DataSubject, request_id: str
) -> None:
    """Refuse, naming why, unless `request_id` is an open access request."""
    if received is None:
        raise RuleViolationError("unknown_request", f"no request {request_id} was received for this subject")
    if request_id not in subject.open_requests:
        raise RuleViolationError("request_not_open", f"request {request_id} is not open")
    if received.kind != RequestKind.ACCESS:
        raise RuleViolationError(
            "not_an_access_request", f"request {request_id} asks for {received.kind}, not access to the data"
        )


def _recorded_ref(commands: Commands, subject_id: UUID, request_id: str, event_id: str) -> str:
    """The response_ref of the answer a repeat refers to."""
    events, _ = commands.ledger.history(subject_id)
    answered = next(ev for ev in events if str(ev.event_id) == event_id)
    ref = answered.response_ref if isinstance(answered, e.SubjectRequestAnswered) else None
    if (
        not ref or not ref.startswith(RESPONSE_REF_PREFIX) or "@" not in ref
    ):  # an event recorded before commands had digests
        raise RuleViolationError("command_id_reused", f"command id {answered.command_id!r} was used for another answer")
    return ref


def _moment_of(ref: str) -> datetime:
    return datetime.fromisoformat(ref.rsplit("@", 1)[1])
