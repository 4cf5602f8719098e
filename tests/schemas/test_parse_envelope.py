"""Reading consent.events.v1 tolerantly: fields added within v1 are ignored, yet the hash still verifies."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest

from schemas.envelope import canonical_bytes, event_hash
from schemas.events import (
    ENVELOPE_MODELS,
    ConsentWithdrawalRequested,
    ContractError,
    Envelope,
    UnknownEventTypeError,
    event_name,
    parse_envelope,
)
from schemas.kit import ChainVerifier
from tests.schemas.ledger_history import first_of


def resealed(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with its hash recomputed, as a newer ledger release would publish it."""
    return {**document, "hash": event_hash(document)}


def test_a_field_added_to_data_later_is_ignored_and_still_covered_by_the_hash() -> None:
    newer = resealed({**first_of("ConsentWithdrawalRequested"), "extensions": {"channel": "web"}})
    newer["data"] = {**newer["data"], "filed_by_channel": "web"}
    newer = resealed(newer)

    envelope = parse_envelope(canonical_bytes(newer))

    assert isinstance(envelope.data, ConsentWithdrawalRequested)
    assert not hasattr(envelope.data, "filed_by_channel")
    assert envelope.model_extra == {"extensions": {"channel": "web"}}
    assert envelope.document == orjson.loads(canonical_bytes(newer))
    assert ChainVerifier().check(envelope) == []


def test_nulls_the_ledger_writes_in_data_are_kept_and_absent_attributes_stay_absent() -> None:
    requested = first_of("ConsentWithdrawalRequested")

    envelope = parse_envelope(requested)

    assert "causationid" not in envelope.to_document()
    assert envelope.to_document()["data"]["requested_effective_on"] == requested["data"]["requested_effective_on"]


def test_every_field_that_does_not_fit_is_named_with_the_event_id() -> None:
    granted = first_of("ConsentGranted")
    terms = {**granted["data"]["terms"], "purposes": ["gambling"], "notice": {**granted["data"]["terms"]["notice"]}}
    terms["notice"]["text_sha256"] = "not-a-hash"

    with pytest.raises(ContractError) as refusal:
        parse_envelope({**granted, "data": {"terms": terms}, "subjectversion": 0})

    assert refusal.value.event_id == granted["id"]
    assert [field for field, _ in refusal.value.problems] == [
        "data.terms.notice.text_sha256",
        "data.terms.purposes.0",
        "subjectversion",
    ]
    assert str(refusal.value).startswith(f"event {granted['id']}: data.terms.notice.text_sha256: String should match")


def test_an_event_type_outside_the_catalogue_is_told_apart() -> None:
    future = {**first_of("LoyaltyCardLinked"), "type": "kz.esperance.consent.v1.LoyaltyCardLost"}

    with pytest.raises(
        UnknownEventTypeError, match=r"type: 'kz\.esperance\.consent\.v1\.LoyaltyCardLost' is not an event"
    ):
        parse_envelope(future)
    assert event_name("kz.esperance.consent.v1.LoyaltyCardLinked") == "LoyaltyCardLinked"
    assert event_name("LoyaltyCardLinked") is None


def test_bytes_and_their_decoded_mapping_give_the_same_envelope_and_document() -> None:
    newer = resealed({**first_of("ConsentGranted"), "extensions": {"channel": "web"}})

    from_bytes, from_mapping = parse_envelope(orjson.dumps(newer)), parse_envelope(newer)

    assert from_bytes == from_mapping
    assert from_bytes.document == from_mapping.document == newer
    assert parse_envelope(orjson.dumps({**newer, "extensions": {"channel": "app"}})) != from_mapping


def test_an_envelope_built_in_code_is_its_own_document_whatever_its_extensions_are_called() -> None:
    linked = {**first_of("LoyaltyCardLinked"), "_received": "not the document"}  # named as what parse_envelope keeps

    built = ENVELOPE_MODELS["LoyaltyCardLinked"].model_validate(linked)

    assert built.document == built.to_document() == linked
    assert parse_envelope(orjson.dumps(linked)).document == linked


def test_the_same_record_in_other_bytes_is_refused_with_the_same_problems() -> None:
    granted = {**first_of("ConsentGranted"), "subjectversion": 0, "actor": ""}

    with pytest.raises(ContractError) as from_bytes:
        parse_envelope(orjson.dumps(granted))
    with pytest.raises(ContractError) as from_mapping:
        parse_envelope(granted)

    assert from_bytes.value.problems == from_mapping.value.problems
    assert [field for field, _ in from_bytes.value.problems] == ["subjectversion", "actor"]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (b"{not json", "(record): not JSON"),
        (b"[1, 2]", "(record): a JSON object is expected, not list"),
        (orjson.dumps(first_of("ConsentGranted"))[:-1] + b', "extension": NaN}', "(record): not JSON"),
    ],
)
def test_a_record_that_is_not_an_envelope_at_all(value: bytes, problem: str) -> None:
    with pytest.raises(ContractError, match=rf"^record without an id: {re.escape(problem)}"):
        parse_envelope(value)


def test_the_envelope_model_names_its_event() -> None:
    envelope: Envelope = parse_envelope(first_of("PersonalDataErased"))

    assert envelope.name == "PersonalDataErased"
