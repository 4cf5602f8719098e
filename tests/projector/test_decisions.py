"""Checks a compliance officer must be able to explain: allow or deny, the rule, and the event that decided."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

import pytest

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
from services.projector.decisions import RULES, Decision, Question, decide
from tests.ledger.scenario_support import (
    CALENDAR,
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
    given_subject,
    given_withdrawal_pending,
)
from tests.projector import project

FRIDAY_5_JUNE = date(2026, 6, 5)
NEW_YEAR = date(2027, 1, 1)

SMS_CAMPAIGN = Question("marketing", "marketing", channel="sms", categories=("contacts",))
LOYALTY_POINTS = Question("loyalty", "loyalty", categories=("name",))
DELIVERY = Question("delivery", "delivery_and_service", categories=("name", "residence_address"))
ORDER_SHIPPED_BY_SMS = Question(
    "delivery", "delivery_and_service", channel="sms", categories=("contacts",), service_message=True
)
HANDOVER_TO_RU = Question(
    "delivery", "delivery_and_service", recipient="delivery-partner-ru", country="RU", categories=("name",)
)
EVERY_QUESTION = (SMS_CAMPAIGN, LOYALTY_POINTS, DELIVERY, ORDER_SHIPPED_BY_SMS, HANDOVER_TO_RU)


def verdict(state: dict[str, Any] | None, question: Question, today: date = FRIDAY_22_MAY) -> tuple[Any, ...]:
    """(allow, rule, deciding event id) of the check, and the rule is one of the published codes."""
    decision = decide(state, question, today)
    assert decision.rule in RULES
    return decision.allow, decision.rule, decision.event_id


def grant(subject: DataSubject, **changes: Any) -> str:
    """The subject consents again on the loyalty form (with `changes`) on 22 May."""
    return subject.grant_consent(ctx("grant-again", actor=CONSULTANT), consent_terms(**changes), PII)


# --- who is known, and what was consented ---------------------------------------------------------


def test_a_subject_nothing_is_recorded_about_has_no_consent() -> None:
    assert verdict(None, LOYALTY_POINTS) == (False, "no_consent", None)


def test_a_person_who_only_wrote_in_has_not_consented() -> None:
    subject = given_subject()
    received = subject.receive_request(
        ctx("req"), "req-1", RequestKind.ACCESS, FRIDAY_22_MAY, calendar=CALENDAR, pii=PII
    )

    assert verdict(project(subject), LOYALTY_POINTS) == (False, "no_consent", received)


def test_the_loyalty_form_signed_on_the_tablet_allows_what_it_covers() -> None:
    subject = given_consent()
    state, granted = project(subject), subject.consent_id

    for question in (LOYALTY_POINTS, DELIVERY, SMS_CAMPAIGN, HANDOVER_TO_RU):
        assert verdict(state, question) == (True, "consented", granted)


def test_a_purpose_the_form_does_not_list_is_refused_by_the_grant() -> None:
    subject = given_consent(purposes={Purpose.LOYALTY}, marketing_channels=set())

    assert verdict(project(subject), DELIVERY) == (False, "purpose_not_consented", subject.consent_id)


def test_a_data_category_the_form_does_not_list_is_refused_by_the_grant() -> None:
    subject = given_consent(categories={DataCategory.NAME, DataCategory.CONTACTS})
    state = project(subject)

    assert verdict(state, DELIVERY) == (False, "category_not_consented", subject.consent_id)
    assert verdict(state, LOYALTY_POINTS) == (True, "consented", subject.consent_id)


# --- erasure and blocking come first --------------------------------------------------------------


@pytest.mark.parametrize("question", EVERY_QUESTION)
def test_after_erasure_nothing_may_be_used(question: Question) -> None:
    subject = given_consent()
    subject.block_data(ctx("block", actor=DPO), [DataCategory.CONTACTS], BlockGround.SUBJECT_APPLICATION)
    erased = subject.erase_data(ctx("erase", actor=DPO), ErasureGround.SUBJECT_OR_AUTHORITY_DEMAND, "subject")

    assert verdict(project(subject), question) == (False, "erased", erased)


def test_contacts_blocked_while_their_accuracy_is_in_doubt_stop_what_needs_them() -> None:
    subject = given_consent()
    blocked = subject.block_data(ctx("block", actor=DPO), [DataCategory.CONTACTS], BlockGround.ACCURACY_IN_DOUBT)
    state = project(subject)

    assert verdict(state, SMS_CAMPAIGN) == (False, "data_blocked", blocked)
    assert verdict(state, ORDER_SHIPPED_BY_SMS) == (False, "data_blocked", blocked)
    assert verdict(state, LOYALTY_POINTS) == (True, "consented", subject.consent_id)  # needs only the name

    subject.unblock_data(ctx("unblock", actor=DPO), [DataCategory.CONTACTS], UnblockGround.DATA_CONFIRMED)
    assert verdict(project(subject, state), SMS_CAMPAIGN) == (True, "consented", subject.consent_id)


# --- service messages about an order ---------------------------------------------------------------


def test_service_messages_about_an_order_need_no_marketing_consent() -> None:
    subject = given_consent(purposes={Purpose.LOYALTY, Purpose.DELIVERY_AND_SERVICE}, marketing_channels=set())
    opted_out = subject.opt_out_of_marketing(ctx("stop-sms"), [Channel.SMS])
    state = project(subject)

    assert verdict(state, SMS_CAMPAIGN) == (False, "purpose_not_consented", subject.consent_id)
    # No event decides it, not the opt-out the subject filed last: the policy's rule alone allows it.
    assert opted_out is not None
    assert verdict(state, ORDER_SHIPPED_BY_SMS) == (True, "service_message", None)


def test_service_messages_stop_once_the_data_is_erased() -> None:
    subject = given_consent()
    state = project(subject)
    assert verdict(state, ORDER_SHIPPED_BY_SMS)[:2] == (True, "service_message")

    erased = subject.erase_data(ctx("erase", actor=DPO), ErasureGround.CONSENT_WITHDRAWN, "subject")

    assert verdict(project(subject, state), ORDER_SHIPPED_BY_SMS) == (False, "erased", erased)


def test_a_service_message_sent_through_a_third_party_still_needs_transfer_cover() -> None:
    subject = given_consent(third_party_transfer=False, cross_border_countries=set())
    via_courier = Question(
        "delivery", "delivery_and_service", recipient="courier-kz", country="KZ", service_message=True
    )

    assert verdict(project(subject), via_courier) == (False, "transfer_not_consented", subject.consent_id)


# --- withdrawal and expiry -------------------------------------------------------------------------


def test_a_withdrawal_filed_on_22_may_stops_marketing_at_once_and_the_rest_on_8_june() -> None:
    subject = given_withdrawal_pending()
    request = subject.pending_withdrawal[0] if subject.pending_withdrawal else None
    state = project(subject)

    assert verdict(state, SMS_CAMPAIGN, FRIDAY_22_MAY) == (False, "withdrawal_pending", request)
    assert verdict(state, DELIVERY, FRIDAY_5_JUNE) == (True, "consented", subject.consent_id)
    # On its day the withdrawal is in force even though ConsentWithdrawn has not arrived yet.
    assert verdict(state, DELIVERY, MONDAY_8_JUNE) == (False, "withdrawal_effective", request)
    assert verdict(state, SMS_CAMPAIGN, MONDAY_8_JUNE) == (False, "withdrawal_effective", request)

    withdrawn = subject.complete_withdrawal(ctx("withdrawn", on=MONDAY_8_JUNE, actor=SCHEDULER), MONDAY_8_JUNE)
    state = project(subject, state)

    for question in (DELIVERY, LOYALTY_POINTS, SMS_CAMPAIGN, HANDOVER_TO_RU):
        assert verdict(state, question, MONDAY_8_JUNE) == (False, "consent_withdrawn", withdrawn)
    assert verdict(state, ORDER_SHIPPED_BY_SMS, MONDAY_8_JUNE) == (True, "service_message", None)


def test_a_refused_withdrawal_lets_marketing_resume() -> None:
    subject = given_withdrawal_pending()
    subject.refuse_withdrawal(ctx("refuse", actor=DPO), WithdrawalRefusalReason.UNFULFILLED_OBLIGATION, "open order")

    assert verdict(project(subject), SMS_CAMPAIGN, MONDAY_8_JUNE) == (True, "consented", subject.consent_id)


def test_a_consent_for_2026_ends_with_the_year_even_before_its_expiry_is_recorded() -> None:
    subject = given_consent(valid_until=date(2026, 12, 31))
    state = project(subject)

    assert verdict(state, LOYALTY_POINTS, date(2026, 12, 31)) == (True, "consented", subject.consent_id)
    assert verdict(state, LOYALTY_POINTS, NEW_YEAR) == (False, "consent_expired", subject.consent_id)

    expired = subject.expire_consent(ctx("expire", on=date(2027, 1, 4), actor=SCHEDULER), date(2027, 1, 4))

    assert verdict(project(subject, state), LOYALTY_POINTS, NEW_YEAR) == (False, "consent_expired", expired)


# --- marketing channels ----------------------------------------------------------------------------


def test_marketing_goes_only_over_a_channel_the_form_names() -> None:
    subject = given_consent()  # SMS and e-mail
    state = project(subject)
    by_post = Question("marketing", "marketing", channel="post", categories=("residence_address",))
    no_channel = Question("marketing", "marketing")

    assert verdict(state, by_post) == (False, "channel_not_consented", subject.consent_id)
    assert verdict(state, no_channel) == (False, "channel_required", subject.consent_id)


def test_marketing_by_sms_stops_on_demand_and_resumes_by_opt_in() -> None:
    subject = given_consent()
    opted_out = subject.opt_out_of_marketing(ctx("stop-sms"), [Channel.SMS])
    state = project(subject)
    by_email = Question("marketing", "marketing", channel="email", categories=("contacts",))

    assert verdict(state, SMS_CAMPAIGN) == (False, "opted_out", opted_out)
    assert verdict(state, by_email) == (True, "consented", subject.consent_id)

    opted_in = subject.opt_in_to_marketing(ctx("resume-sms"), [Channel.SMS])
    state = project(subject, state)

    assert verdict(state, SMS_CAMPAIGN) == (True, "consented", opted_in)


def test_marketing_stopped_on_demand_stays_stopped_after_a_new_consent() -> None:
    subject = given_consent()
    opted_out = subject.opt_out_of_marketing(ctx("stop-sms"), [Channel.SMS])
    regranted = grant(subject)
    state = project(subject)

    assert verdict(state, SMS_CAMPAIGN) == (False, "opted_out", opted_out)
    assert verdict(state, LOYALTY_POINTS) == (True, "consented", regranted)


# --- transfers to third parties, at home and abroad ------------------------------------------------


def test_a_transfer_to_russia_is_allowed_with_russian_cover_and_refused_after_withdrawal() -> None:
    subject = given_withdrawal_pending()
    state = project(subject)

    assert verdict(state, HANDOVER_TO_RU, FRIDAY_5_JUNE) == (True, "consented", subject.consent_id)

    withdrawn = subject.complete_withdrawal(ctx("withdrawn", on=MONDAY_8_JUNE, actor=SCHEDULER), MONDAY_8_JUNE)

    assert verdict(project(subject, state), HANDOVER_TO_RU, MONDAY_8_JUNE) == (False, "consent_withdrawn", withdrawn)


def test_a_transfer_abroad_needs_that_countrys_cover() -> None:
    subject = given_consent()  # RU only
    state = project(subject)
    to_china = Question("delivery", "delivery_and_service", recipient="partner-cn", country="CN", categories=("name",))
    at_home = Question("delivery", "delivery_and_service", recipient="courier-kz", country="KZ", categories=("name",))
    no_country = Question("delivery", "delivery_and_service", recipient="courier", categories=("name",))

    assert verdict(state, to_china) == (False, "cross_border_not_consented", subject.consent_id)
    assert verdict(state, at_home) == (True, "consented", subject.consent_id)
    assert verdict(state, no_country) == (False, "country_required", subject.consent_id)


def test_a_transfer_needs_third_party_cover_and_a_named_recipient_when_the_form_names_them() -> None:
    no_transfers = given_consent(third_party_transfer=False, cross_border_countries=set())
    named_only = given_consent(recipients={"partner-a"})
    no_transfers_state, named_only_state = project(no_transfers), project(named_only)
    to_partner_b = Question("delivery", "delivery_and_service", recipient="partner-b", country="KZ")
    to_partner_a = Question("delivery", "delivery_and_service", recipient="partner-a", country="RU")

    assert verdict(no_transfers_state, to_partner_a) == (False, "transfer_not_consented", no_transfers.consent_id)
    assert verdict(named_only_state, to_partner_b) == (False, "transfer_not_consented", named_only.consent_id)
    assert verdict(named_only_state, to_partner_a) == (True, "consented", named_only.consent_id)


# --- what every answer is ---------------------------------------------------------------------------


def test_answers_name_no_personal_data_and_leave_the_state_as_it_was() -> None:
    subject = given_withdrawal_pending()
    subject.opt_out_of_marketing(ctx("stop-email"), [Channel.EMAIL])
    state = project(subject)
    before = repr(state)

    decisions = [decide(state, question, day) for question in EVERY_QUESTION for day in (FRIDAY_22_MAY, MONDAY_8_JUNE)]

    assert repr(state) == before
    assert all(isinstance(decision, Decision) and decision.reason for decision in decisions)
    for decision in decisions:
        assert PII not in str(asdict(decision))
        assert str(SUBJECT_ID) not in decision.reason


def test_a_block_on_contacts_stops_an_sms_even_when_the_question_names_no_category() -> None:
    subject = given_consent()
    blocked = subject.block_data(ctx("block", actor=DPO), [DataCategory.CONTACTS], BlockGround.ACCURACY_IN_DOUBT)
    state = project(subject)

    sms = decide(state, Question("marketing", "marketing", channel="sms"), FRIDAY_22_MAY)
    order_message = decide(state, Question("delivery", "delivery_and_service", service_message=True), FRIDAY_22_MAY)

    assert (sms.allow, sms.rule, sms.event_id) == (False, "data_blocked", blocked)
    assert (order_message.allow, order_message.rule) == (False, "data_blocked")


def test_a_service_message_needs_no_consent_for_a_subject_the_ledger_does_not_know_either() -> None:
    question = Question("delivery", "delivery_and_service", service_message=True)

    assert decide(None, question, FRIDAY_22_MAY).rule == "service_message"


def test_a_service_message_names_the_event_that_denies_it_and_no_event_when_it_is_allowed() -> None:
    subject = given_consent()
    subject.opt_out_of_marketing(ctx("stop-sms"), [Channel.SMS])
    state = project(subject)
    assert verdict(state, ORDER_SHIPPED_BY_SMS) == (True, "service_message", None)

    blocked = subject.block_data(ctx("block", actor=DPO), [DataCategory.CONTACTS], BlockGround.ACCURACY_IN_DOUBT)
    state = project(subject, state)
    assert verdict(state, ORDER_SHIPPED_BY_SMS) == (False, "data_blocked", blocked)

    subject.unblock_data(ctx("unblock", actor=DPO), [DataCategory.CONTACTS], UnblockGround.DATA_CONFIRMED)
    erased = subject.erase_data(ctx("erase", actor=DPO), ErasureGround.CONSENT_WITHDRAWN, "subject")
    assert verdict(project(subject, state), ORDER_SHIPPED_BY_SMS) == (False, "erased", erased)
