"""Rebuilding a subject from its recorded events, the outcome of each command, and deterministic event ids.

All subjects and forms are synthetic.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from uuid import UUID

from eventsourcing.application import Application

from services.ledger.domain.events import event_id_of
from services.ledger.domain.state import RecordedCommand
from services.ledger.domain.subject import DataSubject
from services.ledger.domain.vocabulary import (
    BlockGround,
    Channel,
    ConsentStatus,
    DataCategory,
    Purpose,
    RequestKind,
)
from tests.ledger.scenario_support import (
    CALENDAR,
    CARD,
    CONSULTANT,
    DPO,
    FRIDAY_22_MAY,
    GROCERIES_RU,
    MONDAY_8_JUNE,
    PII,
    SCHEDULER,
    SUBJECT_ID,
    consent_terms,
    ctx,
    given_consent,
    given_withdrawn,
    names,
    refused,
    replay,
    state_of,
)

# --- Rebuilding from the recorded events --------------------------------------------------------------------------


def given_a_long_history() -> DataSubject:
    """Consent, opt-out, a card, a block, two requests, a withdrawal and its card cascade, re-consent."""
    subject = given_consent()
    subject.opt_out_of_marketing(ctx(1), [Channel.SMS])
    subject.link_card(ctx(2, actor=CONSULTANT), CARD)
    subject.link_card(ctx(3, actor=CONSULTANT), "card-ref-second")
    subject.block_data(ctx(4, actor=DPO), [DataCategory.BIRTH, DataCategory.GENDER], BlockGround.SUBJECT_APPLICATION)
    subject.receive_request(ctx(5), "rq-0001", RequestKind.ACCESS, FRIDAY_22_MAY, calendar=CALENDAR, pii=PII)
    subject.receive_request(ctx(6), "rq-0002", RequestKind.BLOCKING, FRIDAY_22_MAY, calendar=CALENDAR, pii=PII)
    subject.answer_request(ctx(7, actor=DPO), "rq-0001", date(2026, 5, 26), "report-rq-0001")
    subject.request_withdrawal(ctx(8), FRIDAY_22_MAY, CALENDAR)
    withdrawn_id = subject.complete_withdrawal(ctx(9, on=MONDAY_8_JUNE, actor=SCHEDULER), MONDAY_8_JUNE)
    subject.block_card(ctx(10, on=MONDAY_8_JUNE), CARD, withdrawn_id, "loyalty participation ended")
    subject.confirm_enforcement(ctx(11, on=MONDAY_8_JUNE), "loyalty", withdrawn_id, "card blocked")
    subject.grant_consent(
        ctx(12, on=date(2026, 7, 1), actor=CONSULTANT), consent_terms(valid_until=date(2027, 6, 30)), PII
    )
    subject.opt_out_of_marketing(ctx(13, on=date(2026, 7, 2)), [Channel.EMAIL])
    return subject


def test_folding_the_recorded_events_into_a_fresh_subject_gives_the_same_state() -> None:
    subject = given_a_long_history()

    rebuilt = replay(subject.collect_events())

    assert state_of(rebuilt) == state_of(subject)
    assert rebuilt.consent_status is ConsentStatus.ACTIVE
    assert rebuilt.opted_out == {Channel.SMS, Channel.EMAIL}  # SMS stopped before the re-consent stays stopped
    assert set(rebuilt.blocks) == {DataCategory.BIRTH, DataCategory.GENDER}
    assert rebuilt.cards == {CARD: str(event_id_of(SUBJECT_ID, 11)), "card-ref-second": None}  # the cascade, v11
    assert rebuilt.open_requests == {"rq-0002": date(2026, 5, 28)}


def test_a_subject_saved_and_loaded_through_an_eventsourcing_application_keeps_its_state() -> None:
    subject = given_a_long_history()
    subject.request_withdrawal(ctx(14, on=date(2026, 7, 3)), date(2026, 7, 3), CALENDAR)
    application: Application[UUID] = Application(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})

    application.save(subject)
    loaded = application.repository.get(SUBJECT_ID)

    assert isinstance(loaded, DataSubject)
    assert state_of(loaded) == state_of(subject)
    assert loaded.consent_status is ConsentStatus.WITHDRAWAL_PENDING
    assert names(application.repository.event_store.get(SUBJECT_ID))[-3:] == [
        "ConsentGranted",
        "MarketingOptedOut",
        "ConsentWithdrawalRequested",
    ]


def test_the_rebuilt_subject_still_refuses_what_the_original_refused() -> None:
    subject = given_withdrawn()

    rebuilt = replay(subject.collect_events())

    with refused(rebuilt, "consent_withdrawn"):
        rebuilt.transfer_data(ctx(1), GROCERIES_RU, "RU", [DataCategory.CONTACTS], Purpose.DELIVERY_AND_SERVICE)


def test_the_subject_knows_which_events_each_command_recorded_since_it_was_loaded() -> None:
    # What was stored before it was loaded is the store's to answer (tests/ledger/test_ledger_application.py).
    subject = given_consent()
    opted_out = subject.opt_out_of_marketing(ctx(1), [Channel.SMS])
    requested = subject.request_withdrawal(ctx(2), FRIDAY_22_MAY, CALENDAR)

    assert subject.outcome_of("cmd-1") == [opted_out]
    assert subject.outcome_of("cmd-2") == [requested]
    assert subject.outcome_of("cmd-consent") == [subject.consent_id]
    assert subject.outcome_of("cmd-never-sent") is None


def test_a_command_stored_before_the_load_is_answered_from_its_record() -> None:
    stored = RecordedCommand(("an-event-id",), "digest-a")
    rebuilt = replay(given_consent().collect_events())

    assert rebuilt.outcome_of("cmd-1", "digest-a", stored) == ["an-event-id"]
    assert rebuilt.outcome_of("cmd-1", None, None) is None
    with refused(rebuilt, "command_id_reused"):
        rebuilt.outcome_of("cmd-1", "digest-b", stored)


def test_a_refused_command_leaves_no_outcome() -> None:
    subject = given_consent()

    with refused(subject, "not_opted_out"):
        subject.opt_in_to_marketing(ctx(1), [Channel.SMS])

    assert subject.outcome_of("cmd-1") is None


def test_a_command_id_reused_for_a_different_command_is_refused_not_taken_for_a_repeat() -> None:
    subject = given_consent()
    first = ctx(7, actor=CONSULTANT)
    subject.opt_out_of_marketing(replace(first, command_digest="digest-a"), [Channel.SMS])

    with refused(subject, "command_id_reused"):
        subject.outcome_of("cmd-7", "digest-b")
    assert subject.outcome_of("cmd-7", "digest-a") is not None


# --- Deterministic event ids --------------------------------------------------------------------------------------


def test_every_recorded_event_has_the_id_derived_from_the_subject_and_its_version() -> None:
    subject = given_a_long_history()

    events = subject.collect_events()

    assert [str(event.event_id) for event in events] == [
        str(event_id_of(SUBJECT_ID, version)) for version in range(1, len(events) + 1)
    ]
    rebuilt = replay(events)
    assert all(rebuilt.has_recorded(str(event.event_id)) for event in events)
    assert not rebuilt.has_recorded(str(event_id_of(SUBJECT_ID, len(events) + 1)))


def test_the_id_a_command_returns_is_event_id_of_the_subject_and_version() -> None:
    subject = given_consent()

    event_id = subject.link_card(ctx(1), CARD)

    assert event_id == str(event_id_of(SUBJECT_ID, subject.version)) == str(event_id_of(SUBJECT_ID, 2))


def test_event_ids_are_the_same_in_every_process_and_every_replay() -> None:
    # Pinned: the store, Kafka and regulator exports must agree on this id forever.
    assert event_id_of(UUID("00000000-0000-4000-8000-00000000a11e"), 1) == UUID("17713d12-01c9-5ac8-9d3f-6ab893795474")
    assert given_consent().consent_id == "17713d12-01c9-5ac8-9d3f-6ab893795474"
