"""The projected consent state of a subject: what each event changes, replays, redeliveries and erasure."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from schemas.events import Envelope, parse_envelope
from services.ledger.domain.vocabulary import Channel, WithdrawalRefusalReason
from services.projector.projection import evolve, initial_state
from tests.ledger.scenario_support import (
    CALENDAR,
    CONSENT_GIVEN_ON,
    CONSULTANT,
    DPO,
    FRIDAY_22_MAY,
    MONDAY_8_JUNE,
    PII,
    SCHEDULER,
    SUBJECT_ID,
    consent_terms,
    ctx,
    given_consent,
    given_withdrawal_pending,
)
from tests.projector import canonical, fold, project
from tests.schemas.ledger_history import CARD, ledger_history

SUBJECT = str(SUBJECT_ID)


def whole_history() -> list[Envelope]:
    """The synthetic subject's 23 envelopes covering every catalogue event, in ledger order."""
    return [parse_envelope(document) for document in ledger_history()]


def ids_of(name: str) -> list[str]:
    """Ids of the history's events named `name`, in order."""
    return [document["id"] for document in ledger_history() if document["type"].endswith("." + name)]


def json_ready(value: Any) -> bool:
    """True if `value` holds only str, int, bool, None, list and dict (with str keys)."""
    if isinstance(value, dict):
        return all(isinstance(key, str) and json_ready(item) for key, item in value.items())
    if isinstance(value, list):
        return all(json_ready(item) for item in value)
    return value is None or isinstance(value, str | int | bool)


def test_a_subject_nothing_is_recorded_about_has_no_consent() -> None:
    state = initial_state(SUBJECT)

    assert state["version"] == state["position"] == 0
    assert (state["status"], state["consent"], state["status_event_id"]) == ("none", None, None)
    assert state["opted_out"] == state["blocked"] == state["cards"] == state["requests"] == {}
    assert state["transfers"] == state["enforcements"] == []


def test_a_subjects_whole_history_folds_into_its_current_state() -> None:
    state = fold(whole_history())

    assert (state["version"], state["position"]) == (23, 122)
    assert (state["status"], state["status_event_id"]) == ("expired", ids_of("ConsentExpired")[0])
    consent = state["consent"]
    assert consent["event_id"] == ids_of("ConsentGranted")[1]  # the re-consent of 10 June replaced the first
    assert (consent["valid_until"], consent["granted_at"]) == ("2026-12-31", "2026-06-10T05:00:00.000000Z")
    assert consent["marketing_channels"] == ["email", "sms"]
    assert consent["cross_border_countries"] == ["RU"]
    assert state["erased"] == {
        "event_id": ids_of("PersonalDataErased")[0],
        "ground": "term_expired",
        "at": "2027-01-04T05:00:00.000000Z",
    }
    assert state["opted_out"] == {}  # SMS stopped, then resumed
    assert state["blocked"] == {}  # contacts blocked while in doubt, then confirmed
    assert state["withdrawal"] is None


def test_every_transfer_request_card_and_confirmation_is_kept() -> None:
    state = fold(whole_history())

    assert state["transfers"] == [
        {
            "event_id": ids_of("PersonalDataTransferred")[0],
            "recipient": "retail-partner-ru",
            "country": "RU",
            "categories": ["name"],
            "purpose": "delivery_and_service",
            "at": "2026-05-22T05:00:00.000000Z",
        }
    ]
    assert state["requests"] == {
        "req-1": {
            "kind": "access",
            "received_on": "2026-05-22",
            "due_on": "2026-05-28",  # three working days; Wednesday 27 May is Kurban Ait
            "entered_late_by_days": 0,
            "status": "answered",
            "event_id": ids_of("SubjectRequestAnswered")[0],
            "answered_on": "2026-05-25",
            "response_ref": "report-0001",  # the access report that was sent
            "reason": None,
        },
        "req-2": {
            "kind": "destruction",
            "received_on": "2026-05-22",
            "due_on": "2026-05-28",
            "entered_late_by_days": 0,
            "status": "rejected",
            "event_id": ids_of("SubjectRequestRejected")[0],
            "answered_on": None,
            "response_ref": None,
            "reason": "the power of attorney had expired",
        },
    }
    refused, took_effect = ids_of("ConsentWithdrawalRequested")
    assert state["withdrawals"] == {
        refused: {
            "filed_on": "2026-05-22",
            "effective_on": "2026-06-15",
            "entered_late_by_days": 0,
            "status": "refused",
            "outcome_event_id": ids_of("ConsentWithdrawalRefused")[1],  # the first was refused as filed
            "reason": "legal_retention_duty",
            "legal_basis": "Tax Code, art. 48",
        },
        took_effect: {
            "filed_on": "2026-05-22",
            "effective_on": "2026-06-08",
            "entered_late_by_days": 0,
            "status": "withdrawn",
            "outcome_event_id": ids_of("ConsentWithdrawn")[0],
            "reason": None,
            "legal_basis": None,
        },
    }
    linked = ids_of("LoyaltyCardLinked")[0]  # blocked by the cascade, unblocked after the re-consent
    assert state["cards"] == {CARD: {"linked_event_id": linked, "blocked_event_id": None, "cause_event_id": None}}
    assert state["enforcements"] == [
        {
            "system": "loyalty",
            "enforced_event_id": ids_of("LoyaltyCardBlocked")[0],
            "action": "card blocked",
            "event_id": ids_of("EnforcementConfirmed")[0],
        }
    ]


