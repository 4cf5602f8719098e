"""The commands about consent itself: granting it on a form, marketing channels, withdrawal and expiry."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from schemas.command_fields import (
    CATEGORIES,
    CHANNELS,
    COUNTRY,
    DAY,
    PII,
    PURPOSES,
    REF,
    SEALED,
    SHA256,
    TEXT,
    CarriesPersonalData,
    Command,
)


class Form(BaseModel):
    """The consent form shown (notice)."""

    form_id: REF = Field(examples=["loyalty-consent"])
    form_version: REF = Field(examples=["2026.1"])
    text_sha256: SHA256
    language: Literal["kk", "ru"]


class Proof(BaseModel):
    """The proof of consent; the collection method decides which one is required."""

    sms_verification_id: REF | None = Field(default=None, description="tablet_sms: the SMS verification's id.")
    checkbox_form_version: REF | None = Field(default=None, description="web/app checkbox: the form version.")
    document_reference: REF | None = Field(default=None, description="electronic questionnaire: its reference.")
    signed_scan_sha256: SHA256 | None = Field(default=None, description="signed questionnaire: the scan's SHA-256.")
    call_recording_id: REF | None = Field(default=None, description="recorded call: the recording's id.")


class Collection(BaseModel):
    """How consent was collected, its proof, and who collected it (policy §4)."""

    method: Literal[
        "tablet_sms", "web_checkbox", "app_checkbox", "electronic_questionnaire", "signed_questionnaire",
        "recorded_call",
    ]  # fmt: skip
    proof: Proof
    consultant_id: REF | None = Field(default=None, description="Who collected it (required for tablet_sms).")
    store_id: REF | None = None


class Representative(CarriesPersonalData):
    """A representative acting under a power of attorney."""

    PERSONAL_DATA = ("pii",)

    power_of_attorney_ref: REF
    pii: PII | None = None
    sealed_pii: SEALED | None = Field(default=None, description="`pii` sealed (required form on Kafka).")


class GrantConsent(Command):
    """Record consent given on a form (ConsentGranted); replaces the consent in force."""

    PERSONAL_DATA = ("pii",)

    type: Literal["GrantConsent"] = "GrantConsent"
    form: Form
    purposes: list[PURPOSES] = Field(min_length=1)
    categories: list[CATEGORIES] = Field(min_length=1)
    marketing_channels: list[CHANNELS] = []  # noqa: RUF012 (a model field: pydantic copies the default)
    third_party_transfer: bool = False
    recipients: list[REF] = Field(default=[], description="Named recipients; empty with transfer allowed: any.")
    cross_border_countries: list[COUNTRY] = []  # noqa: RUF012 (as above)
    valid_until: DAY | None = Field(default=None, description="Last day of the term; none: the programme's duration.")
    collection: Collection
    representative: Representative | None = None
    pii: PII | None = None
    sealed_pii: SEALED | None = Field(default=None, description="`pii` sealed (required form on Kafka).")


class OptOutOfMarketing(Command):
    """Stop marketing over these channels at once (MarketingOptedOut)."""

    type: Literal["OptOutOfMarketing"] = "OptOutOfMarketing"
    channels: list[CHANNELS] = Field(min_length=1)


class OptInToMarketing(Command):
    """Resume marketing over these channels (MarketingOptedIn)."""

    type: Literal["OptInToMarketing"] = "OptInToMarketing"
    channels: list[CHANNELS] = Field(min_length=1)


class RequestWithdrawal(Command):
    """File a written withdrawal application (ConsentWithdrawalRequested, or Refused)."""

    type: Literal["RequestWithdrawal"] = "RequestWithdrawal"
    filed_on: DAY = Field(
        description="The day the written application was filed: not after today in Kazakhstan, and at most 30 days "
        "before it. An earlier day (from 2000-01-01) is taken over HTTP from a token that also has the dpo scope: a "
        "paper application entered late, or an import. The event records it with how many days late it was entered "
        "(`entered_late_by_days`), and its 10 working days count from this day, so it may take effect at once. On "
        "Kafka the 30 days hold.",
        examples=["2026-05-22"],
    )
    requested_effective_on: DAY | None = None
    unfulfilled_obligations: int = Field(default=0, ge=0, description="Open orders or other obligations.")


class RefuseWithdrawal(Command):
    """Refuse a pending withdrawal that would contradict law (ConsentWithdrawalRefused)."""

    type: Literal["RefuseWithdrawal"] = "RefuseWithdrawal"
    reason: Literal["unfulfilled_obligation", "legal_retention_duty"]
    legal_basis: TEXT


class CompleteWithdrawal(Command):
    """Let a pending withdrawal take effect, on or after its day in Kazakhstan (ConsentWithdrawn)."""

    type: Literal["CompleteWithdrawal"] = "CompleteWithdrawal"


class ExpireConsent(Command):
    """End a consent whose term has run out, by today's date in Kazakhstan (ConsentExpired)."""

    type: Literal["ExpireConsent"] = "ExpireConsent"
