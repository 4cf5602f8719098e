"""The subscriber kit on the ledger's real records, without a broker: decode, verify the chain, acknowledge."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from schemas import kit
from schemas.commands import COMMANDS, ConfirmEnforcement
from schemas.envelope import canonical_bytes, event_hash
from schemas.events import ContractError, LoyaltyCardBlocked
from schemas.kit import ChainVerifier, acknowledgement, confirm, decode
from tests.schemas.ledger_history import CARD, first_of, ledger_history


def records() -> list[bytes]:
    """The subject's events as record values on consent.events.v1, in topic order."""
    return [canonical_bytes(envelope) for envelope in ledger_history()]


def verify(values: list[bytes], verifier: ChainVerifier | None = None) -> list[str]:
    """Every problem a verifier reports while fed `values` in order."""
    verifier = verifier or ChainVerifier()
    return [problem for value in values for problem in verifier.check(decode(value))]


def test_a_loyalty_system_decodes_the_card_block_the_cascade_caused() -> None:
    blocked = first_of("LoyaltyCardBlocked")

    envelope = decode(canonical_bytes(blocked))

    assert isinstance(envelope.data, LoyaltyCardBlocked)
    assert envelope.data.card_ref == CARD
    assert envelope.data.cause_event_id == blocked["causationid"]  # the ConsentWithdrawn
    assert str(envelope.id) == blocked["id"]
    assert str(envelope.subject) == blocked["subject"]


def test_decode_refuses_a_record_that_breaks_the_contract_naming_the_event_and_field() -> None:
    blocked = first_of("LoyaltyCardBlocked")
    broken = {**blocked, "data": {"card_ref": CARD, "reason": "consent withdrawn"}}

    with pytest.raises(ContractError, match=rf"event {blocked['id']}: data\.cause_event_id: Field required"):
        decode(canonical_bytes(broken))


def test_the_whole_history_verifies_in_topic_order() -> None:
    assert verify(records()) == []


def test_a_byte_flipped_in_data_is_a_hash_mismatch() -> None:
    values = records()
    linked = first_of("LoyaltyCardLinked")
    index = ledger_history().index(linked)
    values[index] = values[index].replace(b"card-ref-7f3a", b"card-ref-7f3b")

    problems = verify(values)

    content = event_hash(orjson.loads(values[index]))
    assert problems == [f"event {linked['id']}: hash {linked['hash']} does not match its content ({content})"]


def test_a_missing_event_is_a_version_gap_and_a_broken_link() -> None:
    history = ledger_history()
    values = records()
    del values[4]  # subject version 5 never arrives

    problems = verify(values)

    after = history[5]
    assert problems == [
        f"event {after['id']}: subject {after['subject']} version 6 follows version 4: 1 event(s) missing",
        f"event {after['id']}: subject {after['subject']} prevhash {after['prevhash']} "
        f"is not the hash of the event before it ({history[3]['hash']})",
    ]


def test_a_subscriber_starting_mid_stream_takes_the_first_event_it_sees_as_the_start_of_the_chain() -> None:
    values = records()[9:]  # first seen: subject version 10, whose prevhash links to an event never seen

    assert verify(values) == []


def test_a_redelivered_event_is_not_a_problem_but_a_replayed_older_one_is() -> None:
    values = records()
    verifier = ChainVerifier()
    assert verify(values[:3], verifier) == []

    assert verify([values[2]], verifier) == []
    assert verify([values[1]], verifier)[0].endswith("version 2 arrived after version 3: out of order or repeated")


def test_an_acknowledgement_is_a_confirm_enforcement_command_keyed_by_the_subject() -> None:
    envelope = decode(canonical_bytes(first_of("LoyaltyCardBlocked")))

    key, value = acknowledgement(envelope, "loyalty", "card blocked")

    command = COMMANDS.validate_json(value)
    assert isinstance(command, ConfirmEnforcement)
    assert key == str(envelope.subject).encode()
    assert command.subject_id == envelope.subject
    assert (command.system, command.enforced_event_id, command.action) == ("loyalty", str(envelope.id), "card blocked")
    assert command.command_id == f"ack:loyalty:{envelope.id}"
    assert orjson.loads(value) == {
        "type": "ConfirmEnforcement",
        "command_id": f"ack:loyalty:{envelope.id}",
        "subject_id": str(envelope.subject),
        "system": "loyalty",
        "enforced_event_id": str(envelope.id),
        "action": "card blocked",
    }


def test_an_acknowledgement_takes_the_senders_command_id_and_refuses_an_invalid_command() -> None:
    envelope = decode(canonical_bytes(first_of("PersonalDataErased")))

    _, value = acknowledgement(envelope, "delivery", "data erased", command_id="delivery-0042")

    assert COMMANDS.validate_json(value).command_id == "delivery-0042"
    with pytest.raises(ValidationError, match="system"):
        acknowledgement(envelope, "", "data erased")


class RecordingProducer:
    """Stands in for aiokafka's producer: remembers what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send_and_wait(
        self, topic: str, value: bytes | None = None, key: bytes | None = None, **options: Any
    ) -> None:
        self.sent.append({"topic": topic, "value": value, "key": key, **options})


async def test_confirm_sends_the_acknowledgement_to_the_systems_own_acks_topic() -> None:
    envelope = decode(canonical_bytes(first_of("MarketingOptedOut")))
    producer = RecordingProducer()

    await confirm(producer, envelope, "marketing", "suppression applied")

    key, value = acknowledgement(envelope, "marketing", "suppression applied")
    assert producer.sent == [
        {
            "topic": "consent.acks.marketing.v1",
            "key": key,
            "value": value,
            "headers": [("content-type", b"application/json")],
        }
    ]


def test_each_sender_has_a_topic_of_its_own() -> None:
    assert kit.acks_topic("loyalty") == "consent.acks.loyalty.v1"
    assert kit.commands_topic("contact-centre") == "consent.commands.contact-centre.v1"
    assert kit.EVENTS == "consent.events.v1"
