"""The AsyncAPI 3.0 document of the four topics, from the FastStream apps: `python -m services.asyncapi`.

Writes schemas/asyncapi.json (`--check` writes nothing and exits 1 when the file is stale). FastStream
derives a subscriber's message from its handler's body parameter, and the real handlers
(services.ledger.entrypoints.kafka.command_broker, services.projector.consumer.projector_broker) take the raw
KafkaMessage, because they screen the bytes themselves (a malformed record is dead-lettered, not
rejected by FastStream). So the document is built on a broker of twins: one subscriber per real
channel, under the real channel's name, whose handler declares the model the record carries; and
`document()` refuses to build when the twins no longer match what the real factories register
(they are called here with stand-ins, which never touch a database or Kafka). The writers that are
not FastStream subscribers are added as publisher specifications: the relay (aiokafka) on
consent.events.v1, the projector's card cascade on consent.commands.v1 and the ledger's dead letters.
FastStream documents neither record keys nor headers, so the Kafka key and the headers of each
record are added to its messages afterwards.
"""

from __future__ import annotations

import copy
import json
import sys
import warnings
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, NamedTuple, NoReturn, cast
from urllib.parse import unquote

from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from pydantic import Field, TypeAdapter

import schemas
from schemas.commands import AnyCommand, BlockLoyaltyCard, ConfirmEnforcement
from schemas.envelope import CONTENT_TYPE
from schemas.events import Envelope
from schemas.kit import ACKS_TOPIC
from services.ledger.adapters.forms import FormTexts
from services.ledger.application.commands import Commands
from services.ledger.application.ledger import Ledger
from services.ledger.bootstrap import LedgerServices
from services.ledger.entrypoints.kafka import GROUP_ID, command_broker
from services.ledger.settings import LedgerSettings
from services.platform.auth import TokenRegistry
from services.platform.deadletter import DeadLetterRecord
from services.projector.consumer import projector_broker
from services.projector.settings import ProjectorSettings
from services.projector.store import ProjectionStore

TITLE = "Consent ledger"
VERSION = "1"
SCHEMA_VERSION = "3.0.0"
PATH = Path(schemas.__file__).resolve().parent / "asyncapi.json"
COMMAND = "python -m services.asyncapi"
KAFKA_BINDING_VERSION = "0.4.0"  # the version FastStream gives the channels' Kafka bindings

# The topics as the services default them (the environment is not read: the document is the contract).
LEDGER = LedgerSettings.model_construct()
PROJECTOR = ProjectorSettings.model_construct()

SUBJECT_KEY = {
    "type": "string",
    "format": "uuid",
    "description": "The subject id: one subject's records stay in order.",
}
# What services.ledger.entrypoints.relay.records_after puts on every record besides the value.
EVENT_HEADERS = {
    "type": "object",
    "required": ["content-type", "ce-type", "schema-version", "position"],
    "properties": {
        "content-type": {"const": CONTENT_TYPE},
        "ce-type": {"type": "string", "description": "The envelope's `type`, to route without parsing."},
        "schema-version": {"const": "v1"},
        "position": {"type": "string", "pattern": "^[1-9][0-9]*$", "description": "The envelope's `position`."},
    },
}
# What services.platform.deadletter.dead_letter puts on every dead letter besides its value.
DEADLETTER_HEADERS = {
    "type": "object",
    "required": [
        "content-type", "deadletter-rule", "deadletter-reason", "original-topic", "original-partition",
        "original-offset", "original-sha256",
    ],
    "properties": {
        "content-type": {"const": "application/json"},
        "deadletter-rule": {
            "type": "string",
            "description": "Why, as a stable rule: malformed, key_mismatch, not_an_acknowledgement, "
            "not_allowed_on_kafka, personal_data_in_clear, sealed_data_unreadable, sealed_data_mismatch, "
            "subject_erased, invalid, failed, or the domain rule that refused the command.",
        },
        "deadletter-reason": {"type": "string", "maxLength": 2000, "description": "Why, in plain words."},
        "original-topic": {"type": "string", "examples": [LEDGER.commands_topic, LEDGER.acks_topic]},
        "original-partition": {"type": "string", "pattern": "^[0-9]+$"},
        "original-offset": {"type": "string", "pattern": "^[0-9]+$"},
        "original-sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "Of the value."},
    },
}  # fmt: skip


class NotDescribedError(RuntimeError):
    """The document cannot be built as it would mislead: what no longer matches, in plain words."""


class _Unused:
    """Stands in for a collaborator the factories use only once records flow, which never happens here."""

    def __init__(self, role: str) -> None:
        self._role = role

    def __getattr__(self, name: str) -> NoReturn:
        raise NotDescribedError(f"{self._role}.{name} used while only describing the topics")

    def __call__(self, *args: object, **kwargs: object) -> NoReturn:
        raise NotDescribedError(f"{self._role} called while only describing the topics")


