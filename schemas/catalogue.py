"""The `data` of each catalogue event on consent.events.v1: one model per event, named as in the catalogue.

Parsing ignores fields this version does not know: adding a field is allowed within v1, so a
subscriber must tolerate fields it has never seen (removing or renaming one means v2). Event ids
the ledger derives are UUIDs; ids that come from outside the ledger (a cause, an enforced event,
a request, a card reference) are plain strings. Personal data is never in `data`: it travels
encrypted in the envelope's `pii`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from schemas.commands import CATEGORIES, CHANNELS, COUNTRY, PURPOSES
from schemas.consent_record import ConsentTerms
from schemas.fields import absent_or

ConsentId = Annotated[UUID, Field(description="Event id of the ConsentGranted this refers to.")]
WithdrawalId = Annotated[UUID, Field(description="Event id of the ConsentWithdrawalRequested this refers to.")]
Categories = Annotated[
    list[CATEGORIES],
    Field(min_length=1, description="Categories of personal data concerned, sorted.", examples=[["contacts"]]),
]
Channels = Annotated[
    list[CHANNELS], Field(min_length=1, description="Marketing channels concerned, sorted.", examples=[["sms"]])
]
DecidedBy = Annotated[str, Field(description="Who decided (the acting user or system).", examples=["dpo:d-001"])]
CardRef = Annotated[str, Field(description="Opaque card reference; never the card number.", examples=["card-ref-7f3a"])]
RequestId = Annotated[
    str, Field(description="The request's id, chosen by the channel that received it.", examples=["req-2026-0042"])
]
_LATE = (
    "Days from `{day}` to the day (in Kazakhstan) the ledger recorded it: 0 when entered the same day. More than 30 "
    "only when the DPO entered a paper {what} late or imported it; then `{day}` is its true date, and the deadline "
    "counted from it may already have passed. Absent on events recorded before this field existed."
)


class EventData(BaseModel):
    """The `data` of a catalogue event; unknown fields are ignored, so later additions do not break readers."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class ConsentGranted(EventData):
    """A subject (or their representative) consented on a form; replaces the consent in force."""

    terms: ConsentTerms = Field(description="What the consent covers and how it was collected.")


class MarketingOptedOut(EventData):
    """Marketing over these channels stopped, at once."""

    channels: Channels


class MarketingOptedIn(EventData):
    """Marketing over these channels resumed."""

    channels: Channels


class ConsentWithdrawalRequested(EventData):
    """A written withdrawal was filed; it takes effect on `effective_on`; marketing stops at once."""

    consent_id: ConsentId
    filed_on: date = Field(description="The day the application was filed.", examples=["2026-05-22"])
    effective_on: date = Field(
        description="The day it takes effect: at least 10 Kazakh working days after filing.", examples=["2026-06-08"]
    )
    requested_effective_on: date | None = Field(
        default=None, description="A later day the subject asked for, if any.", examples=["2026-06-15"]
    )
    entered_late_by_days: Annotated[int, Field(ge=0)] | SkipJsonSchema[None] = absent_or(
        _LATE.format(day="filed_on", what="application"), examples=[0, 59]
    )


class ConsentWithdrawalRefused(EventData):
    """Withdrawal would contradict law, e.g. an unfulfilled obligation to the subject."""

    reason: Literal["unfulfilled_obligation", "legal_retention_duty"] = Field(
        description="Why withdrawal is impossible now.", examples=["unfulfilled_obligation"]
    )
    legal_basis: str = Field(
        description="The legal basis, in words.",
        examples=["1 unfulfilled obligation(s) under a contract with the subject"],
    )
    withdrawal_request_id: UUID | None = Field(
        default=None, description="The pending withdrawal refused; null when refused as it was filed."
    )


class ConsentWithdrawn(EventData):
    """The withdrawal took effect: loyalty participation ends and linked cards are to be blocked."""

    consent_id: ConsentId
    withdrawal_request_id: WithdrawalId
    effective_on: date = Field(description="The day it took effect.", examples=["2026-06-08"])


class ConsentExpired(EventData):
    """The consent's term ended."""

    consent_id: ConsentId
    valid_until: date = Field(description="The consent's last day.", examples=["2026-12-31"])


class PersonalDataBlocked(EventData):
    """Processing of these categories is blocked."""

    categories: Categories
    ground: Literal["accuracy_in_doubt", "subject_application"] = Field(
        description="Accuracy in doubt, or the subject applied to protect their rights.", examples=["accuracy_in_doubt"]
    )
    decided_by: DecidedBy


