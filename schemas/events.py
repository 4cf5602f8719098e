"""The events of consent.events.v1 as typed models: the CloudEvents envelope and each catalogue event's `data`.

`parse_envelope` picks the envelope model by the record's `type` (a registry, `ENVELOPE_MODELS`),
so `envelope.data` is the catalogue model of that event (`isinstance(envelope.data, ConsentWithdrawn)`).
Readers are tolerant: unknown fields in `data` are ignored and unknown extension attributes are
kept (in `model_extra`), because adding either is allowed within v1. The envelope also keeps the
document exactly as received (`Envelope.document`): the hash covers every attribute, known or not.
Record bytes are validated by pydantic's own JSON parser in one pass, and the envelope keeps the bytes
themselves: the document is decoded from them only when someone asks for it (a verifier), never copied.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal, Union, cast
from uuid import UUID

import orjson
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    create_model,
    field_serializer,
)
from pydantic.json_schema import SkipJsonSchema

from schemas.catalogue import (
    CATALOGUE,
    ConsentExpired,
    ConsentGranted,
    ConsentWithdrawalRefused,
    ConsentWithdrawalRequested,
    ConsentWithdrawn,
    EnforcementConfirmed,
    EventData,
    LoyaltyCardBlocked,
    LoyaltyCardLinked,
    LoyaltyCardUnblocked,
    MarketingOptedIn,
    MarketingOptedOut,
    PersonalDataBlocked,
    PersonalDataErased,
    PersonalDataRectified,
    PersonalDataTransferred,
    PersonalDataUnblocked,
    SubjectRequestAnswered,
    SubjectRequestReceived,
    SubjectRequestRejected,
)
from schemas.commands import SHA256
from schemas.envelope import TYPE_PREFIX, data_schema, event_type, utc_text
from schemas.fields import absent_or

__all__ = [
    "ENVELOPE_MODELS",
    "EVENT_MODELS",
    "ConsentExpired",
    "ConsentGranted",
    "ConsentWithdrawalRefused",
    "ConsentWithdrawalRequested",
    "ConsentWithdrawn",
    "ContractError",
    "EnforcementConfirmed",
    "Envelope",
    "EventData",
    "LoyaltyCardBlocked",
    "LoyaltyCardLinked",
    "LoyaltyCardUnblocked",
    "MarketingOptedIn",
    "MarketingOptedOut",
    "PersonalDataBlocked",
    "PersonalDataErased",
    "PersonalDataRectified",
    "PersonalDataTransferred",
    "PersonalDataUnblocked",
    "SubjectRequestAnswered",
    "SubjectRequestReceived",
    "SubjectRequestRejected",
    "UnknownEventTypeError",
    "event_name",
    "parse_envelope",
]


class Envelope(BaseModel):
    """One record value of consent.events.v1: a CloudEvents 1.0 event in structured JSON mode."""

    model_config = ConfigDict(extra="allow", frozen=True)
    # What parse_envelope read: the record's bytes, or the document once decoded. A slot, not a pydantic
    # private attribute: those cost a Python call and a dict on every envelope validated. Unset on an
    # envelope built in code; read with object.__getattribute__, never as an attribute, so that an
    # extension attribute of the same name (kept in model_extra) can never stand in for it.
    __slots__ = ("_received",)

    specversion: Literal["1.0"] = Field(description="CloudEvents version.")
    id: UUID = Field(description="Event id: the same in the ledger's store, on Kafka and in exports.")
    source: str = Field(
        min_length=1, description="Who recorded it: the consent ledger.", examples=["urn:kz.esperance:consent-ledger"]
    )
    type: str = Field(description="kz.esperance.consent.v1.<catalogue event name>.")
    subject: UUID = Field(description="The data subject's opaque id; also the record key.")
    time: AwareDatetime = Field(
        description="When it happened in the world (UTC, ISO 8601).", examples=["2026-05-22T05:00:00.000000Z"]
    )
    datacontenttype: Literal["application/json"] = Field(description="Media type of `data`.")
    dataschema: str = Field(description="URN of the schema of `data`.")
    data: EventData = Field(description="The event's facts; never personal data in clear.")
    subjectversion: int = Field(ge=1, description="The event's number in the subject's history, from 1, no gaps.")
    recordedat: AwareDatetime = Field(
        description="When the ledger recorded it (UTC, ISO 8601).", examples=["2026-05-22T05:00:00.000000Z"]
    )
    actor: str = Field(min_length=1, description="Who acted: a user or a system.", examples=["consultant:c-017"])
    commandid: str = Field(min_length=1, description="The command that recorded it (its idempotency key).")
    causationid: str | SkipJsonSchema[None] = absent_or("The event or command that caused it; absent if none.")
    correlationid: str | SkipJsonSchema[None] = absent_or("Correlation id carried from the channel; absent if none.")
    commanddigest: str | SkipJsonSchema[None] = absent_or(
        "SHA-256 of the command's content: tells a repeated command from a command id reused; absent if none."
    )
    pii: str | SkipJsonSchema[None] = absent_or(
        "Personal data encrypted under the subject's key (unreadable after erasure); absent if none.",
        examples=["pii.v1.Zm9vYmFy"],
    )
    prevhash: SHA256 | SkipJsonSchema[None] = absent_or(
        "`hash` of the subject's previous event; absent on the subject's first event."
    )
    hash: SHA256 | SkipJsonSchema[None] = absent_or(
        "SHA-256 (hex) of the canonical envelope without `hash` and `position`; see schemas.envelope."
    )
    position: Annotated[int, Field(ge=1)] | SkipJsonSchema[None] = absent_or(
        "Ledger order, set by the relay on publishing; not covered by `hash`."
    )

    @field_serializer("time", "recordedat")
    def _canonical_time(self, moment: datetime) -> str:
        return utc_text(moment)

    def __eq__(self, other: object) -> bool:
        """Equal attributes and equal documents as received, whether each was read from bytes or a mapping."""
        if not isinstance(other, Envelope):
            return NotImplemented
        same = type(self) is type(other) and self.__dict__ == other.__dict__
        return same and self.model_extra == other.model_extra and self.document == other.document

    def __hash__(self) -> int:
        """By its attributes, as pydantic hashes a frozen model."""
        return hash((type(self), *self.__dict__.values()))

    @property
    def name(self) -> str:
        """The catalogue name of this event, e.g. ConsentGranted."""
        return self.type.removeprefix(TYPE_PREFIX)

    @property
    def document(self) -> dict[str, Any]:
        """The envelope as received (what `hash` covers); for one built in code, `to_document()`."""
        try:
            received = object.__getattribute__(self, "_received")
        except AttributeError:  # built in code, not read from a record
            return self.to_document()
        if isinstance(received, bytes):  # parse_envelope read these bytes as JSON already
            received = orjson.loads(received)
            object.__setattr__(self, "_received", received)
        return cast("dict[str, Any]", received)

    def to_document(self) -> dict[str, Any]:
        """The envelope as JSON-ready attributes, absent ones left out; unknown `data` fields are not kept."""
        return {key: value for key, value in self.model_dump(mode="json").items() if value is not None}


def _only(value: str) -> Any:
    """The type whose one value is `value` (a Literal built at run time)."""
    return Literal[value]


def _envelope_model(data_model: type[EventData]) -> type[Envelope]:
    name = data_model.__name__
    return create_model(
        f"{name}Envelope",
        __base__=Envelope,
        __module__=__name__,
        __doc__=f"{name} on consent.events.v1, a CloudEvents 1.0 envelope. {data_model.__doc__}",
        type=(_only(event_type(name)), Field(description="The CloudEvents type of this event.")),
        dataschema=(_only(data_schema(name)), Field(description="URN of the schema of `data`.")),
        data=(data_model, Field(description=data_model.__doc__)),
    )


EVENT_MODELS: dict[str, type[BaseModel]] = {model.__name__: model for model in CATALOGUE}
ENVELOPE_MODELS: dict[str, type[Envelope]] = {model.__name__: _envelope_model(model) for model in CATALOGUE}
_ANY_ENVELOPE: TypeAdapter[Envelope] = TypeAdapter(
    cast("Any", Annotated[Union[tuple(ENVELOPE_MODELS.values())], Field(discriminator="type")])  # noqa: UP007
)  # every envelope model, chosen by `type` (a union built at run time, hence Union)


class ContractError(ValueError):
    """A record that does not fit the v1 contract: which event, which fields, and what is wrong with each."""

    def __init__(self, event_id: str | None, problems: list[tuple[str, str]]) -> None:
        self.event_id = event_id
        self.problems = problems  # (field path, what is wrong)
        where = f"event {event_id}" if event_id else "record without an id"
        super().__init__(f"{where}: " + "; ".join(f"{field}: {message}" for field, message in problems))


class UnknownEventTypeError(ContractError):
    """A record whose `type` this release of schemas/ does not know (perhaps a newer catalogue event)."""


def event_name(cloudevents_type: str) -> str | None:
    """The catalogue name in a CloudEvents type, or None if the type is not one of this catalogue's."""
    name = cloudevents_type.removeprefix(TYPE_PREFIX)
    return name if cloudevents_type.startswith(TYPE_PREFIX) and name in ENVELOPE_MODELS else None


