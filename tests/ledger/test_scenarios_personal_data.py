"""Acts on personal data as scenarios: blocking, unblocking, rectifying, transferring and erasing it.

Personal data is the opaque stand-in `PII`; all subjects, recipients and forms are synthetic.
"""

from __future__ import annotations

import pytest

from services.ledger.domain import events as e
from services.ledger.domain.errors import InvalidCommandError
from services.ledger.domain.vocabulary import (
    BlockGround,
    DataCategory,
    ErasureGround,
    Purpose,
    UnblockGround,
)
from tests.ledger.scenario_support import (
    CONSULTANT,
    DPO,
    GROCERIES_RU,
    PII,
    ctx,
    given_consent,
    given_withdrawal_pending,
    recorded,
    refused,
)

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
