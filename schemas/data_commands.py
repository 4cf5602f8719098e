"""The commands about the subject's personal data (block, rectify, transfer, erase) and loyalty cards."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from schemas.command_fields import CARD_REF, CATEGORIES, COUNTRY, PII, PURPOSES, REF, SEALED, TEXT, Command


class BlockPersonalData(Command):
    """Block processing of categories (PersonalDataBlocked)."""

    type: Literal["BlockPersonalData"] = "BlockPersonalData"
    categories: list[CATEGORIES] = Field(min_length=1)
    ground: Literal["accuracy_in_doubt", "subject_application"]


class UnblockPersonalData(Command):
    """End a block (PersonalDataUnblocked)."""

    type: Literal["UnblockPersonalData"] = "UnblockPersonalData"
    categories: list[CATEGORIES] = Field(min_length=1)
    ground: Literal["data_confirmed", "application_resolved"]


class RectifyPersonalData(Command):
    """Record clarified or updated data (PersonalDataRectified); new values in `pii` (or `sealed_pii`) only."""

    PERSONAL_DATA = ("pii",)

    type: Literal["RectifyPersonalData"] = "RectifyPersonalData"
    categories: list[CATEGORIES] = Field(min_length=1)
    pii: PII | None = None
    sealed_pii: SEALED | None = Field(default=None, description="`pii` sealed (required form on Kafka).")

    @model_validator(mode="after")
    def _has_new_values(self) -> Self:
        if self.pii is None and self.sealed_pii is None:
            raise ValueError("give the new values in pii or sealed_pii")
        return self


class TransferPersonalData(Command):
    """Record a hand-over to a third party, possibly abroad (PersonalDataTransferred), if the consent covers it."""

    type: Literal["TransferPersonalData"] = "TransferPersonalData"
    recipient: REF = Field(examples=["delivery-partner-ru"])
    country: COUNTRY
    categories: list[CATEGORIES] = Field(min_length=1)
    purpose: PURPOSES


class ErasePersonalData(Command):
    """Destroy the subject's data on one of the six grounds (PersonalDataErased); the key is destroyed."""

    type: Literal["ErasePersonalData"] = "ErasePersonalData"
    ground: Literal[
        "term_expired", "purpose_achieved", "subject_or_authority_demand", "data_defective", "consent_withdrawn",
        "irremediable_violation",
    ]  # fmt: skip
    requested_by: Literal["subject", "representative", "authorised_body", "company"]


class LinkLoyaltyCard(Command):
    """Link a loyalty card (LoyaltyCardLinked); give the number (sealed on Kafka) or an opaque reference."""

    PERSONAL_DATA = ("card_number",)

    type: Literal["LinkLoyaltyCard"] = "LinkLoyaltyCard"
    card_number: str | None = Field(
        default=None, max_length=32, description="Turned into an opaque reference; never stored."
    )
    sealed_card_number: SEALED | None = Field(
        default=None, description="`card_number` sealed (required form on Kafka): a card number identifies a person."
    )
    card_ref: CARD_REF | None = None


class BlockLoyaltyCard(Command):
    """Block a card, naming the event that caused it (LoyaltyCardBlocked)."""

    type: Literal["BlockLoyaltyCard"] = "BlockLoyaltyCard"
    card_ref: CARD_REF
    cause_event_id: REF
    reason: TEXT = "consent withdrawn"


class UnblockLoyaltyCard(Command):
    """Unblock a card after re-consent (LoyaltyCardUnblocked)."""

    type: Literal["UnblockLoyaltyCard"] = "UnblockLoyaltyCard"
    card_ref: CARD_REF
    reason: TEXT = "consent granted again"