def test_a_withdrawal_filed_on_22_may_is_pending_until_it_takes_effect_on_8_june() -> None:
    subject = given_withdrawal_pending()
    request = subject.pending_withdrawal[0] if subject.pending_withdrawal else ""
    state = project(subject)

    assert (state["status"], state["status_event_id"]) == ("withdrawal_pending", request)
    assert state["withdrawal"] == {"request_event_id": request, "effective_on": "2026-06-08"}

    withdrawn = subject.complete_withdrawal(ctx("withdrawn", on=MONDAY_8_JUNE, actor=SCHEDULER), MONDAY_8_JUNE)
    state = project(subject, state)

    assert (state["status"], state["status_event_id"], state["withdrawal"]) == ("withdrawn", withdrawn, None)


def test_a_refused_withdrawal_puts_the_consent_back_in_force() -> None:
    subject = given_withdrawal_pending()
    refused = subject.refuse_withdrawal(ctx("refuse", actor=DPO), WithdrawalRefusalReason.LEGAL_RETENTION_DUTY, "TC 48")
    state = project(subject)

    assert (state["status"], state["status_event_id"], state["withdrawal"]) == ("active", refused, None)


def test_a_withdrawal_refused_as_it_is_filed_leaves_the_consent_as_it_was() -> None:
    subject = given_consent()
    granted = subject.consent_id
    subject.request_withdrawal(ctx("withdraw"), FRIDAY_22_MAY, CALENDAR, unfulfilled_obligations=1)
    state = project(subject)

    assert (state["status"], state["status_event_id"], state["withdrawal"]) == ("active", granted, None)


def test_marketing_stopped_on_demand_stays_stopped_after_the_subject_consents_again() -> None:
    subject = given_consent()
    opted_out = subject.opt_out_of_marketing(ctx("stop-sms"), [Channel.SMS])
    regranted = subject.grant_consent(ctx("again", on=FRIDAY_22_MAY, actor=CONSULTANT), consent_terms(), PII)
    state = project(subject)

    assert state["consent"]["event_id"] == regranted
    assert state["opted_out"] == {"sms": opted_out}


def test_the_card_blocked_by_the_cascade_names_the_withdrawal_as_its_cause() -> None:
    subject = given_consent()
    linked = subject.link_card(ctx("card", on=CONSENT_GIVEN_ON), CARD)
    subject.request_withdrawal(ctx("withdraw"), FRIDAY_22_MAY, CALENDAR)
    withdrawn = subject.complete_withdrawal(ctx("withdrawn", on=MONDAY_8_JUNE, actor=SCHEDULER), MONDAY_8_JUNE)
    blocked = subject.block_card(ctx("block-card:" + withdrawn, on=MONDAY_8_JUNE), CARD, withdrawn, "consent withdrawn")
    state = project(subject)

    assert state["cards"] == {
        CARD: {"linked_event_id": linked, "blocked_event_id": blocked, "cause_event_id": withdrawn}
    }


def test_a_redelivered_envelope_changes_nothing() -> None:
    history = whole_history()
    state = fold(history)

    for old in history:
        assert evolve(state, old) is state
    assert canonical(fold(history, state)) == canonical(state)


def test_replaying_the_same_history_gives_byte_identical_state() -> None:
    history = whole_history()
    redelivered_at_least_once = [envelope for envelope in history for _ in range(2)]

    first, second = fold(history), fold(whole_history())

    assert canonical(first) == canonical(second) == canonical(fold(redelivered_at_least_once))


def test_folding_never_changes_the_state_it_was_given() -> None:
    state = initial_state(SUBJECT)
    for envelope in whole_history():
        before = copy.deepcopy(state)
        after = evolve(state, envelope)
        assert state == before
        assert after is not state
        state = after


def test_every_state_along_the_way_is_plain_json() -> None:
    state = initial_state(SUBJECT)
    for envelope in whole_history():
        state = evolve(state, envelope)
        assert json_ready(state)


def test_after_erasure_the_projection_keeps_no_personal_data() -> None:
    history = whole_history()
    assert any(envelope.pii == PII for envelope in history)  # the history does carry encrypted personal data

    state = fold(history)

    assert state["erased"] is not None
    assert set(state["erased"]) == {"event_id", "ground", "at"}
    assert PII.encode() not in canonical(state)
    assert b"pii" not in canonical(state)


def test_no_state_before_erasure_keeps_the_encrypted_personal_data_either() -> None:
    state = initial_state(SUBJECT)
    for envelope in whole_history():
        state = evolve(state, envelope)
        assert PII.encode() not in canonical(state)


def test_an_envelope_without_a_position_keeps_the_last_position_applied() -> None:
    first, second = whole_history()[:2]
    unpublished = parse_envelope({k: v for k, v in second.document.items() if k != "position"})

    state = evolve(evolve(initial_state(SUBJECT), first), unpublished)

    assert (state["version"], state["position"]) == (2, first.position)


def test_another_subjects_event_is_refused() -> None:
    with pytest.raises(ValueError, match="another subject"):
        evolve(initial_state("00000000-0000-4000-8000-000000000000"), whole_history()[0])


def test_a_reader_that_starts_mid_stream_keeps_only_cards_and_requests_it_saw_begin() -> None:
    after_the_access_request = [e for e in whole_history() if e.subjectversion >= 10]  # from its answer on

    state = fold(after_the_access_request)

    assert sorted(state["requests"]) == ["req-2"]
    assert state["cards"] == {}
