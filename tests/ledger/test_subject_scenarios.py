"""A data subject's consent history as scenarios: given events, when a command, then the events it records.

Each test reads the way the consent policy (REQUIREMENTS.md) and the event catalogue (DESIGN.md) do;
all subjects, cards, forms and proofs are synthetic.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import Application

from services.ledger.domain import events as e
from services.ledger.domain.errors import InvalidCommandError
from services.ledger.domain.events import event_id_of
from services.ledger.domain.subject import DataSubject
from services.ledger.domain.terms import Collection, Notice, Representative
from services.ledger.domain.vocabulary import (
    BlockGround,
    Channel,
    CollectionMethod,
    ConsentStatus,
    DataCategory,
    ErasureGround,
    Language,
    Purpose,
    RequestKind,
    UnblockGround,
    WithdrawalRefusalReason,
)
from tests.ledger.scenario_support import (
    ALMATY,
    CALENDAR,
    CONSULTANT,
    DPO,
    FORM_TEXT_SHA256,
    FRIDAY_22_MAY,
    MONDAY_8_JUNE,
    PII,
    SCAN_SHA256,
    SCHEDULER,
    SUBJECT_ID,
    consent_terms,
    ctx,
    given_consent,
    given_subject,
    given_withdrawal_pending,
    given_withdrawn,
    names,
    recorded,
    refused,
    replay,
    state_of,
)

CARD = "card-ref-7f3a"  # an opaque card reference, never the card number
GROCERIES_RU = "retail-partner-ru"  # a synthetic recipient in the Russian Federation


# --- ConsentGranted ------------------------------------------------------------------------------------------------


def test_consent_typed_on_a_consultants_tablet_is_recorded_with_its_sms_verification() -> None:
    subject = given_subject()

    event_id = subject.grant_consent(ctx(1, actor=CONSULTANT), consent_terms(), PII)

    granted = recorded(subject, event_id, e.ConsentGranted)
    assert granted.terms["notice"] == {
        "form_id": "loyalty-consent",
        "form_version": "3",
        "text_sha256": FORM_TEXT_SHA256,
        "language": "kk",
    }
    assert granted.terms["collection"] == {
        "method": "tablet_sms",
        "proof": {"sms_verification_id": "sms-ver-000123"},
        "consultant_id": "c-017",
        "store_id": "store-almaty-01",
    }
    assert granted.terms["controller"] == {"name": "ESPERANCE-RK LLP", "bin": "220240037922"}
    assert granted.terms["purposes"] == sorted(p.value for p in Purpose)
    assert granted.terms["categories"] == sorted(c.value for c in DataCategory)
    assert granted.terms["marketing_channels"] == ["email", "sms"]
    assert granted.terms["third_party_transfer"] is True
    assert granted.terms["cross_border_countries"] == ["RU"]
    assert granted.terms["valid_until"] is None  # for the duration of the loyalty programme
    assert granted.terms["jurisdiction"] == "KZ"
    assert "94-V" in granted.terms["law"]
    assert granted.pii == PII
    assert (granted.actor, granted.command_id) == (CONSULTANT, "cmd-1")
    assert granted.occurred_at == datetime.combine(FRIDAY_22_MAY, time(10), ALMATY).isoformat()
    assert subject.consent_status is ConsentStatus.ACTIVE
    assert subject.consent_id == event_id
    assert subject.terms == consent_terms()


@pytest.mark.parametrize(
    ("collection", "proof"),
    [
        pytest.param(
            Collection(CollectionMethod.WEB_CHECKBOX, {"checkbox_form_version": "web-2026.1"}),
            {"checkbox_form_version": "web-2026.1"},
            id="web-site checkbox",
        ),
        pytest.param(
            Collection(
                CollectionMethod.SIGNED_QUESTIONNAIRE, {"signed_scan_sha256": SCAN_SHA256}, store_id="store-astana-02"
            ),
            {"signed_scan_sha256": SCAN_SHA256},
            id="questionnaire signed by hand, scan hashed",
        ),
        pytest.param(
            Collection(CollectionMethod.RECORDED_CALL, {"call_recording_id": "call-2026-05-22-0042"}),
            {"call_recording_id": "call-2026-05-22-0042"},
            id="recorded phone call",
        ),
    ],
)
def test_consent_is_recorded_with_the_proof_its_collection_method_needs(
    collection: Collection, proof: dict[str, str]
) -> None:
    subject = given_subject()

    event_id = subject.grant_consent(ctx(1), consent_terms(collection=collection), PII)

    granted = recorded(subject, event_id, e.ConsentGranted)
    assert granted.terms["collection"]["method"] == collection.method.value
    assert granted.terms["collection"]["proof"] == proof
    assert subject.terms is not None
    assert subject.terms.collection == collection


def test_consent_given_by_a_representative_records_the_power_of_attorney_and_keeps_their_data_encrypted() -> None:
    subject = given_subject()
    terms = consent_terms(representative=Representative(power_of_attorney_ref="poa-2026-0117"))

    event_id = subject.grant_consent(ctx(1, actor=CONSULTANT), terms, PII)

    granted = recorded(subject, event_id, e.ConsentGranted)
    assert granted.terms["representative"] == {"power_of_attorney_ref": "poa-2026-0117"}
    assert granted.pii == PII  # the representative's own name and ID document travel only encrypted
    assert subject.terms is not None
    assert subject.terms.representative == Representative("poa-2026-0117")


def test_consent_for_a_fixed_term_records_its_end() -> None:
    subject = given_subject()

    event_id = subject.grant_consent(ctx(1), consent_terms(valid_until=date(2026, 12, 31)), PII)

    assert recorded(subject, event_id, e.ConsentGranted).terms["valid_until"] == "2026-12-31"


# --- MarketingOptedOut / MarketingOptedIn -------------------------------------------------------------------------


def test_marketing_over_sms_stops_at_once_when_the_subject_demands_it() -> None:
    subject = given_consent()

    event_id = subject.opt_out_of_marketing(ctx(1), [Channel.SMS])

    assert recorded(subject, event_id, e.MarketingOptedOut).channels == ["sms"]
    assert subject.opted_out == {Channel.SMS}
    assert subject.consent_status is ConsentStatus.ACTIVE  # the rest of the consent stands


def test_only_channels_not_already_stopped_are_recorded_on_a_second_opt_out() -> None:
    subject = given_consent()
    subject.opt_out_of_marketing(ctx(1), [Channel.SMS])

    event_id = subject.opt_out_of_marketing(ctx(2), [Channel.SMS, Channel.POST, Channel.EMAIL])

    assert recorded(subject, event_id, e.MarketingOptedOut).channels == ["email", "post"]
    assert subject.opted_out == {Channel.SMS, Channel.EMAIL, Channel.POST}


def test_a_person_with_no_consent_on_record_can_still_demand_that_phone_marketing_stop() -> None:
    subject = given_subject()

    event_id = subject.opt_out_of_marketing(ctx(1), [Channel.PHONE])

    assert recorded(subject, event_id, e.MarketingOptedOut).channels == ["phone"]


def test_marketing_over_sms_resumes_when_the_subject_opts_back_in() -> None:
    subject = given_consent()
    subject.opt_out_of_marketing(ctx(1), [Channel.SMS])

    event_id = subject.opt_in_to_marketing(ctx(2), [Channel.SMS, Channel.EMAIL])

    assert recorded(subject, event_id, e.MarketingOptedIn).channels == ["sms"]  # e-mail was never stopped
    assert subject.opted_out == set()


# --- ConsentWithdrawalRequested -----------------------------------------------------------------------------------


def test_a_withdrawal_filed_on_friday_22_may_2026_takes_effect_on_8_june() -> None:
    subject = given_consent()

    event_id = subject.request_withdrawal(ctx(1), FRIDAY_22_MAY, CALENDAR)

    requested = recorded(subject, event_id, e.ConsentWithdrawalRequested)
    assert requested.filed_on == "2026-05-22"
    assert requested.effective_on == "2026-06-08"  # 10 working days; Kurban Ait on 27 May is skipped
    assert requested.requested_effective_on is None
    assert requested.consent_id == subject.consent_id
    assert subject.consent_status is ConsentStatus.WITHDRAWAL_PENDING
    assert subject.pending_withdrawal == (event_id, MONDAY_8_JUNE)


def test_a_withdrawal_asked_for_a_later_date_takes_effect_on_that_date() -> None:
    subject = given_consent()

    event_id = subject.request_withdrawal(ctx(1), FRIDAY_22_MAY, CALENDAR, requested_effective_on=date(2026, 6, 30))

    requested = recorded(subject, event_id, e.ConsentWithdrawalRequested)
    assert (requested.effective_on, requested.requested_effective_on) == ("2026-06-30", "2026-06-30")
    assert subject.pending_withdrawal == (event_id, date(2026, 6, 30))


def test_a_withdrawal_asked_for_too_early_is_moved_to_the_tenth_working_day() -> None:
    subject = given_consent()

    event_id = subject.request_withdrawal(ctx(1), FRIDAY_22_MAY, CALENDAR, requested_effective_on=date(2026, 6, 1))

    requested = recorded(subject, event_id, e.ConsentWithdrawalRequested)
    assert (requested.effective_on, requested.requested_effective_on) == ("2026-06-08", "2026-06-01")


# --- ConsentWithdrawalRefused -------------------------------------------------------------------------------------


def test_a_withdrawal_filed_with_an_order_still_to_deliver_is_refused_and_consent_stays_in_force() -> None:
    subject = given_consent()

    event_id = subject.request_withdrawal(ctx(1), FRIDAY_22_MAY, CALENDAR, unfulfilled_obligations=2)

    refusal = recorded(subject, event_id, e.ConsentWithdrawalRefused)
    assert refusal.reason == "unfulfilled_obligation"
    assert "2 unfulfilled obligation(s)" in refusal.legal_basis
    assert refusal.withdrawal_request_id is None
    assert subject.consent_status is ConsentStatus.ACTIVE
    assert subject.pending_withdrawal is None


def test_the_dpo_refusing_a_pending_withdrawal_puts_the_consent_back_in_force() -> None:
    subject = given_withdrawal_pending()
    assert subject.pending_withdrawal is not None
    request_id = subject.pending_withdrawal[0]

    event_id = subject.refuse_withdrawal(
        ctx(1, actor=DPO), WithdrawalRefusalReason.LEGAL_RETENTION_DUTY, "records kept under the Tax Code"
    )

    refusal = recorded(subject, event_id, e.ConsentWithdrawalRefused)
    assert refusal.reason == "legal_retention_duty"
    assert refusal.legal_basis == "records kept under the Tax Code"
    assert refusal.withdrawal_request_id == request_id
    assert refusal.actor == DPO
    assert subject.consent_status is ConsentStatus.ACTIVE
    assert subject.pending_withdrawal is None


# --- ConsentWithdrawn ---------------------------------------------------------------------------------------------


def test_the_scheduler_lets_the_withdrawal_take_effect_on_8_june() -> None:
    subject = given_withdrawal_pending()
    assert subject.pending_withdrawal is not None
    request_id = subject.pending_withdrawal[0]

    event_id = subject.complete_withdrawal(ctx(1, on=MONDAY_8_JUNE, actor=SCHEDULER), MONDAY_8_JUNE)

    withdrawn = recorded(subject, event_id, e.ConsentWithdrawn)
    assert withdrawn.consent_id == subject.consent_id
    assert withdrawn.withdrawal_request_id == request_id
    assert withdrawn.effective_on == "2026-06-08"
    assert subject.consent_status is ConsentStatus.WITHDRAWN
    assert subject.pending_withdrawal is None


def test_a_scheduler_running_late_still_records_the_withdrawal_as_effective_on_8_june() -> None:
    subject = given_withdrawal_pending()

    event_id = subject.complete_withdrawal(ctx(1, on=date(2026, 6, 10), actor=SCHEDULER), date(2026, 6, 10))

    assert recorded(subject, event_id, e.ConsentWithdrawn).effective_on == "2026-06-08"


def test_a_withdrawal_cannot_take_effect_on_friday_5_june_before_its_day() -> None:
    subject = given_withdrawal_pending()

    with refused(subject, "withdrawal_not_due") as refusal:
        subject.complete_withdrawal(ctx(1, on=date(2026, 6, 5), actor=SCHEDULER), date(2026, 6, 5))

    assert "2026-06-08" in refusal.value.message
    assert subject.consent_status is ConsentStatus.WITHDRAWAL_PENDING


# --- ConsentExpired -----------------------------------------------------------------------------------------------


def test_a_consent_ends_the_day_after_the_last_day_of_its_term() -> None:
    subject = given_consent(valid_until=date(2026, 12, 31))

    event_id = subject.expire_consent(ctx(1, on=date(2027, 1, 1), actor=SCHEDULER), date(2027, 1, 1))

    expired = recorded(subject, event_id, e.ConsentExpired)
    assert (expired.consent_id, expired.valid_until) == (subject.consent_id, "2026-12-31")
    assert subject.consent_status is ConsentStatus.EXPIRED


def test_a_consent_whose_term_ends_while_a_withdrawal_is_pending_expires_and_the_withdrawal_lapses() -> None:
    subject = given_withdrawal_pending(valid_until=date(2026, 6, 1))

    event_id = subject.expire_consent(ctx(1, on=date(2026, 6, 2), actor=SCHEDULER), date(2026, 6, 2))

    recorded(subject, event_id, e.ConsentExpired)
    assert subject.consent_status is ConsentStatus.EXPIRED
    assert subject.pending_withdrawal is None


# --- PersonalDataBlocked / PersonalDataUnblocked / PersonalDataRectified ------------------------------------------


@pytest.mark.parametrize(
    "ground", [pytest.param(g, id=g.value) for g in (BlockGround.ACCURACY_IN_DOUBT, BlockGround.SUBJECT_APPLICATION)]
)
def test_personal_data_is_blocked_on_either_ground_by_the_employee_who_decided(ground: BlockGround) -> None:
    subject = given_consent()

    event_id = subject.block_data(ctx(1, actor=DPO), [DataCategory.RESIDENCE_ADDRESS, DataCategory.BIRTH], ground)

    blocked = recorded(subject, event_id, e.PersonalDataBlocked)
    assert blocked.categories == ["birth", "residence_address"]
    assert (blocked.ground, blocked.decided_by) == (ground.value, DPO)
    assert subject.blocks == {DataCategory.BIRTH: event_id, DataCategory.RESIDENCE_ADDRESS: event_id}


@pytest.mark.parametrize(
    ("block", "unblock"),
    [
        pytest.param(BlockGround.ACCURACY_IN_DOUBT, UnblockGround.DATA_CONFIRMED, id="data confirmed"),
        pytest.param(BlockGround.SUBJECT_APPLICATION, UnblockGround.APPLICATION_RESOLVED, id="application resolved"),
    ],
)
def test_a_block_ends_when_the_data_is_confirmed_or_the_application_resolved(
    block: BlockGround, unblock: UnblockGround
) -> None:
    subject = given_consent()
    subject.block_data(ctx(1, actor=DPO), [DataCategory.RESIDENCE_ADDRESS, DataCategory.BIRTH], block)

    event_id = subject.unblock_data(ctx(2, actor=DPO), [DataCategory.RESIDENCE_ADDRESS], unblock)

    unblocked = recorded(subject, event_id, e.PersonalDataUnblocked)
    assert (unblocked.categories, unblocked.ground, unblocked.decided_by) == (["residence_address"], unblock, DPO)
    assert set(subject.blocks) == {DataCategory.BIRTH}


def test_a_rectified_address_travels_only_inside_the_encrypted_personal_data() -> None:
    subject = given_consent()

    event_id = subject.rectify_data(ctx(1, actor=CONSULTANT), [DataCategory.RESIDENCE_ADDRESS], "pii.v1.new-address")

    rectified = recorded(subject, event_id, e.PersonalDataRectified)
    assert (rectified.categories, rectified.pii) == (["residence_address"], "pii.v1.new-address")


def test_rectifying_nothing_is_an_invalid_command() -> None:
    subject = given_consent()

    with pytest.raises(InvalidCommandError) as invalid:
        subject.rectify_data(ctx(1), [], PII)

    assert invalid.value.field == "categories"


# --- PersonalDataTransferred --------------------------------------------------------------------------------------


def test_data_is_transferred_to_the_russian_federation_when_the_consent_allows_it() -> None:
    subject = given_consent()

    event_id = subject.transfer_data(
        ctx(1, actor="system:delivery"),
        GROCERIES_RU,
        "RU",
        [DataCategory.NAME, DataCategory.CONTACTS],
        Purpose.DELIVERY_AND_SERVICE,
    )

    transferred = recorded(subject, event_id, e.PersonalDataTransferred)
    assert (transferred.recipient, transferred.country) == (GROCERIES_RU, "RU")
    assert transferred.categories == ["contacts", "name"]
    assert transferred.purpose == "delivery_and_service"
    assert transferred.consent_id == subject.consent_id


def test_a_domestic_transfer_needs_no_cross_border_cover() -> None:
    subject = given_consent(cross_border_countries=set())

    event_id = subject.transfer_data(ctx(1), "courier-kz", "KZ", [DataCategory.CONTACTS], Purpose.DELIVERY_AND_SERVICE)

    assert recorded(subject, event_id, e.PersonalDataTransferred).country == "KZ"


def test_a_delivery_transfer_is_still_allowed_while_a_withdrawal_is_pending() -> None:
    subject = given_withdrawal_pending()

    event_id = subject.transfer_data(ctx(1), GROCERIES_RU, "RU", [DataCategory.CONTACTS], Purpose.DELIVERY_AND_SERVICE)

    recorded(subject, event_id, e.PersonalDataTransferred)


# --- PersonalDataErased -------------------------------------------------------------------------------------------


def test_data_is_erased_on_the_subjects_demand() -> None:
    subject = given_consent()

    event_id = subject.erase_data(ctx(1, actor=DPO), ErasureGround.SUBJECT_OR_AUTHORITY_DEMAND, "subject")

    erased = recorded(subject, event_id, e.PersonalDataErased)
    assert (erased.ground, erased.requested_by, erased.pii) == ("subject_or_authority_demand", "subject", None)
    assert subject.erased_by == event_id


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


# --- Refusals: while a withdrawal is pending ----------------------------------------------------------------------


def test_a_new_consent_is_refused_while_a_withdrawal_is_pending() -> None:
    subject = given_withdrawal_pending()

    with refused(subject, "consent_withdrawal_pending"):
        subject.grant_consent(ctx(1, actor=CONSULTANT), consent_terms(), PII)


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(lambda s: s.opt_in_to_marketing(ctx(1), [Channel.SMS]), id="marketing stopped at once"),
        pytest.param(lambda s: s.link_card(ctx(1), "card-ref-new"), id="no new card"),
        pytest.param(lambda s: s.request_withdrawal(ctx(1), FRIDAY_22_MAY, CALENDAR), id="no second withdrawal"),
    ],
)
def test_while_a_withdrawal_is_pending(command: Any) -> None:
    subject = given_withdrawal_pending()

    with refused(subject, "consent_withdrawal_pending"):
        command(subject)


def test_no_data_is_handed_over_for_advertising_once_a_withdrawal_is_filed() -> None:
    # DESIGN.md: "withdrawal pending -> deny marketing, allow the rest until effective_on";
    # the catalogue: ConsentWithdrawalRequested "marketing stops at once".
    subject = given_withdrawal_pending()

    with refused(subject, "consent_withdrawal_pending"):
        subject.transfer_data(ctx(1), "adtech-kz", "KZ", [DataCategory.CONTACTS], Purpose.MARKETING)


# --- Refusals: marketing ------------------------------------------------------------------------------------------


def test_stopping_marketing_that_is_already_stopped() -> None:
    subject = given_consent()
    subject.opt_out_of_marketing(ctx("sms-stop"), [Channel.SMS])

    with refused(subject, "already_opted_out"):
        subject.opt_out_of_marketing(ctx(1), [Channel.SMS])


def test_resuming_marketing_under_a_consent_without_the_advertising_purpose() -> None:
    subject = given_consent(purposes={Purpose.LOYALTY, Purpose.DELIVERY_AND_SERVICE}, marketing_channels=set())
    subject.opt_out_of_marketing(ctx("sms-stop"), [Channel.SMS])

    with refused(subject, "marketing_not_consented"):
        subject.opt_in_to_marketing(ctx(1), [Channel.SMS])


def test_resuming_marketing_over_a_channel_the_consent_does_not_name() -> None:
    subject = given_consent()  # SMS and e-mail only
    subject.opt_out_of_marketing(ctx("phone-stop"), [Channel.PHONE])

    with refused(subject, "channel_not_consented") as refusal:
        subject.opt_in_to_marketing(ctx(1), [Channel.PHONE])

    assert "phone" in refusal.value.message


def test_resuming_marketing_that_was_never_stopped() -> None:
    subject = given_consent()

    with refused(subject, "not_opted_out"):
        subject.opt_in_to_marketing(ctx(1), [Channel.EMAIL])


# --- Refusals: withdrawal and expiry ------------------------------------------------------------------------------


def test_refusing_a_withdrawal_nobody_filed() -> None:
    subject = given_consent()

    with refused(subject, "no_withdrawal_pending"):
        subject.refuse_withdrawal(ctx(1, actor=DPO), WithdrawalRefusalReason.UNFULFILLED_OBLIGATION, "open order")


def test_completing_a_withdrawal_nobody_filed() -> None:
    subject = given_consent()

    with refused(subject, "no_withdrawal_pending"):
        subject.complete_withdrawal(ctx(1, actor=SCHEDULER), MONDAY_8_JUNE)


def test_completing_a_withdrawal_the_dpo_refused() -> None:
    subject = given_withdrawal_pending()
    subject.refuse_withdrawal(ctx("refusal", actor=DPO), WithdrawalRefusalReason.LEGAL_RETENTION_DUTY, "Tax Code")

    with refused(subject, "no_withdrawal_pending"):
        subject.complete_withdrawal(ctx(1, on=MONDAY_8_JUNE, actor=SCHEDULER), MONDAY_8_JUNE)


@pytest.mark.parametrize(
    ("valid_until", "today"),
    [
        pytest.param(date(2026, 12, 31), date(2026, 12, 30), id="the day before its end"),
        pytest.param(None, date(2030, 1, 1), id="for the duration of the loyalty programme"),
    ],
)
def test_a_consent_does_not_expire_before_its_term_ends(valid_until: date | None, today: date) -> None:
    subject = given_consent(valid_until=valid_until)

    with refused(subject, "consent_not_expired"):
        subject.expire_consent(ctx(1, on=today, actor=SCHEDULER), today)


# --- Refusals: blocking and transfer ------------------------------------------------------------------------------


def test_blocking_data_that_is_already_blocked() -> None:
    subject = given_consent()
    subject.block_data(ctx("block", actor=DPO), [DataCategory.BIRTH], BlockGround.ACCURACY_IN_DOUBT)

    with refused(subject, "already_blocked"):
        subject.block_data(ctx(1, actor=DPO), [DataCategory.BIRTH], BlockGround.SUBJECT_APPLICATION)


def test_unblocking_data_of_which_part_was_never_blocked() -> None:
    subject = given_consent()
    subject.block_data(ctx("block", actor=DPO), [DataCategory.BIRTH], BlockGround.ACCURACY_IN_DOUBT)

    with refused(subject, "not_blocked") as refusal:
        subject.unblock_data(ctx(1, actor=DPO), [DataCategory.BIRTH, DataCategory.GENDER], UnblockGround.DATA_CONFIRMED)

    assert "gender" in refusal.value.message
    assert set(subject.blocks) == {DataCategory.BIRTH}


def test_transferring_a_blocked_category_names_the_block() -> None:
    subject = given_consent()
    block_id = subject.block_data(ctx("block", actor=DPO), [DataCategory.CONTACTS], BlockGround.ACCURACY_IN_DOUBT)

    with refused(subject, "data_blocked") as refusal:
        subject.transfer_data(ctx(1), GROCERIES_RU, "RU", [DataCategory.CONTACTS], Purpose.DELIVERY_AND_SERVICE)

    assert block_id in refusal.value.message


def test_transferring_for_a_purpose_the_consent_does_not_name() -> None:
    subject = given_consent(purposes={Purpose.LOYALTY, Purpose.DELIVERY_AND_SERVICE}, marketing_channels=set())

    with refused(subject, "purpose_not_consented"):
        subject.transfer_data(ctx(1), GROCERIES_RU, "RU", [DataCategory.CONTACTS], Purpose.ANALYSIS)


def test_transferring_a_category_the_consent_does_not_name() -> None:
    subject = given_consent(categories={DataCategory.NAME, DataCategory.CONTACTS})

    with refused(subject, "category_not_consented") as refusal:
        subject.transfer_data(
            ctx(1), GROCERIES_RU, "RU", [DataCategory.CONTACTS, DataCategory.IDENTITY_DOCUMENT], Purpose.CONTRACT
        )

    assert "identity_document" in refusal.value.message


def test_transferring_under_a_consent_that_allows_no_third_parties() -> None:
    subject = given_consent(third_party_transfer=False, cross_border_countries=set())

    with refused(subject, "transfer_not_consented"):
        subject.transfer_data(ctx(1), "courier-kz", "KZ", [DataCategory.CONTACTS], Purpose.DELIVERY_AND_SERVICE)


def test_transferring_to_a_recipient_the_consent_does_not_name() -> None:
    subject = given_consent(recipients={"courier-kz"})

    with refused(subject, "transfer_not_consented"):
        subject.transfer_data(ctx(1), "courier-other", "KZ", [DataCategory.CONTACTS], Purpose.DELIVERY_AND_SERVICE)


def test_transferring_to_china_when_the_consent_allows_only_russia() -> None:
    subject = given_consent()

    with refused(subject, "cross_border_not_consented") as refusal:
        subject.transfer_data(ctx(1), "supplier-cn", "CN", [DataCategory.CONTACTS], Purpose.DELIVERY_AND_SERVICE)

    assert "CN" in refusal.value.message


def test_a_named_recipient_whose_name_mentions_cross_border_is_still_a_recipient_refusal() -> None:
    # The rule code must follow the reason, not the wording of the recipient's name.
    subject = given_consent(recipients={"courier-kz"})

    with refused(subject, "transfer_not_consented"):
        subject.transfer_data(
            ctx(1), "cross-border-couriers", "KZ", [DataCategory.CONTACTS], Purpose.DELIVERY_AND_SERVICE
        )


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


# --- Invalid consent forms ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        pytest.param(
            "collection.proof.sms_verification_id",
            {"collection": Collection(CollectionMethod.TABLET_SMS, {}, consultant_id="c-017")},
            id="tablet consent without its SMS verification id",
        ),
        pytest.param(
            "collection.consultant_id",
            {"collection": Collection(CollectionMethod.TABLET_SMS, {"sms_verification_id": "sms-ver-1"})},
            id="tablet consent without the consultant",
        ),
        pytest.param(
            "collection.proof.signed_scan_sha256",
            {"collection": Collection(CollectionMethod.SIGNED_QUESTIONNAIRE, {"signed_scan_sha256": "scan.pdf"})},
            id="signed questionnaire whose scan hash is not a SHA-256",
        ),
        pytest.param(
            "collection.proof.call_recording_id",
            {"collection": Collection(CollectionMethod.RECORDED_CALL, {})},
            id="phone consent without the recording",
        ),
        pytest.param(
            "marketing_channels",
            {"purposes": {Purpose.LOYALTY}, "marketing_channels": {Channel.SMS}},
            id="marketing channels without the advertising purpose",
        ),
        pytest.param(
            "third_party_transfer",
            {"third_party_transfer": False},
            id="cross-border countries without third-party transfer",
        ),
        pytest.param(
            "notice.text_sha256",
            {"notice": Notice("loyalty-consent", "3", FORM_TEXT_SHA256.upper(), Language.RU)},
            id="form text hash not in lowercase hex",
        ),
        pytest.param("cross_border_countries", {"cross_border_countries": {"KZ"}}, id="Kazakhstan as abroad"),
        pytest.param("cross_border_countries", {"cross_border_countries": {"Russia"}}, id="country not ISO alpha-2"),
        pytest.param("purposes", {"purposes": set(), "marketing_channels": set()}, id="no purpose"),
        pytest.param("categories", {"categories": set()}, id="no data category"),
    ],
)
def test_a_consent_form_that_does_not_fit_the_policy_is_invalid(field: str, changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidCommandError) as invalid:
        consent_terms(**changes)

    assert invalid.value.field == field


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


def test_the_ledger_remembers_which_events_each_command_recorded() -> None:
    subject = given_consent()
    opted_out = subject.opt_out_of_marketing(ctx(1), [Channel.SMS])
    requested = subject.request_withdrawal(ctx(2), FRIDAY_22_MAY, CALENDAR)

    rebuilt = replay(subject.collect_events())

    for remembered in (subject, rebuilt):
        assert remembered.outcome_of("cmd-1") == [opted_out]
        assert remembered.outcome_of("cmd-2") == [requested]
        assert remembered.outcome_of("cmd-consent") == [remembered.consent_id]
        assert remembered.outcome_of("cmd-never-sent") is None


def test_a_refused_command_leaves_no_outcome() -> None:
    subject = given_consent()

    with refused(subject, "not_opted_out"):
        subject.opt_in_to_marketing(ctx(1), [Channel.SMS])

    assert subject.outcome_of("cmd-1") is None


# --- Deterministic event ids --------------------------------------------------------------------------------------


def test_every_recorded_event_has_the_id_derived_from_the_subject_and_its_version() -> None:
    subject = given_a_long_history()

    events = subject.collect_events()

    assert [str(event.event_id) for event in events] == [
        str(event_id_of(SUBJECT_ID, version)) for version in range(1, len(events) + 1)
    ]
    per_command = [ids[0] for ids in subject.outcomes.values()]  # what each command returned, in order
    assert per_command == [str(event.event_id) for event in events]


def test_the_id_a_command_returns_is_event_id_of_the_subject_and_version() -> None:
    subject = given_consent()

    event_id = subject.link_card(ctx(1), CARD)

    assert event_id == str(event_id_of(SUBJECT_ID, subject.version)) == str(event_id_of(SUBJECT_ID, 2))


def test_event_ids_are_the_same_in_every_process_and_every_replay() -> None:
    # Pinned: the store, Kafka and regulator exports must agree on this id forever.
    assert event_id_of(UUID("00000000-0000-4000-8000-00000000a11e"), 1) == UUID("17713d12-01c9-5ac8-9d3f-6ab893795474")
    assert given_consent().consent_id == "17713d12-01c9-5ac8-9d3f-6ab893795474"


def test_marketing_stopped_on_demand_stays_stopped_when_the_subject_consents_again() -> None:
    subject = given_consent()
    subject.opt_out_of_marketing(ctx("stop-sms"), [Channel.SMS])

    subject.grant_consent(ctx("new-form", actor=CONSULTANT), consent_terms(), PII)

    assert subject.opted_out == {Channel.SMS}  # policy §4: it stops at the subject's demand; only an opt-in resumes


def test_a_card_block_must_name_one_of_the_subjects_own_events_as_its_cause() -> None:
    subject = given_consent()
    subject.link_card(ctx("link"), CARD)

    with refused(subject, "unknown_cause"):
        subject.block_card(ctx(1), CARD, "an-event-of-someone-else", "consent withdrawn")


def test_a_command_id_reused_for_a_different_command_is_refused_not_taken_for_a_repeat() -> None:
    subject = given_consent()
    first = ctx(7, actor=CONSULTANT)
    subject.opt_out_of_marketing(replace(first, command_digest="digest-a"), [Channel.SMS])

    with refused(subject, "command_id_reused"):
        subject.outcome_of("cmd-7", "digest-b")
    assert subject.outcome_of("cmd-7", "digest-a") is not None
