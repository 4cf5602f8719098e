"""schemas/asyncapi.json is the AsyncAPI document the code gives, and it describes every topic, each sender's own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args
from urllib.parse import unquote

import pytest

from schemas.catalogue import ConsentGranted
from schemas.commands import AnyCommand
from schemas.topics import acks_topic, commands_topic
from services import asyncapi
from services.platform.topology import CHANNELS, PROJECTOR, SUBSCRIBERS

REGENERATE = "run `.venv/bin/python -m services.asyncapi` and commit schemas/asyncapi.json"
CHANNEL_TOPICS = {commands_topic(channel) for channel in CHANNELS}
ACKS_TOPICS = {acks_topic(system) for system in SUBSCRIBERS}
CASCADE_TOPIC = commands_topic(PROJECTOR)
TOPICS = {"consent.events.v1", "consent.deadletter.v1", CASCADE_TOPIC} | CHANNEL_TOPICS | ACKS_TOPICS


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return asyncapi.document()


def test_the_committed_document_is_what_the_code_gives(document: dict[str, Any]) -> None:
    assert asyncapi.PATH.is_file(), f"schemas/asyncapi.json is missing: {REGENERATE}"
    committed = asyncapi.PATH.read_text(encoding="utf-8")

    assert committed == asyncapi.render(), f"schemas/asyncapi.json is stale: {REGENERATE}"
    assert json.loads(committed) == document


def test_check_fails_on_a_stale_or_missing_file_and_writing_mends_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "asyncapi.json"
    monkeypatch.setattr(asyncapi, "PATH", path)
    assert asyncapi.main(["--check"]) == 1

    path.write_text("{}\n", encoding="utf-8")
    assert asyncapi.main(["--check"]) == 1
    assert "python -m services.asyncapi" in capsys.readouterr().out

    assert asyncapi.main([]) == 0
    assert asyncapi.main(["--check"]) == 0
    assert path.read_text(encoding="utf-8") == asyncapi.render()


def test_it_is_one_asyncapi_3_document_of_every_topic(document: dict[str, Any]) -> None:
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"] == "Consent ledger"
    assert document["info"]["version"] == "1"
    assert {channel["address"] for channel in document["channels"].values()} == TOPICS


def _operations(document: dict[str, Any], topic: str, action: str) -> list[dict[str, Any]]:
    """The messages (resolved) of the operations with `action` on channels of `topic`."""
    messages = []
    for operation in document["operations"].values():
        channel = _resolve(document, operation["channel"]["$ref"])
        if operation["action"] == action and channel["address"] == topic:
            for reference in operation["messages"]:
                messages.append(_resolve(document, _resolve(document, reference["$ref"])["$ref"]))
    return messages


def _channel(document: dict[str, Any], topic: str) -> dict[str, Any]:
    """The channel of `topic` that the ledger receives on."""
    [channel] = [
        channel
        for key, channel in document["channels"].items()
        if channel["address"] == topic and key.endswith(":OnCommand")
    ]
    return channel


def _payload(document: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    payload: dict[str, Any] = _resolve(document, message["payload"]["$ref"])
    return payload


def test_events_are_the_cloudevents_envelope_keyed_by_subject_sent_by_the_relay_and_read_by_the_projector(
    document: dict[str, Any],
) -> None:
    for action in ("send", "receive"):
        [message] = _operations(document, "consent.events.v1", action)
        envelope = _payload(document, message)
        assert {"specversion", "id", "type", "subject", "data", "prevhash", "hash", "position"} <= set(
            envelope["properties"]
        )
        assert envelope["properties"]["hash"]["pattern"] == "^[0-9a-f]{64}$"
        assert message["contentType"] == "application/cloudevents+json"
        assert message["bindings"]["kafka"]["key"]["format"] == "uuid"
        assert set(message["headers"]["required"]) == {"content-type", "ce-type", "schema-version", "position"}


@pytest.mark.parametrize("topic", sorted(CHANNEL_TOPICS))
def test_each_channels_topic_carries_any_command_read_by_the_ledger(document: dict[str, Any], topic: str) -> None:
    [received] = _operations(document, topic, "receive")
    commands = _payload(document, received)
    names = {reference["$ref"].rpartition("/")[2] for reference in commands["oneOf"]}
    union, _ = get_args(AnyCommand)
    assert names == {model.__name__ for model in get_args(union)}
    assert commands["discriminator"] == "type"
    assert received["bindings"]["kafka"]["key"]["format"] == "uuid"
    assert "acknowledgement_from_a_channel" in _channel(document, topic)["description"]
    assert _operations(document, topic, "send") == []  # sent by the channel (schemas.kit), not here


def test_the_cascade_sends_block_loyalty_card_on_the_projectors_topic_and_the_ledger_reads_only_that(
    document: dict[str, Any],
) -> None:
    [cascade] = _operations(document, CASCADE_TOPIC, "send")
    [received] = _operations(document, CASCADE_TOPIC, "receive")

    assert _payload(document, cascade)["properties"]["type"]["const"] == "BlockLoyaltyCard"
    assert _payload(document, received)["properties"]["type"]["const"] == "BlockLoyaltyCard"
    assert received["bindings"]["kafka"]["key"]["format"] == "uuid"


@pytest.mark.parametrize("topic", sorted(ACKS_TOPICS))
def test_each_systems_acks_are_confirm_enforcement_commands_read_by_the_ledger(
    document: dict[str, Any], topic: str
) -> None:
    [message] = _operations(document, topic, "receive")
    confirmation = _payload(document, message)

    assert confirmation["title"] == "ConfirmEnforcement"
    assert {"system", "enforced_event_id", "action"} <= set(confirmation["required"])
    assert "system_not_sender" in _channel(document, topic)["description"]
    assert _operations(document, topic, "send") == []  # sent by subscribers (schemas.kit), not here


def test_the_kit_must_name_the_topics_the_ledger_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(asyncapi.kit, "acks_topic", lambda system: f"consent.acks.v1.{system}")

    with pytest.raises(asyncapi.NotDescribedError, match=r"schemas\.kit"):
        asyncapi.document()


def test_dead_letters_say_why_and_where_with_a_digest_never_the_original_bytes(document: dict[str, Any]) -> None:
    [message] = _operations(document, "consent.deadletter.v1", "send")
    letter = _payload(document, message)

    assert letter["title"] == "DeadLetterRecord"
    assert set(letter["required"]) == {"rule", "reason", "topic", "partition", "offset", "value_sha256", "value_bytes"}
    assert "value" not in letter["properties"]
    assert message["contentType"] == "application/json"
    assert set(message["headers"]["required"]) == {
        "content-type",
        "deadletter-rule",
        "deadletter-reason",
        "original-topic",
        "original-partition",
        "original-offset",
        "original-sha256",
    }


def test_the_described_subscriptions_are_the_ones_the_services_register(document: dict[str, Any]) -> None:
    real = asyncapi._specification(*asyncapi.real_brokers())
    received = {
        operation["channel"]["$ref"].rpartition("/")[2]: document["channels"][
            operation["channel"]["$ref"].rpartition("/")[2]
        ]["address"]
        for operation in document["operations"].values()
        if operation["action"] == "receive"
    }

    assert received == {key: channel["address"] for key, channel in real["channels"].items()}
    assert set(real["operations"]) == {key for key, op in document["operations"].items() if op["action"] == "receive"}


def test_a_twin_that_no_longer_matches_the_services_stops_the_build(monkeypatch: pytest.MonkeyPatch) -> None:
    renamed = asyncapi.SUBSCRIPTIONS[0]._replace(topic="consent.commands.v2")
    monkeypatch.setattr(asyncapi, "SUBSCRIPTIONS", (renamed, *asyncapi.SUBSCRIPTIONS[1:]))

    with pytest.raises(asyncapi.NotDescribedError, match=r"consent\.commands\.v2"):
        asyncapi.document()


def test_two_models_with_one_schema_name_stop_the_build() -> None:
    # schemas.commands and schemas.catalogue both have a Collection, a Proof and a Representative.
    with pytest.raises(asyncapi.NotDescribedError, match="named 'Collection'"):
        asyncapi._check_one_namespace([AnyCommand, ConsentGranted])


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    for reference in _references(document):
        assert _resolve(document, reference) is not None, reference


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)


def _resolve(document: dict[str, Any], reference: str) -> Any:
    assert reference.startswith("#/"), reference
    node: Any = document
    for part in reference.removeprefix("#/").split("/"):
        node = node[unquote(part).replace("~1", "/").replace("~0", "~")]
    return node
