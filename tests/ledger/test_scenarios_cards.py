"""Loyalty cards as scenarios: linked under consent, blocked by the cascade that names its cause, unblocked.

Card references are opaque and synthetic, never card numbers.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.ledger.domain import events as e
from services.ledger.domain.vocabulary import (
    ConsentStatus,
    Purpose,
)
from tests.ledger.scenario_support import (
    CALENDAR,
    CARD,
    CONSULTANT,
    FRIDAY_22_MAY,
    MONDAY_8_JUNE,
    PII,
    SCHEDULER,
    consent_terms,
    ctx,
    given_consent,
    recorded,
    refused,
)

# --- LoyaltyCardLinked / LoyaltyCardBlocked / LoyaltyCardUnblocked ------------------------------------------------


def test_a_loyalty_card_is_linked_to_a_consenting_subject() -> None:
    subject = given_consent()

    event_id = subject.link_card(ctx(1, actor=CONSULTANT), CARD)

    assert recorded(subject, event_id, e.LoyaltyCardLinked).card_ref == CARD
    assert subject.cards == {CARD: None}


def test_the_card_is_blocked_naming_the_withdrawal_that_caused_it() -> None:
    subject = given_consent()
    subject.link_card(ctx(1, actor=CONSULTANT), CARD)
    subject.request_withdrawal(ctx(2), FRIDAY_22_MAY, CALENDAR)
    withdrawn_id = subject.complete_withdrawal(ctx(3, on=MONDAY_8_JUNE, actor=SCHEDULER), MONDAY_8_JUNE)

    event_id = subject.block_card(
        ctx(4, on=MONDAY_8_JUNE, actor="system:projector"), CARD, withdrawn_id, "loyalty participation ended"
    )

    blocked = recorded(subject, event_id, e.LoyaltyCardBlocked)
    assert (blocked.card_ref, blocked.cause_event_id) == (CARD, withdrawn_id)
    assert blocked.reason == "loyalty participation ended"
    assert subject.cards == {CARD: event_id}


def test_the_card_is_unblocked_after_the_subject_consents_again() -> None:
    subject = given_consent()
    subject.link_card(ctx(1, actor=CONSULTANT), CARD)
    subject.request_withdrawal(ctx(2), FRIDAY_22_MAY, CALENDAR)
    withdrawn_id = subject.complete_withdrawal(ctx(3, on=MONDAY_8_JUNE, actor=SCHEDULER), MONDAY_8_JUNE)
    subject.block_card(ctx(4, on=MONDAY_8_JUNE), CARD, withdrawn_id, "loyalty participation ended")
    regrant_id = subject.grant_consent(ctx(5, on=date(2026, 7, 1), actor=CONSULTANT), consent_terms(), PII)

    event_id = subject.unblock_card(ctx(6, on=date(2026, 7, 1)), CARD, "consented again")

    unblocked = recorded(subject, event_id, e.LoyaltyCardUnblocked)
    assert (unblocked.card_ref, unblocked.reason) == (CARD, "consented again")
    assert subject.cards == {CARD: None}
    assert subject.consent_id == regrant_id
    assert subject.consent_status is ConsentStatus.ACTIVE


# --- Refusals: loyalty cards --------------------------------------------------------------------------------------


def test_linking_a_card_under_a_consent_without_the_loyalty_purpose() -> None:
    subject = given_consent(purposes={Purpose.DELIVERY_AND_SERVICE}, marketing_channels=set())

    with refused(subject, "loyalty_not_consented"):
        subject.link_card(ctx(1), CARD)


def test_unblocking_a_card_after_re_consent_without_the_loyalty_purpose() -> None:
    subject = given_consent()
    subject.link_card(ctx("card"), CARD)
    subject.request_withdrawal(ctx("withdrawal"), FRIDAY_22_MAY, CALENDAR)
    withdrawn_id = subject.complete_withdrawal(ctx("withdrawn", on=MONDAY_8_JUNE), MONDAY_8_JUNE)
    subject.block_card(ctx("cascade", on=MONDAY_8_JUNE), CARD, withdrawn_id, "loyalty participation ended")
    subject.grant_consent(
        ctx("delivery-only", on=date(2026, 7, 1)),
        consent_terms(purposes={Purpose.DELIVERY_AND_SERVICE}, marketing_channels=set()),
        PII,
    )

    with refused(subject, "loyalty_not_consented"):
        subject.unblock_card(ctx(1), CARD, "consented again")


def test_linking_the_same_card_twice() -> None:
    subject = given_consent()
    subject.link_card(ctx("card"), CARD)

    with refused(subject, "card_already_linked"):
        subject.link_card(ctx(1), CARD)


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(lambda s: s.block_card(ctx(1), "card-ref-unknown", "evt", "x"), id="block"),
        pytest.param(lambda s: s.unblock_card(ctx(1), "card-ref-unknown", "x"), id="unblock"),
    ],
)
def test_a_card_that_is_not_linked(command: Any) -> None:
    subject = given_consent()
    subject.link_card(ctx("card"), CARD)

    with refused(subject, "card_not_linked"):
        command(subject)


def test_blocking_a_card_that_is_already_blocked() -> None:
    subject = given_consent()
    subject.link_card(ctx("card"), CARD)
    cause = str(subject.consent_id)
    first = subject.block_card(ctx("block-card"), CARD, cause, "lost card")

    with refused(subject, "card_already_blocked") as refusal:
        subject.block_card(ctx(1), CARD, cause, "lost card")

    assert first in refusal.value.message


def test_unblocking_a_card_that_is_not_blocked() -> None:
    subject = given_consent()
    subject.link_card(ctx("card"), CARD)

    with refused(subject, "card_not_blocked"):
        subject.unblock_card(ctx(1), CARD, "x")


def test_a_card_block_must_name_one_of_the_subjects_own_events_as_its_cause() -> None:
    subject = given_consent()
    subject.link_card(ctx("link"), CARD)

    with refused(subject, "unknown_cause"):
        subject.block_card(ctx(1), CARD, "an-event-of-someone-else", "consent withdrawn")
