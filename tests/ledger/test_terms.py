"""A consent's terms as a ConsentGranted stores them: every field, in field order, and back unchanged."""

from __future__ import annotations

from dataclasses import fields
from datetime import date

import orjson
import pytest

from services.ledger.domain.terms import Collection, ConsentTerms, Representative
from services.ledger.domain.vocabulary import CollectionMethod
from tests.ledger.conftest import tablet_consent

TERMS = {
    "tablet": tablet_consent(),
    "everything": tablet_consent(
        representative=Representative("poa-2026-0007"), valid_until=date(2027, 5, 22), extra={"campaign": "spring"},
        recipients=frozenset({"Kazpost JSC", "Air Astana JSC"}),
    ),
    "web, no transfer": tablet_consent(
        collection=Collection(CollectionMethod.WEB_CHECKBOX, {"checkbox_form_version": "2026.1"}),
        third_party_transfer=False, cross_border_countries=frozenset(),
    ),
}  # fmt: skip


@pytest.mark.parametrize("terms", TERMS.values(), ids=TERMS.keys())
def test_terms_are_stored_as_plain_json_and_read_back_unchanged(terms: ConsentTerms) -> None:
    payload = terms.to_payload()

    assert list(payload) == [field.name for field in fields(ConsentTerms)]
    assert ConsentTerms.from_payload(orjson.loads(orjson.dumps(payload))) == terms
    assert payload["purposes"] == sorted(payload["purposes"])
    assert payload["notice"]["language"] == terms.notice.language.value
    assert payload["collection"]["method"] == terms.collection.method.value


def test_the_stored_terms_do_not_share_the_terms_own_dictionaries() -> None:
    terms = TERMS["everything"]
    payload = terms.to_payload()
    payload["extra"]["campaign"] = "changed"
    payload["collection"]["proof"].clear()

    assert terms.extra == {"campaign": "spring"}
    assert terms.collection.proof == {"sms_verification_id": "sms-0001"}
