"""The ledger application on SQLite and PostgreSQL: a whole life cycle, idempotency, erasure, history."""

from __future__ import annotations

import pytest

from schemas.chain import chain_problems
from services.ledger.adapters.pii.keys import SubjectErasedError
from services.ledger.application.contract import to_envelope
from services.ledger.domain.errors import RuleViolationError
from services.ledger.domain.state import Context
from services.ledger.domain.vocabulary import Channel, DataCategory, ErasureGround, Purpose
from tests.ledger.acts import ScenarioLedger
from tests.ledger.conftest import at, ctx, make_ledger, new_subject, tablet_consent

PII = {"name": "Test Subject One", "phone": "+7 700 000 0001"}


def test_a_whole_life_cycle_is_recorded_in_a_verifiable_chain(ledger: ScenarioLedger) -> None:
    subject = new_subject()
    granted = ledger.grant_consent(subject, ctx("c1"), tablet_consent(), PII)
    ledger.opt_out_of_marketing(subject, ctx("c2"), [Channel.SMS])
    ledger.link_card(subject, ctx("c3"), "card-0001")
    ledger.request_withdrawal(subject, ctx("c4", "2026-05-22"), filed_on=at("2026-05-22").date())
    with pytest.raises(RuleViolationError) as early:
        ledger.complete_withdrawal(subject, ctx("c5", "2026-06-05"), today=at("2026-06-05").date())
    withdrawn = ledger.complete_withdrawal(subject, ctx("c6", "2026-06-08"), today=at("2026-06-08").date())
    ledger.block_card(subject, ctx("c7", "2026-06-08"), "card-0001", withdrawn.event_ids[0], "consent withdrawn")
    with pytest.raises(RuleViolationError) as transfer:
        ledger.transfer_data(
            subject, ctx("c8", "2026-06-09"),
            recipient="partner-ru", country="RU", categories=[DataCategory.CONTACTS], purpose=Purpose.MARKETING,
        )  # fmt: skip
    ledger.erase_data(subject, ctx("c9", "2026-06-10", "dpo-1"), ErasureGround.CONSENT_WITHDRAWN, "subject")

    events, state = ledger.history(subject)
    envelopes = [to_envelope(event) for event in events]

    assert [envelope["type"].rsplit(".", 1)[1] for envelope in envelopes] == [
        "ConsentGranted", "MarketingOptedOut", "LoyaltyCardLinked", "ConsentWithdrawalRequested",
        "ConsentWithdrawn", "LoyaltyCardBlocked", "PersonalDataErased",
    ]  # fmt: skip
    assert envelopes[3]["data"]["effective_on"] == "2026-06-08"
    assert early.value.rule == "withdrawal_not_due"
    assert transfer.value.rule == "consent_withdrawn"
    assert envelopes[5]["data"]["cause_event_id"] == withdrawn.event_ids[0]
    assert envelopes[0]["id"] == granted.event_ids[0]
    assert chain_problems(envelopes) == []
    assert state is not None
    assert state.erased_by == envelopes[-1]["id"]


def test_after_erasure_personal_data_is_unreadable_while_every_hash_still_verifies(
    ledger: ScenarioLedger, store_url: str
) -> None:
    subject = new_subject()
    ledger.grant_consent(subject, ctx("c1"), tablet_consent(), PII)
    token = ledger.history(subject)[0][0].pii
    assert token is not None
    assert "Test Subject" not in token
    assert ledger.cipher.decrypt(str(subject), token) == PII

    ledger.erase_data(subject, ctx("c2", actor="dpo-1"), ErasureGround.SUBJECT_OR_AUTHORITY_DEMAND, "subject")
    fresh = make_ledger(store_url)  # another process: no key cache
    events, _ = fresh.history(subject)

    with pytest.raises(SubjectErasedError):
        fresh.cipher.decrypt(str(subject), token)
    assert events[0].pii == token  # the ciphertext is still in the log, unreadable
    assert chain_problems(to_envelope(event) for event in events) == []
    with pytest.raises(RuleViolationError) as again:
        fresh.grant_consent(subject, ctx("c3"), tablet_consent(), PII)
    assert again.value.rule == "subject_erased"
    fresh.close()


def test_a_repeated_command_id_returns_the_first_outcome_and_records_nothing(ledger: ScenarioLedger) -> None:
    subject = new_subject()
    first = ledger.grant_consent(subject, ctx("grant-1"), tablet_consent(), PII)

    repeat = ledger.grant_consent(subject, ctx("grant-1"), tablet_consent(), PII)

    assert (repeat.event_ids, repeat.replayed, first.replayed) == (first.event_ids, True, False)
    assert len(ledger.history(subject)[0]) == 1


def test_history_as_of_a_moment_shows_the_state_as_it_stood_then(ledger: ScenarioLedger) -> None:
    subject = new_subject()
    ledger.grant_consent(subject, ctx("c1", "2026-05-04"), tablet_consent(), PII)
    ledger.opt_out_of_marketing(subject, ctx("c2", "2026-05-20"), [Channel.EMAIL])

    before_events, before = ledger.history(subject, as_of=at("2026-05-10"))
    after_events, after = ledger.history(subject, as_of=at("2026-05-21"))

    assert before is not None
    assert after is not None
    assert (len(before_events), before.opted_out) == (1, set())
    assert (len(after_events), after.opted_out) == (2, {Channel.EMAIL})


def test_a_crash_between_recording_an_erasure_and_destroying_the_key_is_mended_by_erasing_again(
    ledger: ScenarioLedger,
) -> None:
    subject = new_subject()
    ledger.grant_consent(subject, ctx("c1"), tablet_consent(), PII)
    token = ledger.history(subject)[0][0].pii
    assert token is not None
    crash = ctx("c2", actor="dpo-1")
    ledger.execute(subject, crash, lambda s: s.erase_data(crash, ErasureGround.PURPOSE_ACHIEVED, "subject"))
    assert ledger.cipher.decrypt(str(subject), token) == PII  # recorded, but the key survived the "crash"

    with pytest.raises(RuleViolationError) as again:
        ledger.erase_data(subject, ctx("c3", actor="dpo-1"), ErasureGround.PURPOSE_ACHIEVED, "subject")

    assert again.value.rule == "subject_erased"
    with pytest.raises(SubjectErasedError):
        ledger.cipher.decrypt(str(subject), token)


def test_a_subjects_events_are_recorded_in_increasing_time_even_when_a_clock_runs_behind(
    ledger: ScenarioLedger,
) -> None:
    subject = new_subject()
    ledger.grant_consent(subject, Context("c1", "instance-a", at("2026-05-04", "10:00")), tablet_consent(), None)
    ledger.opt_out_of_marketing(subject, Context("c2", "instance-b", at("2026-05-04", "09:59")), [Channel.SMS])
    ledger.opt_out_of_marketing(subject, ctx("c3", "2026-05-04"), [Channel.EMAIL])  # the grant's clock again

    events, _ = ledger.history(subject)
    as_of_grant, _ = ledger.history(subject, as_of=at("2026-05-04", "10:00"))

    times = [event.timestamp for event in events]
    assert times == sorted(set(times)), "strictly increasing"
    assert events[1].occurred_at == at("2026-05-04", "09:59").isoformat(), "when it happened is kept as told"
    assert [event.originator_version for event in as_of_grant] == [1]  # a prefix, never a gap
