"""The AsyncAPI 3.0 document of the topics, from the FastStream apps: `python -m services.asyncapi`.

Writes schemas/asyncapi.json (`--check` writes nothing and exits 1 when the file is stale). FastStream
derives a subscriber's message from its handler's body parameter, and the real handlers
(services.ledger.entrypoints.kafka.command_broker, services.projector.consumer.projector_broker) take the raw
KafkaMessage, because they screen the bytes themselves (a malformed record is dead-lettered, not
rejected by FastStream). So the document is built on a broker of twins: one subscriber per real
channel, under the real channel's name, whose handler declares the model the record carries; and
`document()` refuses to build when the twins no longer match what the real factories register
(they are called here with stand-ins, which never touch a database or Kafka). The writers that are
not FastStream subscribers are added as publisher specifications: the relay (aiokafka) on
consent.events.v1, the projector's card cascade on consent.commands.projector.v1 and the dead letters.
Every sender writes a topic of its own (docs/decisions/0018-authenticated-senders.md): each channel's
and each subscriber system's topic is a channel of the document, and the kit (schemas.kit) must name
the same topics the ledger reads.
FastStream documents neither record keys nor headers, so the Kafka key and the headers of each
record are added to its messages afterwards.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, cast
from urllib.parse import unquote

from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from pydantic import Field, TypeAdapter

import schemas
from schemas import kit
from schemas.commands import AnyCommand, BlockLoyaltyCard
from schemas.events import Envelope
from services.asyncapi.records import INBOUND, add_records
from services.asyncapi.twins import (
    LEDGER,
    PROJECTOR,
    NotDescribedError,
    Subscription,
    Writer,
    real_brokers,
    twin_handler,
)
from services.ledger.application.registry import REGISTRY
from services.ledger.entrypoints.kafka import GROUP_ID
from services.platform import topology
from services.platform.deadletter import DeadLetterRecord
from services.platform.topology import Role
from services.projector.consumer import cascade_topic

TITLE = "Consent ledger"
VERSION = "1"
SCHEMA_VERSION = "3.0.0"
PATH = Path(schemas.__file__).resolve().parent / "asyncapi.json"
COMMAND = "python -m services.asyncapi"
ON_CHANNELS = ", ".join(spec.name for spec in REGISTRY if spec.kafka and not spec.acknowledgement and not spec.cascade)
(ACKNOWLEDGEMENT,) = (spec.model for spec in REGISTRY if spec.acknowledgement)
(CASCADE,) = (spec.model for spec in REGISTRY if spec.cascade)
_SENDER = (
    "Only this sender writes this topic (on an authenticated cluster its SASL/SCRAM principal alone may); the "
    "ledger takes the sender from the topic, never from the record, and records the sender as the actor, or "
    "<sender>/<actor> when the command names one."
)
_SCREENED = (
    f"The ledger applies each command (consumer group {GROUP_ID}), then acknowledges the record. The record key "
    f"must be the command's subject_id. A record that is not a valid command, or that a rule refuses, goes to "
    f"{LEDGER.deadletter_topic}."
)


def _inbound(topic: str, sender: str, role: Role) -> Subscription:
    """The twin of the ledger's subscription to one sender's topic, described for that sender."""
    if role == "subscriber":
        return Subscription(
            topic,
            "on_command",
            ACKNOWLEDGEMENT,
            f"Subscriber system {sender} confirms it enforced an event (schemas.kit.confirm); the ledger records "
            f"EnforcementConfirmed. {_SENDER} {_SCREENED} Only {ACKNOWLEDGEMENT.__name__} with system {sender!r} "
            "belongs here: another system is refused (system_not_sender), another command too "
            "(not_an_acknowledgement).",
        )
    if role == "cascade":
        return Subscription(
            topic,
            "on_command",
            CASCADE,
            f"The projector's card cascade (see the Cascade message); the ledger records it with actor {sender!r}. "
            f"{_SENDER} {_SCREENED} Only {CASCADE.__name__} belongs here (else not_a_cascade_command).",
        )
    return Subscription(
        topic,
        "on_command",
        Annotated[AnyCommand, Field(title="AnyCommand")],
        f"Channel {sender} sends commands. {_SENDER} {_SCREENED} Personal data (pii, representative.pii, "
        "card_number) travels only sealed to the ledger's public key, in sealed_<field> (schemas.kit.sealed_command); "
        f"a command carrying it in clear is refused (personal_data_in_clear). A channel's topic takes {ON_CHANNELS}; "
        f"{ACKNOWLEDGEMENT.__name__} is refused (acknowledgement_from_a_channel), any other command too "
        "(not_allowed_on_kafka).",
    )


SUBSCRIPTIONS = (
    *(_inbound(topic, sender, role) for topic, (sender, role) in INBOUND.items()),
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
        cascade_topic(PROJECTOR),
        "Cascade",
        BlockLoyaltyCard,
        "The projector's card cascade: when consent is withdrawn, BlockLoyaltyCard for every card still unblocked "
        "(sent from an outbox, so possibly more than once: the command id makes a repeat harmless), on the "
        "projector's own topic and without an actor: the ledger records the sender, projector.",
    ),
    Writer(
        LEDGER.deadletter_topic,
        "DeadLetter",
        DeadLetterRecord,
        f"What the ledger cannot apply from a sender's topic, or the projector from {PROJECTOR.events_topic}: "
        "the reason, where the record is (topic, partition, offset, its key when "
        "a subject id) and the SHA-256 of its value, never the value itself. For operators.",
    ),
)


def described_broker() -> KafkaBroker:
    """The twins of the real subscribers and the other writers' publisher specifications, on one broker."""
    broker = KafkaBroker(LEDGER.kafka_bootstrap, description="Kafka at CONSENT_KAFKA_BOOTSTRAP (its default shown).")
    for twin in SUBSCRIPTIONS:
        broker.subscriber(twin.topic, description=twin.description)(twin_handler(twin.handler, twin.payload))
    for writer in WRITERS:
        broker.publisher(
            writer.topic, title=f"{writer.topic}:{writer.name}", schema=writer.payload, description=writer.description
        )
    return broker


def _check_kit() -> None:
    """Fail unless the kit's topics and the projector's cascade are the ledger's topics of the same senders."""
    expected = {kit.acks_topic(system): (system, "subscriber") for system in topology.SUBSCRIBERS}
    expected |= {kit.commands_topic(channel): (channel, "channel") for channel in topology.CHANNELS}
    expected[cascade_topic(PROJECTOR)] = (topology.PROJECTOR, "cascade")
    if expected != INBOUND:
        sent, read = sorted(expected.items()), sorted(INBOUND.items())
        raise NotDescribedError(f"schemas.kit and the projector send to {sent}, the ledger reads {read}")


def document() -> dict[str, Any]:
    """The AsyncAPI document of the topics, as JSON-ready data."""
    _check_kit()
    _check_one_namespace([twin.payload for twin in SUBSCRIPTIONS] + [writer.payload for writer in WRITERS])
    broker = described_broker()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # FastStream warns when one name would overwrite another
        built: dict[str, Any] = _specification(broker)
        real = _specification(*real_brokers())
    _check_twins(built, real)
    add_records(built)
    built["info"]["description"] = (
        "The consent ledger's Kafka topics: events out (the public contract), commands and subscribers' "
        "confirmations in, each sender on a topic of its own (consent.commands.<channel>.v1, "
        "consent.acks.<system>.v1), dead letters for operators. Generated by `" + COMMAND + "`; do not edit."
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
