"""Subject requests and enforcement as scenarios: received with a due date, answered or rejected, confirmed.

All subjects, requests and reports are synthetic.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import pytest

from services.ledger.domain import events as e
from services.ledger.domain.events import event_id_of
from services.ledger.domain.vocabulary import (
    RequestKind,
)
from tests.ledger.scenario_support import (
    CALENDAR,
    DPO,
    FRIDAY_22_MAY,
    PII,
    SUBJECT_ID,
    ctx,
    given_consent,
    given_withdrawn,
    recorded,
    refused,
)

# --- SubjectRequestReceived / Answered / Rejected -----------------------------------------------------------------


def test_a_request_received_on_friday_22_may_2026_is_due_on_thursday_28_may() -> None:
    subject = given_consent()

    event_id = subject.receive_request(
        ctx(1), "rq-0001", RequestKind.ACCESS, FRIDAY_22_MAY, calendar=CALENDAR, pii="pii.v1.id-document"
    )

    received = recorded(subject, event_id, e.SubjectRequestReceived)
    assert (received.request_id, received.kind) == ("rq-0001", "access")
    assert (received.received_on, received.due_on) == ("2026-05-22", "2026-05-28")  # Kurban Ait on 27 May
    assert received.by_representative is False
    assert received.pii == "pii.v1.id-document"  # ID document number, issue date and authority
    assert subject.open_requests == {"rq-0001": date(2026, 5, 28)}


def test_a_request_from_a_legal_representative_is_marked_as_such() -> None:
    subject = given_consent()

    event_id = subject.receive_request(
        ctx(1), "rq-0002", RequestKind.BLOCKING, FRIDAY_22_MAY, calendar=CALENDAR, pii=PII, by_representative=True
    )

    assert recorded(subject, event_id, e.SubjectRequestReceived).by_representative is True


def test_an_access_request_is_answered_with_a_link_to_the_report() -> None:
    subject = given_consent()
    subject.receive_request(ctx(1), "rq-0001", RequestKind.ACCESS, FRIDAY_22_MAY, calendar=CALENDAR, pii=PII)

    event_id = subject.answer_request(ctx(2, actor=DPO), "rq-0001", date(2026, 5, 26), "report-rq-0001")

    answered = recorded(subject, event_id, e.SubjectRequestAnswered)
    assert (answered.request_id, answered.answered_on, answered.response_ref) == (
        "rq-0001",
        "2026-05-26",
        "report-rq-0001",
    )
    assert subject.open_requests == {}


def test_a_request_without_a_handwritten_signature_is_rejected_with_the_reason() -> None:
    subject = given_consent()
    subject.receive_request(ctx(1), "rq-0003", RequestKind.DESTRUCTION, FRIDAY_22_MAY, calendar=CALENDAR, pii=PII)

    event_id = subject.reject_request(ctx(2, actor=DPO), "rq-0003", "no handwritten signature")

    rejected = recorded(subject, event_id, e.SubjectRequestRejected)
    assert (rejected.request_id, rejected.reason) == ("rq-0003", "no handwritten signature")
    assert subject.open_requests == {}


def test_a_paper_request_received_on_4_may_and_entered_on_20_july_is_due_by_its_true_day_and_says_how_late() -> None:
    subject = given_consent()

    event_id = subject.receive_request(
        ctx(1, on=date(2026, 7, 20), actor=DPO), "rq-0007", RequestKind.ACCESS, date(2026, 5, 4),
        calendar=CALENDAR, pii=PII,
    )  # fmt: skip

    received = recorded(subject, event_id, e.SubjectRequestReceived)
    assert (received.received_on, received.due_on) == ("2026-05-04", "2026-05-08")  # 7 May is a holiday
    assert received.entered_late_by_days == 77


# --- EnforcementConfirmed -----------------------------------------------------------------------------------------


def test_the_loyalty_system_confirms_it_acted_on_the_withdrawal() -> None:
    subject = given_withdrawn()
    withdrawn_id = str(event_id_of(SUBJECT_ID, subject.version))

    event_id = subject.confirm_enforcement(ctx(1, actor="system:loyalty"), "loyalty", withdrawn_id, "card blocked")

    confirmed = recorded(subject, event_id, e.EnforcementConfirmed)
    assert (confirmed.system, confirmed.enforced_event_id, confirmed.action) == (
        "loyalty",
        withdrawn_id,
        "card blocked",
    )
    assert subject.enforcements == {("loyalty", withdrawn_id)}


# --- Refusals: requests and acknowledgements ----------------------------------------------------------------------


def test_receiving_a_request_that_is_already_open() -> None:
    subject = given_consent()
    subject.receive_request(ctx("request"), "rq-0001", RequestKind.ACCESS, FRIDAY_22_MAY, calendar=CALENDAR, pii=PII)

    with refused(subject, "request_already_open"):
        subject.receive_request(ctx(1), "rq-0001", RequestKind.ACCESS, FRIDAY_22_MAY, calendar=CALENDAR, pii=PII)


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(lambda s: s.answer_request(ctx(1), "rq-0001", date(2026, 5, 27), None), id="answered twice"),
        pytest.param(lambda s: s.reject_request(ctx(1), "rq-0001", "x"), id="rejected after its answer"),
        pytest.param(lambda s: s.answer_request(ctx(1), "rq-9999", date(2026, 5, 27), None), id="never received"),
    ],
)
def test_a_request_that_is_not_open(command: Any) -> None:
    subject = given_consent()
    subject.receive_request(ctx("request"), "rq-0001", RequestKind.ACCESS, FRIDAY_22_MAY, calendar=CALENDAR, pii=PII)
    subject.answer_request(ctx("answer", actor=DPO), "rq-0001", date(2026, 5, 26), "report-rq-0001")

    with refused(subject, "request_not_open"):
        command(subject)


def test_a_system_confirms_the_same_event_only_once() -> None:
    subject = given_withdrawn()
    withdrawn_id = str(event_id_of(SUBJECT_ID, subject.version))
    subject.confirm_enforcement(ctx("ack"), "loyalty", withdrawn_id, "card blocked")

    with refused(subject, "already_confirmed"):
        subject.confirm_enforcement(ctx(1), "loyalty", withdrawn_id, "card blocked")

    # another subscriber confirms the same event on its own
    recorded(
        subject, subject.confirm_enforcement(ctx(2), "marketing", withdrawn_id, "suppressed"), e.EnforcementConfirmed
    )


@pytest.mark.parametrize(
    "enforced",
    [
        pytest.param("5f0c1e0e-3b6a-4d0e-9a57-2f7d7c1f0a11", id="a random event id"),
        pytest.param(str(event_id_of(SUBJECT_ID, 99)), id="an event the subject has not reached"),
        pytest.param(str(event_id_of(UUID("00000000-0000-4000-8000-0000000000b0"), 1)), id="another subject's event"),
        pytest.param("event-1", id="not an event id at all"),
    ],
)
def test_a_confirmation_of_an_event_the_subject_never_had_is_refused(enforced: str) -> None:
    subject = given_withdrawn()

    with refused(subject, "unknown_enforced_event") as refusal:
        subject.confirm_enforcement(ctx(1, actor="system:loyalty"), "loyalty", enforced, "card blocked")

    assert subject.enforcements == set()
    assert enforced not in refusal.value.message  # an id from outside is not repeated back
