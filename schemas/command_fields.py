"""The field types every command shares, their limits, and the base every command extends (schemas.commands)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, ClassVar, Literal, Self
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

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
    actor: REF | None = Field(
        default=None,
        description="Who acted: consultant, DPO, system (an id). Recorded after the sender, as <sender>/<actor>: "
        "the token's name over HTTP, the topic's sender on Kafka.",
    )
    occurred_at: AwareDatetime | None = Field(default=None, description="When it happened; default: when received.")
    correlation_id: REF | None = None
    causation_id: REF | None = Field(default=None, description="The event or command that caused this.")
