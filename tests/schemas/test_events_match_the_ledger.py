"""The public contract describes what the ledger really publishes: every event type, every field.

Each catalogue event is recorded by the real ledger domain, sealed into its hash chain and turned
into an envelope by the ledger's translator; the envelope must fit the pydantic model and the
committed JSON Schema file, and the model must lose nothing the hash covers.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest

from schemas.envelope import canonical_bytes, event_hash
from schemas.events import ENVELOPE_MODELS, EVENT_MODELS, parse_envelope
from services.ledger.domain import events as domain
from tests.schemas.ledger_history import ledger_history

SCHEMA_FILES = Path(__file__).parents[2] / "schemas" / "v1"
CATALOGUE = sorted(EVENT_MODELS)


def envelopes_of(name: str) -> list[dict[str, Any]]:
    """Every envelope of catalogue event `name` in the ledger history, as the relay would publish it (JSON)."""
    found = [orjson.loads(canonical_bytes(e)) for e in ledger_history() if e["type"].endswith("." + name)]
    assert found, f"the ledger history records no {name}"
    return found


def test_the_contract_and_the_ledger_have_the_same_catalogue() -> None:
    recorded_by_the_ledger = {
        name
        for name, cls in inspect.getmembers(domain, inspect.isclass)
        if issubclass(cls, domain.SubjectEvent) and cls is not domain.SubjectEvent
    }
    in_the_history = {envelope["type"].rsplit(".", 1)[1] for envelope in ledger_history()}

    assert len(recorded_by_the_ledger) == 19
    assert set(EVENT_MODELS) == set(ENVELOPE_MODELS) == recorded_by_the_ledger == in_the_history


@pytest.mark.parametrize("name", CATALOGUE)
def test_each_event_the_ledger_records_fits_its_model_and_the_model_keeps_every_field(name: str) -> None:
    for document in envelopes_of(name):
        envelope = parse_envelope(orjson.dumps(document))

        assert isinstance(envelope, ENVELOPE_MODELS[name])
        assert isinstance(envelope.data, EVENT_MODELS[name])
        undeclared = set(document["data"]) - set(EVENT_MODELS[name].model_fields)
        assert not undeclared, f"{name}.data carries fields the contract does not declare: {undeclared}"
        assert not envelope.model_extra, f"attributes the contract does not declare: {envelope.model_extra}"
        assert envelope.to_document() == document  # nothing lost, times in canonical form
        assert event_hash(envelope.to_document()) == document["hash"]


def validator_for(name: str) -> jsonschema.Draft202012Validator:
    """A draft 2020-12 validator for the committed schema file of event `name`."""
    schema = json.loads((SCHEMA_FILES / f"{name}.schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


@pytest.mark.parametrize("name", CATALOGUE)
def test_each_event_the_ledger_records_validates_against_its_json_schema_file(name: str) -> None:
    validator = validator_for(name)
    for document in envelopes_of(name):
        assert [error.message for error in validator.iter_errors(document)] == []


def test_the_json_schema_files_refuse_what_the_models_refuse() -> None:
    document = envelopes_of("LoyaltyCardBlocked")[0]
    validator = validator_for("LoyaltyCardBlocked")
    without_cause = {**document, "data": {k: v for k, v in document["data"].items() if k != "cause_event_id"}}
    wrong_type = {**document, "type": "kz.esperance.consent.v1.LoyaltyCardLinked"}

    assert [e.message for e in validator.iter_errors(without_cause)] == ["'cause_event_id' is a required property"]
    assert [e.validator for e in validator.iter_errors(wrong_type)] == ["const"]
    assert [e.validator for e in validator.iter_errors({**document, "hash": "not a hash"})] == ["pattern"]