def parse_envelope(value: bytes | Mapping[str, Any]) -> Envelope:
    """Validate a record value (JSON bytes, or the decoded mapping) against its event's v1 contract.

    Raises ContractError naming the event id and every field that does not fit; UnknownEventTypeError
    (a ContractError) when the `type` is not in this catalogue.

    Bytes are validated straight from JSON, the `type` choosing the model, and kept beside the
    envelope for `document`; only a value that does not fit takes the path below, which names
    every problem exactly as before.
    """
    # pydantic's parser reads NaN and Infinity; the contract's JSON (orjson) does not (tested one by one: no generator)
    if isinstance(value, bytes) and b"NaN" not in value and b"Infinity" not in value:
        try:
            envelope = _ANY_ENVELOPE.validate_json(value)
        except ValidationError:
            pass  # told below, with the event id and each field at fault
        else:
            object.__setattr__(envelope, "_received", value)
            return envelope
    document = _decoded(value)
    event_id = str(document["id"]) if document.get("id") is not None else None
    kind = document.get("type")
    name = event_name(kind) if isinstance(kind, str) else None
    if name is None:
        problem = f"{kind!r} is not an event of the v1 catalogue" if kind is not None else "missing"
        raise UnknownEventTypeError(event_id, [("type", problem)])
    try:
        envelope = ENVELOPE_MODELS[name].model_validate(document)
    except ValidationError as error:
        problems = [(".".join(map(str, e["loc"])) or "(envelope)", e["msg"]) for e in error.errors(include_url=False)]
        raise ContractError(event_id, problems) from error
    object.__setattr__(envelope, "_received", dict(document) if document is value else document)  # ours
    return envelope


def _decoded(value: bytes | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(value, Mapping):
        return value
    try:
        document = orjson.loads(value)
    except orjson.JSONDecodeError as error:
        raise ContractError(None, [("(record)", f"not JSON: {error}")]) from error
    if not isinstance(document, dict):
        raise ContractError(None, [("(record)", f"a JSON object is expected, not {type(document).__name__}")])
    return document