def real_brokers() -> list[KafkaBroker]:
    """The brokers the ledger and the projector run, built with stand-ins instead of stores (no I/O)."""
    wired = LedgerServices(
        settings=LEDGER,
        ledger=cast("Ledger", _Unused("ledger")),
        commands=cast("Commands", _Unused("commands")),
        tokens=cast("TokenRegistry", _Unused("tokens")),
        clock=cast("Callable[[], datetime]", _Unused("clock")),
        forms=cast("FormTexts", _Unused("forms")),
        signing_key=None,
    )
    return [command_broker(wired), projector_broker(cast("ProjectionStore", _Unused("store")), PROJECTOR)]


def _handler(name: str, payload: Any) -> Callable[[Any], Awaitable[None]]:
    """A handler named like a real one, declaring the model its records carry (it is never called)."""

    async def handler(body: Any) -> None:
        raise NotDescribedError("a twin handler only describes its topic")

    handler.__name__ = handler.__qualname__ = name
    handler.__annotations__ = {"body": payload, "return": None}
    return handler


class Subscription(NamedTuple):
    """A twin of a real subscriber: its topic, the real handler's name, the model of its records."""

    topic: str
    handler: str
    payload: Any
    description: str


class Writer(NamedTuple):
    """A writer that is no FastStream subscriber, as a publisher specification."""

    topic: str
    name: str
    payload: Any
    description: str


SUBSCRIPTIONS = (
    Subscription(
        LEDGER.commands_topic,
        "on_command",
        Annotated[AnyCommand, Field(title="AnyCommand")],
        f"The ledger applies each command (consumer group {GROUP_ID}), then acknowledges the record. The record "
        f"key must be the command's subject_id. A record that is not a valid command, or that a rule refuses, goes "
        f"to {LEDGER.deadletter_topic}. Personal data (pii, representative.pii, card_number) travels only sealed "
        "to the ledger's public key, in sealed_<field> (schemas.kit.sealed_command); a command carrying it in clear "
        "is refused (personal_data_in_clear). Written by the channels and by the projector's card cascade.",
    ),
    Subscription(
        LEDGER.acks_topic,
        "on_command",
        ConfirmEnforcement,
        f"Subscribers confirm they enforced an event (schemas.kit.confirm); the ledger records EnforcementConfirmed "
        f"(consumer group {GROUP_ID}). Only ConfirmEnforcement belongs here: anything else, or a key other than "
        f"the subject_id, goes to {LEDGER.deadletter_topic}.",
    ),
    Subscription(
        PROJECTOR.events_topic,
        "on_events",
        Envelope,
        f"The projector folds the events into its read models (consumer group {PROJECTOR.projector_group_id}, "
        "isolation level read_committed, in batches of records like this one).",
    ),
)
WRITERS = (
    Writer(
        LEDGER.events_topic,
        "Relay",
        Envelope,
        "The ledger's relay (aiokafka, services.ledger.entrypoints.relay) publishes every stored event, in ledger "
        "order, exactly once: batches in Kafka transactions, so read with isolation level read_committed. The value "
        "is a "
        "CloudEvents 1.0 event in structured JSON mode; the full JSON Schema of each event type, with its `data`, "
        "is the file under schemas/v1/ that its `dataschema` names.",
    ),
    Writer(
        PROJECTOR.commands_topic,
        "Cascade",
        BlockLoyaltyCard,
        "The projector's card cascade: when consent is withdrawn, BlockLoyaltyCard for every card still unblocked "
        "(sent from an outbox, so possibly more than once: the command id makes a repeat harmless).",
    ),
    Writer(
        LEDGER.deadletter_topic,
        "DeadLetter",
        DeadLetterRecord,
        f"What the ledger cannot apply from {LEDGER.commands_topic} or {LEDGER.acks_topic}, or the projector "
        f"from {PROJECTOR.events_topic}: the reason, where the record is (topic, partition, offset, its key when "
        "a subject id) and the SHA-256 of its value, never the value itself. For operators.",
    ),
)


def described_broker() -> KafkaBroker:
    """The twins of the real subscribers and the other writers' publisher specifications, on one broker."""
    broker = KafkaBroker(LEDGER.kafka_bootstrap, description="Kafka at CONSENT_KAFKA_BOOTSTRAP (its default shown).")
    for twin in SUBSCRIPTIONS:
        broker.subscriber(twin.topic, description=twin.description)(_handler(twin.handler, twin.payload))
    for writer in WRITERS:
        broker.publisher(
            writer.topic, title=f"{writer.topic}:{writer.name}", schema=writer.payload, description=writer.description
        )
    return broker