class PersonalDataUnblocked(EventData):
    """The block on these categories ended."""

    categories: Categories
    ground: Literal["data_confirmed", "application_resolved"] = Field(
        description="Reliable data obtained or confirmed, or the application resolved.", examples=["data_confirmed"]
    )
    decided_by: DecidedBy


class PersonalDataRectified(EventData):
    """These categories were clarified or updated; the new values are only inside the envelope's `pii`."""

    categories: Categories


class PersonalDataTransferred(EventData):
    """Data was handed to a third party (abroad when `country` is not KZ) under the consent in force."""

    recipient: str = Field(description="The third party.", examples=["delivery-partner-ru"])
    country: COUNTRY = Field(description="The recipient's country, ISO 3166-1 alpha-2.")
    categories: Categories
    purpose: PURPOSES = Field(description="The purpose of the transfer.", examples=["delivery_and_service"])
    consent_id: UUID = Field(description="Event id of the ConsentGranted that covers the transfer.")


class PersonalDataErased(EventData):
    """The subject's data was destroyed; their key is destroyed, so earlier `pii` can no longer be read."""

    ground: Literal[
        "term_expired", "purpose_achieved", "subject_or_authority_demand", "data_defective", "consent_withdrawn",
        "irremediable_violation",
    ] = Field(description="Which of the six grounds for destruction.", examples=["consent_withdrawn"])  # fmt: skip
    requested_by: str = Field(description="Who demanded it.", examples=["subject", "authorised body"])


class LoyaltyCardLinked(EventData):
    """A loyalty card was linked to the subject."""

    card_ref: CardRef


class LoyaltyCardBlocked(EventData):
    """The card was blocked; `cause_event_id` names the event that caused it (e.g. ConsentWithdrawn)."""

    card_ref: CardRef
    cause_event_id: str = Field(description="Id of the event that caused the block.")
    reason: str = Field(description="Why, in words.", examples=["consent withdrawn"])


class LoyaltyCardUnblocked(EventData):
    """The card was unblocked, e.g. after consent was granted again."""

    card_ref: CardRef
    reason: str = Field(description="Why, in words.", examples=["consent granted again"])


class SubjectRequestReceived(EventData):
    """A subject's request was received; ID document fields are only inside the envelope's `pii`."""

    request_id: RequestId
    kind: Literal["access", "rectification", "blocking", "destruction", "withdrawal"] = Field(
        description="What the subject asks for.", examples=["access"]
    )
    received_on: date = Field(description="The day it was received.", examples=["2026-05-22"])
    due_on: date = Field(description="Answer due by: 3 Kazakh working days after receipt.", examples=["2026-05-28"])
    by_representative: bool = Field(description="Whether a representative filed it.", examples=[False])
    entered_late_by_days: Annotated[int, Field(ge=0)] | SkipJsonSchema[None] = absent_or(
        _LATE.format(day="received_on", what="request"), examples=[0, 77]
    )


class SubjectRequestAnswered(EventData):
    """The request was answered."""

    request_id: RequestId
    answered_on: date = Field(description="The day it was answered.", examples=["2026-05-26"])
    response_ref: str | None = Field(
        default=None, description="What was sent, e.g. the access report's reference.", examples=["report-0042"]
    )


class SubjectRequestRejected(EventData):
    """The request was rejected, with the reason."""

    request_id: RequestId
    reason: str = Field(description="Why, in words.", examples=["the identity document could not be verified"])


class EnforcementConfirmed(EventData):
    """A subscribing system confirmed it acted on an event; when is the envelope's `time`."""

    system: str = Field(description="The system that acted.", examples=["loyalty"])
    enforced_event_id: str = Field(description="Id of the event it acted on.")
    action: str = Field(description="What it did.", examples=["card blocked", "data erased", "suppression applied"])


CATALOGUE: tuple[type[EventData], ...] = (
    ConsentGranted, MarketingOptedOut, MarketingOptedIn, ConsentWithdrawalRequested, ConsentWithdrawalRefused,
    ConsentWithdrawn, ConsentExpired, PersonalDataBlocked, PersonalDataUnblocked, PersonalDataRectified,
    PersonalDataTransferred, PersonalDataErased, LoyaltyCardLinked, LoyaltyCardBlocked, LoyaltyCardUnblocked,
    SubjectRequestReceived, SubjectRequestAnswered, SubjectRequestRejected, EnforcementConfirmed,
)  # fmt: skip
