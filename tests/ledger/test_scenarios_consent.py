"""A data subject's consent as scenarios: the form signed and its proof recorded, or refused as invalid.

Each test reads the way the consent policy (REQUIREMENTS.md) and the event catalogue (DESIGN.md) do;
all subjects, forms and proofs are synthetic.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import pytest

from services.ledger.domain import events as e
from services.ledger.domain.errors import InvalidCommandError
from services.ledger.domain.terms import Collection, Notice, Representative
from services.ledger.domain.vocabulary import (
    Channel,
    CollectionMethod,
    ConsentStatus,
    DataCategory,
    Language,
    Purpose,
)
from tests.ledger.scenario_support import (
    ALMATY,
    CONSULTANT,
    FORM_TEXT_SHA256,
    FRIDAY_22_MAY,
    PII,
    SCAN_SHA256,
    consent_terms,
    ctx,
    given_subject,
    recorded,
)

# --- ConsentGranted ------------------------------------------------------------------------------------------------


def test_consent_typed_on_a_consultants_tablet_is_recorded_with_its_sms_verification() -> None:
    subject = given_subject()

    event_id = subject.grant_consent(ctx(1, actor=CONSULTANT), consent_terms(), PII)

    granted = recorded(subject, event_id, e.ConsentGranted)
    assert granted.terms["notice"] == {
        "form_id": "loyalty-consent",
        "form_version": "3",
        "text_sha256": FORM_TEXT_SHA256,
        "language": "kk",
    }
    assert granted.terms["collection"] == {
        "method": "tablet_sms",
        "proof": {"sms_verification_id": "sms-ver-000123"},
        "consultant_id": "c-017",
        "store_id": "store-almaty-01",
    }
    assert granted.terms["controller"] == {"name": "ESPERANCE-RK LLP", "bin": "220240037922"}
    assert granted.terms["purposes"] == sorted(p.value for p in Purpose)
    assert granted.terms["categories"] == sorted(c.value for c in DataCategory)
    assert granted.terms["marketing_channels"] == ["email", "sms"]
    assert granted.terms["third_party_transfer"] is True
    assert granted.terms["cross_border_countries"] == ["RU"]
    assert granted.terms["valid_until"] is None  # for the duration of the loyalty programme
    assert granted.terms["jurisdiction"] == "KZ"
    assert "94-V" in granted.terms["law"]
    assert granted.pii == PII
    assert (granted.actor, granted.command_id) == (CONSULTANT, "cmd-1")
    assert granted.occurred_at == datetime.combine(FRIDAY_22_MAY, time(10), ALMATY).isoformat()
    assert subject.consent_status is ConsentStatus.ACTIVE
    assert subject.consent_id == event_id
    assert subject.terms == consent_terms()


@pytest.mark.parametrize(
    ("collection", "proof"),
    [
        pytest.param(
            Collection(CollectionMethod.WEB_CHECKBOX, {"checkbox_form_version": "web-2026.1"}),
            {"checkbox_form_version": "web-2026.1"},
            id="web-site checkbox",
        ),
        pytest.param(
            Collection(
                CollectionMethod.SIGNED_QUESTIONNAIRE, {"signed_scan_sha256": SCAN_SHA256}, store_id="store-astana-02"
            ),
            {"signed_scan_sha256": SCAN_SHA256},
            id="questionnaire signed by hand, scan hashed",
        ),
        pytest.param(
            Collection(CollectionMethod.RECORDED_CALL, {"call_recording_id": "call-2026-05-22-0042"}),
            {"call_recording_id": "call-2026-05-22-0042"},
            id="recorded phone call",
        ),
    ],
)
def test_consent_is_recorded_with_the_proof_its_collection_method_needs(
    collection: Collection, proof: dict[str, str]
) -> None:
    subject = given_subject()

    event_id = subject.grant_consent(ctx(1), consent_terms(collection=collection), PII)

    granted = recorded(subject, event_id, e.ConsentGranted)
    assert granted.terms["collection"]["method"] == collection.method.value
    assert granted.terms["collection"]["proof"] == proof
    assert subject.terms is not None
    assert subject.terms.collection == collection


def test_consent_given_by_a_representative_records_the_power_of_attorney_and_keeps_their_data_encrypted() -> None:
    subject = given_subject()
    terms = consent_terms(representative=Representative(power_of_attorney_ref="poa-2026-0117"))

    event_id = subject.grant_consent(ctx(1, actor=CONSULTANT), terms, PII)

    granted = recorded(subject, event_id, e.ConsentGranted)
    assert granted.terms["representative"] == {"power_of_attorney_ref": "poa-2026-0117"}
    assert granted.pii == PII  # the representative's own name and ID document travel only encrypted
    assert subject.terms is not None
    assert subject.terms.representative == Representative("poa-2026-0117")


def test_consent_for_a_fixed_term_records_its_end() -> None:
    subject = given_subject()

    event_id = subject.grant_consent(ctx(1), consent_terms(valid_until=date(2026, 12, 31)), PII)

    assert recorded(subject, event_id, e.ConsentGranted).terms["valid_until"] == "2026-12-31"


# --- Invalid consent forms ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        pytest.param(
            "collection.proof.sms_verification_id",
            {"collection": Collection(CollectionMethod.TABLET_SMS, {}, consultant_id="c-017")},
            id="tablet consent without its SMS verification id",
        ),
        pytest.param(
            "collection.consultant_id",
            {"collection": Collection(CollectionMethod.TABLET_SMS, {"sms_verification_id": "sms-ver-1"})},
            id="tablet consent without the consultant",
        ),
        pytest.param(
            "collection.proof.signed_scan_sha256",
            {"collection": Collection(CollectionMethod.SIGNED_QUESTIONNAIRE, {"signed_scan_sha256": "scan.pdf"})},
            id="signed questionnaire whose scan hash is not a SHA-256",
        ),
        pytest.param(
            "collection.proof.call_recording_id",
            {"collection": Collection(CollectionMethod.RECORDED_CALL, {})},
            id="phone consent without the recording",
        ),
        pytest.param(
            "marketing_channels",
            {"purposes": {Purpose.LOYALTY}, "marketing_channels": {Channel.SMS}},
            id="marketing channels without the advertising purpose",
        ),
        pytest.param(
            "third_party_transfer",
            {"third_party_transfer": False},
            id="cross-border countries without third-party transfer",
        ),
        pytest.param(
            "notice.text_sha256",
            {"notice": Notice("loyalty-consent", "3", FORM_TEXT_SHA256.upper(), Language.RU)},
            id="form text hash not in lowercase hex",
        ),
        pytest.param("cross_border_countries", {"cross_border_countries": {"KZ"}}, id="Kazakhstan as abroad"),
        pytest.param("cross_border_countries", {"cross_border_countries": {"Russia"}}, id="country not ISO alpha-2"),
        pytest.param("purposes", {"purposes": set(), "marketing_channels": set()}, id="no purpose"),
        pytest.param("categories", {"categories": set()}, id="no data category"),
    ],
)
def test_a_consent_form_that_does_not_fit_the_policy_is_invalid(field: str, changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidCommandError) as invalid:
        consent_terms(**changes)

    assert invalid.value.field == field