def _kafka_key(schema: dict[str, Any]) -> dict[str, Any]:
    return {"kafka": {"key": schema, "bindingVersion": KAFKA_BINDING_VERSION}}


# What FastStream leaves out of each topic's messages: the record key, the headers (None: drop the field).
RECORDS: dict[str, dict[str, Any]] = {
    LEDGER.events_topic: {
        "bindings": _kafka_key(SUBJECT_KEY),
        "headers": EVENT_HEADERS,
        "contentType": CONTENT_TYPE,
        "correlationId": None,  # the relay sets exactly EVENT_HEADERS, no correlation_id
    },
    LEDGER.commands_topic: {"bindings": _kafka_key(SUBJECT_KEY)},
    LEDGER.acks_topic: {"bindings": _kafka_key(SUBJECT_KEY)},
    LEDGER.deadletter_topic: {
        "bindings": _kafka_key(
            {"type": "string", "format": "uuid", "description": "The original record's key when it is a subject id."}
        ),
        "headers": DEADLETTER_HEADERS,
        "contentType": "application/json",
    },
}


def document() -> dict[str, Any]:
    """The AsyncAPI document of the four topics, as JSON-ready data."""
    if LEDGER.acks_topic != ACKS_TOPIC:
        raise NotDescribedError(f"schemas.kit sends to {ACKS_TOPIC}, the ledger reads {LEDGER.acks_topic}")
    _check_one_namespace([twin.payload for twin in SUBSCRIPTIONS] + [writer.payload for writer in WRITERS])
    broker = described_broker()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # FastStream warns when one name would overwrite another
        built: dict[str, Any] = _specification(broker)
        real = _specification(*real_brokers())
    _check_twins(built, real)
    _add_records(built)
    built["info"]["description"] = (
        "The consent ledger's Kafka topics: events out (the public contract), commands and subscribers' "
        "confirmations in, dead letters for operators. Generated by `" + COMMAND + "`; do not edit."
    )
    return built


def _specification(*brokers: KafkaBroker) -> dict[str, Any]:
    spec = AsyncAPI(*brokers, title=TITLE, version=VERSION, schema_version=SCHEMA_VERSION).to_specification()
    return cast("dict[str, Any]", spec.to_jsonable())


def _check_one_namespace(payloads: Iterable[Any]) -> None:
    """Fail if two models share a schema name: FastStream would keep one and silently drop the other."""
    seen: dict[str, Any] = {}
    for payload in payloads:
        schema = TypeAdapter(payload).json_schema()
        named = schema.pop("$defs", {}) | ({schema["title"]: schema} if "title" in schema else {})
        for name, definition in named.items():
            if seen.setdefault(name, definition) != definition:
                raise NotDescribedError(f"two different schemas are named {name!r}; rename one of the models")


def _check_twins(built: dict[str, Any], real: dict[str, Any]) -> None:
    """Fail if the twins' channels are not exactly the channels the real factories subscribe to."""
    received = {
        operation["channel"]["$ref"].rpartition("/")[2]
        for operation in built["operations"].values()
        if operation["action"] == "receive"
    }
    twins = {unquote(key): built["channels"][key]["address"] for key in received}
    subscribed = {unquote(key): channel["address"] for key, channel in real["channels"].items()}
    if twins != subscribed:
        raise NotDescribedError(
            f"services/asyncapi.py describes subscriptions {sorted(twins.items())} but the services subscribe to "
            f"{sorted(subscribed.items())}: update described_broker()"
        )


def _add_records(built: dict[str, Any]) -> None:
    """Give each message what RECORDS says of its topic's records."""
    messages = built["components"]["messages"]
    for channel in built["channels"].values():
        record = RECORDS.get(channel["address"])
        if record is None:
            raise NotDescribedError(f"no key and headers described for {channel['address']}: add them to RECORDS")
        for reference in channel["messages"].values():
            message = messages[unquote(reference["$ref"].removeprefix("#/components/messages/"))]
            for field, value in record.items():
                if value is None:
                    message.pop(field, None)
                else:
                    message[field] = copy.deepcopy(value)


def render() -> str:
    """The exact text of schemas/asyncapi.json."""
    return json.dumps(document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def stale(path: Path | None = None) -> bool:
    """True when the file at `path` (default: PATH) is missing or differs from what the code gives."""
    path = path or PATH
    return not path.is_file() or path.read_text(encoding="utf-8") != render()


def main(argv: list[str]) -> int:
    """Write schemas/asyncapi.json, or with --check only say whether it is stale (exit status 1)."""
    if "--check" in argv:
        if stale(PATH):
            print(f"stale: {PATH}; run `{COMMAND}` and commit it")
            return 1
        return 0
    text = render()
    if not PATH.is_file() or PATH.read_text(encoding="utf-8") != text:
        PATH.write_text(text, encoding="utf-8")
        print(f"wrote {PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
