"""Refusals that cut across commands: nothing touches an erased subject, nothing needing consent runs without it.

All subjects, cards and forms are synthetic.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.ledger.domain import events as e
from services.ledger.domain.subject import DataSubject
from services.ledger.domain.vocabulary import (
    BlockGround,
    Channel,
    DataCategory,
    ErasureGround,
    Purpose,
    RequestKind,
    UnblockGround,
    WithdrawalRefusalReason,
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
    consent_terms,
    ctx,
    given_consent,
    given_subject,
    given_withdrawn,
    recorded,
    refused,
)

# --- Refusals: after erasure --------------------------------------------------------------------------------------


def given_erased() -> DataSubject:
    """A consenting subject with a linked card, an open request and a pending withdrawal, then erased."""
    subject = given_consent()
    subject.link_card(ctx("card", actor=CONSULTANT), CARD)
    subject.block_data(ctx("block", actor=DPO), [DataCategory.BIRTH], BlockGround.ACCURACY_IN_DOUBT)
    subject.receive_request(ctx("request"), "rq-0009", RequestKind.ACCESS, FRIDAY_22_MAY, calendar=CALENDAR, pii=PII)
    subject.request_withdrawal(ctx("withdrawal"), FRIDAY_22_MAY, CALENDAR)
    subject.erase_data(ctx("erase", actor=DPO), ErasureGround.SUBJECT_OR_AUTHORITY_DEMAND, "subject")
    return subject


AFTER_ERASURE_REFUSED: dict[str, Any] = {
    "consent again": lambda s: s.grant_consent(ctx(1), consent_terms(), PII),
    "stop marketing": lambda s: s.opt_out_of_marketing(ctx(1), [Channel.POST]),
    "resume marketing": lambda s: s.opt_in_to_marketing(ctx(1), [Channel.SMS]),
    "file a withdrawal": lambda s: s.request_withdrawal(ctx(1), FRIDAY_22_MAY, CALENDAR),
    "block data": lambda s: s.block_data(ctx(1), [DataCategory.NAME], BlockGround.SUBJECT_APPLICATION),
    "unblock data": lambda s: s.unblock_data(ctx(1), [DataCategory.BIRTH], UnblockGround.DATA_CONFIRMED),
    "rectify data": lambda s: s.rectify_data(ctx(1), [DataCategory.NAME], PII),
    "transfer data": lambda s: s.transfer_data(ctx(1), "courier-kz", "KZ", [DataCategory.NAME], Purpose.CONTRACT),
    "erase again": lambda s: s.erase_data(ctx(1), ErasureGround.DATA_DEFECTIVE, "dpo"),
    "link a card": lambda s: s.link_card(ctx(1), "card-ref-other"),
    "unblock a card": lambda s: s.unblock_card(ctx(1), CARD, "x"),
    # erasure ends processing: a withdrawal still pending has nothing left to take effect on
    "complete the pending withdrawal": lambda s: s.complete_withdrawal(ctx(1, on=MONDAY_8_JUNE), MONDAY_8_JUNE),
    "refuse the pending withdrawal": lambda s: s.refuse_withdrawal(
        ctx(1), WithdrawalRefusalReason.LEGAL_RETENTION_DUTY, "x"
    ),
}


@pytest.mark.parametrize("command", list(AFTER_ERASURE_REFUSED))
def test_once_data_is_erased_nothing_may_touch_the_subjects_consent_or_data(command: str) -> None:
    subject = given_erased()

    with refused(subject, "subject_erased") as refusal:
        AFTER_ERASURE_REFUSED[command](subject)

    assert subject.erased_by is not None
    assert subject.erased_by in refusal.value.message


AFTER_ERASURE_RECORDED: dict[str, tuple[Any, type[e.SubjectEvent]]] = {
    # subscribers confirm they acted on the erasure itself
    "a subscriber confirms the erasure": (
        lambda s: s.confirm_enforcement(ctx(1), "marketing", s.erased_by, "profile deleted"),
        e.EnforcementConfirmed,
    ),
    # the three-working-day duty to answer outlives the data
    "an open request is answered": (
        lambda s: s.answer_request(ctx(1), "rq-0009", date(2026, 5, 26), None),
        e.SubjectRequestAnswered,
    ),
    "an open request is rejected": (lambda s: s.reject_request(ctx(1), "rq-0009", "x"), e.SubjectRequestRejected),
    "a new request is received": (
        lambda s: s.receive_request(ctx(1), "rq-0010", RequestKind.ACCESS, FRIDAY_22_MAY, calendar=CALENDAR, pii=None),
        e.SubjectRequestReceived,
    ),
    "the card cascade blocks the card": (
        lambda s: s.block_card(ctx(1), CARD, s.erased_by, "data erased"),
        e.LoyaltyCardBlocked,
    ),
}


@pytest.mark.parametrize("command", list(AFTER_ERASURE_RECORDED))
def test_after_erasure_the_ledger_still_records_acknowledgements_requests_and_the_card_cascade(
    command: str,
) -> None:
    subject = given_erased()
    act, event_class = AFTER_ERASURE_RECORDED[command]

    event_id = act(subject)

    recorded(subject, event_id, event_class)


def test_after_erasure_a_consent_no_longer_expires() -> None:
    subject = given_erased()

    with refused(subject, "subject_erased"):
        subject.expire_consent(ctx(1), date(2030, 1, 1))


# --- Refusals: no consent in force --------------------------------------------------------------------------------


NEEDS_CONSENT_IN_FORCE: dict[str, Any] = {
    "resume marketing": lambda s: s.opt_in_to_marketing(ctx(1), [Channel.SMS]),
    "file a withdrawal": lambda s: s.request_withdrawal(ctx(1), MONDAY_8_JUNE, CALENDAR),
    "transfer data": lambda s: s.transfer_data(
        ctx(1), "courier-kz", "KZ", [DataCategory.CONTACTS], Purpose.DELIVERY_AND_SERVICE
    ),
    "link a card": lambda s: s.link_card(ctx(1), CARD),
}


@pytest.mark.parametrize("command", list(NEEDS_CONSENT_IN_FORCE))
def test_without_any_consent_on_record(command: str) -> None:
    subject = given_subject()

    with refused(subject, "consent_none"):
        NEEDS_CONSENT_IN_FORCE[command](subject)


@pytest.mark.parametrize("command", list(NEEDS_CONSENT_IN_FORCE))
def test_after_the_withdrawal_took_effect(command: str) -> None:
    subject = given_withdrawn()

    with refused(subject, "consent_withdrawn"):
        NEEDS_CONSENT_IN_FORCE[command](subject)


@pytest.mark.parametrize("command", list(NEEDS_CONSENT_IN_FORCE))
def test_after_the_consent_expired(command: str) -> None:
    subject = given_consent(valid_until=date(2026, 5, 31))
    subject.expire_consent(ctx("expiry", on=date(2026, 6, 1), actor=SCHEDULER), date(2026, 6, 1))

    with refused(subject, "consent_expired"):
        NEEDS_CONSENT_IN_FORCE[command](subject)


def test_a_transfer_to_russia_is_refused_once_the_withdrawal_took_effect() -> None:
    subject = given_withdrawn()  # the withdrawn consent allowed cross-border transfer to RU

    with refused(subject, "consent_withdrawn"):
        subject.transfer_data(ctx(1), GROCERIES_RU, "RU", [DataCategory.CONTACTS], Purpose.DELIVERY_AND_SERVICE)


def test_a_transfer_to_russia_is_refused_after_re_consent_on_a_form_without_cross_border_transfer() -> None:
    subject = given_withdrawn()
    subject.grant_consent(
        ctx("re-consent", on=date(2026, 7, 1), actor=CONSULTANT), consent_terms(cross_border_countries=set()), PII
    )

    with refused(subject, "cross_border_not_consented"):
        subject.transfer_data(ctx(1), GROCERIES_RU, "RU", [DataCategory.CONTACTS], Purpose.DELIVERY_AND_SERVICE)


def test_a_card_is_not_unblocked_before_the_subject_consents_again() -> None:
    subject = given_consent()
    subject.link_card(ctx("card"), CARD)
    subject.request_withdrawal(ctx("withdrawal"), FRIDAY_22_MAY, CALENDAR)
    withdrawn_id = subject.complete_withdrawal(ctx("withdrawn", on=MONDAY_8_JUNE), MONDAY_8_JUNE)
    subject.block_card(ctx("cascade", on=MONDAY_8_JUNE), CARD, withdrawn_id, "loyalty participation ended")

    with refused(subject, "consent_withdrawn"):
        subject.unblock_card(ctx(1), CARD, "asked at the till")
