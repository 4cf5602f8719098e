"""Commands the ledger takes, over HTTP (the body) and on consent.commands.v1 (the record value, key = subject id).

Every command carries a `command_id`: a repeat returns the first outcome and records nothing new.
On Kafka a command also names its `type` and `subject_id`. Personal data goes only in the
fields a model lists in PERSONAL_DATA (`pii`, `representative.pii`, `card_number`), which the ledger
encrypts under the subject's key before anything is stored. On Kafka each travels only sealed to the
ledger's public key, in its twin `sealed_<name>` (schemas.sealed, schemas.kit.sealed_command); over
HTTP (TLS) either form is taken.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, ClassVar, Literal, Self
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from schemas.sealed import SEALED_MAX, SEALED_PATTERN

PURPOSES = Literal[
    "loyalty", "delivery_and_service", "marketing", "contract", "analysis", "promotions", "contact_centre",
    "legal_duties",
]  # fmt: skip
CATEGORIES = Literal[
    "name", "identity_document", "birth", "gender", "residence_address", "registration_address", "contacts"
]
CHANNELS = Literal["sms", "email", "phone", "post", "other"]
COUNTRY = Annotated[str, Field(pattern=r"^[A-Z]{2}$", examples=["RU"], description="ISO 3166-1 alpha-2")]
SHA256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256, lowercase hex")]
# Limits that keep every command, and so every stored event, small (README: "Limits").
PII_FIELDS_MAX = 32
PII_NAME_MAX = 64
PII_VALUE_MAX = 2000
PII = Annotated[
    dict[
        Annotated[str, Field(min_length=1, max_length=PII_NAME_MAX)],
        Annotated[str, Field(max_length=PII_VALUE_MAX)],
    ],
    Field(
        min_length=1,
        max_length=PII_FIELDS_MAX,
        description="Personal data, encrypted under the subject's key before it is stored; never logged. "
        f"At most {PII_FIELDS_MAX} fields, names of at most {PII_NAME_MAX} and values of at most "
        f"{PII_VALUE_MAX} characters.",
    ),
]
SEALED = Annotated[
    str,
    Field(
        pattern=SEALED_PATTERN,
        max_length=SEALED_MAX,
        description="Personal data sealed to the ledger's public key (X25519 sealed box, GET /v1/commands/public-key): "
        "schemas.kit.sealed_command makes it. The only form personal data may take on Kafka.",
        examples=["sealed.v1.3q2-7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"],
    ),
]
# Identifiers travel in clear (in events, on Kafka): a pattern keeps names, phones and numbers with spaces out.
REF = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9:._/@+-]{0,127}$",
        description="An identifier, never personal data (letters, digits and :._/@+- only).",
        examples=["consultant-17"],
    ),
]
CARD_REF = Annotated[str, Field(pattern=r"^card-[0-9a-f]{32}$", description="An opaque card reference.")]
TEXT = Annotated[str, Field(min_length=1, max_length=500, description="Plain words; no personal data.")]
DAY = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2100, 12, 31))]


class CarriesPersonalData(BaseModel):
    """A model whose PERSONAL_DATA fields each have a sealed twin `sealed_<name>`; one of the two at most."""

    PERSONAL_DATA: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _clear_or_sealed(self) -> Self:
        for name in self.PERSONAL_DATA:
            if getattr(self, name) is not None and getattr(self, f"sealed_{name}") is not None:
                raise ValueError(f"give {name} or sealed_{name}, not both")
        return self


class Command(CarriesPersonalData):
    """What every command carries."""

    model_config = ConfigDict(extra="forbid")

    command_id: REF = Field(description="Idempotency key chosen by the sender.", examples=["tablet-7f3a-0001"])
    subject_id: UUID | None = Field(
        default=None, description="The subject (opaque UUID). Required on Kafka; over HTTP it is in the path."
    )
    actor: REF | None = Field(default=None, description="Who acted: consultant, DPO, system (an id).")
    occurred_at: AwareDatetime | None = Field(default=None, description="When it happened; default: when received.")
    correlation_id: REF | None = None
    causation_id: REF | None = Field(default=None, description="The event or command that caused this.")


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
    marketing_channels: list[CHANNELS] = []
    third_party_transfer: bool = False
    recipients: list[REF] = Field(default=[], description="Named recipients; empty with transfer allowed: any.")
    cross_border_countries: list[COUNTRY] = []
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


class IdentityDocument(BaseModel):
    """What a request (Өтініш) must carry (policy §5); encrypted under the subject's key."""

    document_number: str = Field(min_length=1, max_length=32)
    issued_on: DAY
    issued_by: str = Field(min_length=1, max_length=200)
    signature_ref: REF = Field(description="The handwritten or electronic signature's reference.")


class ReceiveSubjectRequest(Command):
    """Register a subject's request (SubjectRequestReceived); due three working days later."""

    type: Literal["ReceiveSubjectRequest"] = "ReceiveSubjectRequest"
    request_id: REF
    kind: Literal["access", "rectification", "blocking", "destruction", "withdrawal"]
    received_on: DAY = Field(
        description="The day the request was received: not after today in Kazakhstan. Requests are registered with "
        "the dpo scope, so any earlier day from 2000-01-01 is taken (a paper request entered late, or an import); "
        "the event records how many days late it was entered (`entered_late_by_days`), and the 3 working days to "
        "answer count from this day.",
        examples=["2026-05-22"],
    )
    by_representative: bool = False
    identity_document: IdentityDocument


class AnswerSubjectRequest(Command):
    """Record the answer to a request (SubjectRequestAnswered)."""

    type: Literal["AnswerSubjectRequest"] = "AnswerSubjectRequest"
    request_id: REF
    answered_on: DAY = Field(
        description="The day the answer was sent: not after today in Kazakhstan. Answers are recorded with the dpo "
        "scope, so any earlier day from 2000-01-01 is taken (an answer entered late, or an import).",
        examples=["2026-05-26"],
    )
    response_ref: REF | None = None


class RejectSubjectRequest(Command):
    """Reject a request with the reason (SubjectRequestRejected)."""

    type: Literal["RejectSubjectRequest"] = "RejectSubjectRequest"
    request_id: REF
    reason: TEXT


class ConfirmEnforcement(Command):
    """A subscriber confirms it acted on an event (EnforcementConfirmed)."""

    type: Literal["ConfirmEnforcement"] = "ConfirmEnforcement"
    system: REF = Field(examples=["loyalty"])
    enforced_event_id: REF
    action: TEXT = Field(examples=["card blocked", "data erased", "suppression applied"])


AnyCommand = Annotated[
    GrantConsent | OptOutOfMarketing | OptInToMarketing | RequestWithdrawal | RefuseWithdrawal | CompleteWithdrawal
    | ExpireConsent | BlockPersonalData | UnblockPersonalData | RectifyPersonalData | TransferPersonalData
    | ErasePersonalData | LinkLoyaltyCard | BlockLoyaltyCard | UnblockLoyaltyCard | ReceiveSubjectRequest
    | AnswerSubjectRequest | RejectSubjectRequest | ConfirmEnforcement,
    Field(discriminator="type"),
]  # fmt: skip
COMMANDS: TypeAdapter[AnyCommand] = TypeAdapter(AnyCommand)
