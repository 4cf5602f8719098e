"""Commands the ledger takes, over HTTP (the body) and on Kafka (the record value, key = subject id).

On Kafka each sender writes its own topic (schemas.topics): a channel consent.commands.<channel>.v1,
a subscriber system consent.acks.<system>.v1 (ConfirmEnforcement only, for itself).

Every command carries a `command_id`: a repeat returns the first outcome and records nothing new.
On Kafka a command also names its `type` and `subject_id`. Personal data goes only in the
fields a model lists in PERSONAL_DATA (`pii`, `representative.pii`, `card_number`), which the ledger
encrypts under the subject's key before anything is stored. On Kafka each travels only sealed to the
ledger's public key, in its twin `sealed_<name>` (schemas.sealed, schemas.kit.sealed_command); over
HTTP (TLS) either form is taken.

The models are split by what they are about: schemas.command_fields (the shared field types and
the base), schemas.consent_commands, schemas.data_commands (personal data and loyalty cards) and
schemas.request_commands (subjects' requests, enforcement confirmed). Every name stays importable
from here, with the union of them all (`AnyCommand`) and its reader (`COMMANDS`).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, TypeAdapter

from schemas.command_fields import (
    CARD_REF,
    CATEGORIES,
    CHANNELS,
    COUNTRY,
    DAY,
    PII,
    PII_FIELDS_MAX,
    PII_NAME_MAX,
    PII_VALUE_MAX,
    PURPOSES,
    REF,
    SEALED,
    SHA256,
    TEXT,
    CarriesPersonalData,
    Command,
)
from schemas.consent_commands import (
    Collection,
    CompleteWithdrawal,
    ExpireConsent,
    Form,
    GrantConsent,
    OptInToMarketing,
    OptOutOfMarketing,
    Proof,
    RefuseWithdrawal,
    Representative,
    RequestWithdrawal,
)
from schemas.data_commands import (
    BlockLoyaltyCard,
    BlockPersonalData,
    ErasePersonalData,
    LinkLoyaltyCard,
    RectifyPersonalData,
    TransferPersonalData,
    UnblockLoyaltyCard,
    UnblockPersonalData,
)
from schemas.request_commands import (
    AnswerSubjectRequest,
    ConfirmEnforcement,
    IdentityDocument,
    ReceiveSubjectRequest,
    RejectSubjectRequest,
)

__all__ = [
    "CARD_REF",
    "CATEGORIES",
    "CHANNELS",
    "COMMANDS",
    "COUNTRY",
    "DAY",
    "PII",
    "PII_FIELDS_MAX",
    "PII_NAME_MAX",
    "PII_VALUE_MAX",
    "PURPOSES",
    "REF",
    "SEALED",
    "SHA256",
    "TEXT",
    "AnswerSubjectRequest",
    "AnyCommand",
    "BlockLoyaltyCard",
    "BlockPersonalData",
    "CarriesPersonalData",
    "Collection",
    "Command",
    "CompleteWithdrawal",
    "ConfirmEnforcement",
    "ErasePersonalData",
    "ExpireConsent",
    "Form",
    "GrantConsent",
    "IdentityDocument",
    "LinkLoyaltyCard",
    "OptInToMarketing",
    "OptOutOfMarketing",
    "Proof",
    "ReceiveSubjectRequest",
    "RectifyPersonalData",
    "RefuseWithdrawal",
    "RejectSubjectRequest",
    "Representative",
    "RequestWithdrawal",
    "TransferPersonalData",
    "UnblockLoyaltyCard",
    "UnblockPersonalData",
]

AnyCommand = Annotated[
    GrantConsent | OptOutOfMarketing | OptInToMarketing | RequestWithdrawal | RefuseWithdrawal | CompleteWithdrawal
    | ExpireConsent | BlockPersonalData | UnblockPersonalData | RectifyPersonalData | TransferPersonalData
    | ErasePersonalData | LinkLoyaltyCard | BlockLoyaltyCard | UnblockLoyaltyCard | ReceiveSubjectRequest
    | AnswerSubjectRequest | RejectSubjectRequest | ConfirmEnforcement,
    Field(discriminator="type"),
]  # fmt: skip
COMMANDS: TypeAdapter[AnyCommand] = TypeAdapter(AnyCommand)
