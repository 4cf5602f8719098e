"""The subject access report (policy §5): what the company holds about one subject, why, and what it did with it.

The report is JSON-ready and deterministic: the same events read as of the same moment give the same
canonical JSON, and `report_id` is the SHA-256 of those bytes, so an answer can name the report it sent
and anyone holding the report can recompute the id. Values are codes (purposes, grounds, ...); the
readable document in Kazakh, Russian or English is rendered from it by access_report_html.

It holds no personal data of anyone but the subject (§5): the subject's own personal data comes from
own_personal_data (which leaves out a representative's); actors, consultants, who decided a block, command
and correlation ids are left out here, as they identify employees and processing batches shared with
other subjects, not the subject. A representative is mentioned only by the fact that they acted and the
reference of their power of attorney.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from schemas.envelope import canonical_bytes, utc_text
from services.ledger.application.ledger import Ledger
from services.ledger.domain import events as e
from services.ledger.domain.subject import DataSubject
from services.ledger.domain.terms import ConsentTerms, Controller
from services.ledger.domain.vocabulary import ConsentStatus, DataCategory
from services.ledger.reports.own_personal_data import own_personal_data

REPORT_FORMAT = "kz.esperance.consent.v1.SubjectAccessReport"
KAZAKHSTAN = "KZ"
# Appendix 1: what the subject consents to be done with their data; §4: by automated means and without.
OPERATIONS = [
    "collection", "systematisation", "accumulation", "storage", "clarification", "use", "transfer",
    "depersonalisation", "blocking", "destruction",
]  # fmt: skip
MEANS = ["automated", "non_automated"]
# §4, Storage: where personal data is kept; the database itself is on the territory of Kazakhstan.
STORAGE_MEDIA = ["paper", "paper_copies", "electronic_media", "company_servers_and_backups", "rented_hosting"]
AUTHORISED_PERSONS_ONLY = "authorised_persons_only"
IN_FORCE = frozenset({ConsentStatus.ACTIVE, ConsentStatus.WITHDRAWAL_PENDING})


class UnknownSubjectError(LookupError):
    """The ledger had recorded nothing for the subject by the moment asked about."""

    def __init__(self, subject_id: UUID) -> None:
        super().__init__(f"the ledger had recorded nothing for subject {subject_id} by then")
        self.subject_id = subject_id


def build_access_report(ledger: Ledger, subject_id: UUID, *, as_of: datetime, controller: Controller) -> dict[str, Any]:
    """The subject's access report as their history stood at `as_of`; UnknownSubjectError if there was none."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must carry a timezone")
    events, subject = ledger.history(subject_id, as_of)
    if not events or subject is None:
        raise UnknownSubjectError(subject_id)
    terms = subject.terms if subject.consent_status in IN_FORCE else None
    personal_data = own_personal_data(ledger.cipher, subject_id, events, erased=subject.erased_by is not None)
    processed = personal_data["status"] != "destroyed"
    report: dict[str, Any] = {
        "format": REPORT_FORMAT,
        "subject_id": str(subject_id),
        "as_of": utc_text(as_of),
        "controller": {
            "name": controller.name,
            "bin": controller.bin,
            "role": "owner_and_operator",
            "location": "Republic of Kazakhstan",
            "country": KAZAKHSTAN,
            "database_country": KAZAKHSTAN,
        },
        "processing": _processing(subject, terms, processed=processed),
        "processing_methods": {"operations": OPERATIONS, "means": MEANS},
        "recipients": _recipients(terms, events),
        "data_categories": _data_categories(events),
        "terms": _terms(subject, terms, processed=processed),
        "consent_history": _consent_history(events),
        "blocks": _blocks(subject, events),
        "rectifications": [
            {"at": _when(event), "categories": list(event.categories)}
            for event in events
            if isinstance(event, e.PersonalDataRectified)
        ],
        "erasures": [
            {"at": _when(event), "ground": event.ground, "requested_by": event.requested_by}
            for event in events
            if isinstance(event, e.PersonalDataErased)
        ],
        "loyalty_cards": _cards(events),
        "requests": _requests(events),
        "personal_data": personal_data,
    }
    report["report_id"] = report_id_of(report)
    return report


def report_id_of(report: Mapping[str, Any]) -> str:
    """`sha256:<hex>` over the canonical JSON of the report without its `report_id`."""
    body = {key: value for key, value in report.items() if key != "report_id"}
    return "sha256:" + hashlib.sha256(canonical_bytes(body)).hexdigest()


def _when(event: e.SubjectEvent) -> str:
    """When the act happened in the world, as canonical UTC text."""
    return utc_text(datetime.fromisoformat(event.occurred_at))


def _processing(subject: DataSubject, terms: ConsentTerms | None, *, processed: bool) -> dict[str, Any]:
    return {
        "processed": processed,
        "consent_status": subject.consent_status.value,
        "consent_id": subject.consent_id if terms else None,
        "purposes": sorted(p.value for p in terms.purposes) if terms else [],
        "marketing_channels": sorted(c.value for c in terms.marketing_channels) if terms else [],
        "marketing_opted_out": sorted(c.value for c in subject.opted_out),
    }


def _recipients(terms: ConsentTerms | None, events: list[e.SubjectEvent]) -> dict[str, Any]:
    """Who may be given the data under the consent in force, and every hand-over actually made."""
    allowed = terms is not None and terms.third_party_transfer
    return {
        "within_company": AUTHORISED_PERSONS_ONLY,
        "third_party_transfer_allowed": allowed,
        "any_third_party": bool(allowed and terms and not terms.recipients),
        "recipients_allowed": sorted(terms.recipients) if allowed and terms else [],
        "cross_border_countries_allowed": sorted(terms.cross_border_countries) if allowed and terms else [],
        "transfers": [
            {
                "at": _when(event),
                "recipient": event.recipient,
                "country": event.country,
                "cross_border": event.country != KAZAKHSTAN,
                "categories": list(event.categories),
                "purpose": event.purpose,
            }
            for event in events
            if isinstance(event, e.PersonalDataTransferred)
        ],
    }


def _data_categories(events: list[e.SubjectEvent]) -> dict[str, Any]:
    """The categories of data held and where each came from: a consent form, a clarification, a request."""
    sources: list[dict[str, Any]] = []
    for event in events:
        if isinstance(event, e.ConsentGranted):
            terms = ConsentTerms.from_payload(event.terms)
            sources.append({
                "source": "consent_form",
                "at": _when(event),
                "categories": sorted(c.value for c in terms.categories),
                "collection_method": terms.collection.method.value,
                "proof": dict(sorted(terms.collection.proof.items())),
                "store_id": terms.collection.store_id,
                "form": {
                    "form_id": terms.notice.form_id,
                    "form_version": terms.notice.form_version,
                    "language": terms.notice.language.value,
                    "text_sha256": terms.notice.text_sha256,
                },
                "power_of_attorney_ref": terms.representative.power_of_attorney_ref if terms.representative else None,
            })  # fmt: skip
        elif isinstance(event, e.PersonalDataRectified):
            sources.append({"source": "rectification", "at": _when(event), "categories": list(event.categories)})
        elif isinstance(event, e.SubjectRequestReceived) and event.pii and not event.by_representative:
            sources.append(
                {"source": "subject_request", "at": _when(event), "categories": [DataCategory.IDENTITY_DOCUMENT.value]}
            )
    return {"categories": sorted({c for source in sources for c in source["categories"]}), "sources": sources}


def _terms(subject: DataSubject, terms: ConsentTerms | None, *, processed: bool) -> dict[str, Any]:
    """How long the data is processed (§4: as long as the purposes need, unless the consent says) and kept."""
    if terms is None:
        basis = "no_consent_in_force"
    elif terms.valid_until is not None:
        basis = "valid_until"
    else:
        basis = "loyalty_programme_duration"
    pending = subject.pending_withdrawal
    return {
        "processing": {
            "rule": "as_long_as_purposes_need",
            "basis": basis,
            "valid_until": terms.valid_until.isoformat() if terms and terms.valid_until else None,
            "withdrawal_effective_on": pending[1].isoformat() if pending else None,
        },
        "storage": {
            "status": "stored" if processed else "destroyed",
            "database_country": KAZAKHSTAN,
            "media": STORAGE_MEDIA,
            "access": AUTHORISED_PERSONS_ONLY,
        },
    }


def _consent_history(events: list[e.SubjectEvent]) -> list[dict[str, Any]]:
    """Every consent act: granted, marketing stopped or resumed, withdrawal filed, refused, taken effect, expired."""
    history: list[dict[str, Any]] = []
    for event in events:
        at = _when(event)
        match event:
            case e.ConsentGranted(terms=payload):
                terms = ConsentTerms.from_payload(payload)
                history.append({
                    "act": "granted", "at": at, "consent_id": str(event.event_id),
                    "purposes": sorted(p.value for p in terms.purposes),
                    "marketing_channels": sorted(c.value for c in terms.marketing_channels),
                    "valid_until": terms.valid_until.isoformat() if terms.valid_until else None,
                    "by_representative": terms.representative is not None,
                })  # fmt: skip
            case e.MarketingOptedOut(channels=channels):
                history.append({"act": "opted_out", "at": at, "channels": list(channels)})
            case e.MarketingOptedIn(channels=channels):
                history.append({"act": "opted_in", "at": at, "channels": list(channels)})
            case e.ConsentWithdrawalRequested(filed_on=filed_on, effective_on=effective_on):
                history.append(
                    {"act": "withdrawal_requested", "at": at, "filed_on": filed_on, "effective_on": effective_on}
                )
            case e.ConsentWithdrawalRefused(reason=reason, legal_basis=legal_basis):
                history.append({"act": "withdrawal_refused", "at": at, "reason": reason, "legal_basis": legal_basis})
            case e.ConsentWithdrawn(effective_on=effective_on):
                history.append({"act": "withdrawn", "at": at, "effective_on": effective_on})
            case e.ConsentExpired(valid_until=valid_until):
                history.append({"act": "expired", "at": at, "valid_until": valid_until})
    return history


def _blocks(subject: DataSubject, events: list[e.SubjectEvent]) -> dict[str, Any]:
    history = [
        {
            "act": "blocked" if isinstance(event, e.PersonalDataBlocked) else "unblocked",
            "at": _when(event),
            "categories": list(event.categories),
            "ground": event.ground,
        }
        for event in events
        if isinstance(event, e.PersonalDataBlocked | e.PersonalDataUnblocked)
    ]
    return {"blocked_now": sorted(c.value for c in subject.blocks), "history": history}


def _cards(events: list[e.SubjectEvent]) -> list[dict[str, Any]]:
    """The subject's loyalty cards (opaque references) with what happened to each while it was theirs."""
    names = {str(event.event_id): type(event).__name__ for event in events}
    cards: dict[str, dict[str, Any]] = {}
    for event in events:
        if isinstance(event, e.LoyaltyCardLinked):
            cards[event.card_ref] = {"card_ref": event.card_ref, "status": "active", "history": []}
            cards[event.card_ref]["history"].append(
                {"act": "linked", "at": _when(event), "cause": None, "reason": None}
            )
        elif isinstance(event, e.LoyaltyCardBlocked | e.LoyaltyCardUnblocked) and event.card_ref in cards:
            card = cards[event.card_ref]
            if isinstance(event, e.LoyaltyCardBlocked):
                card["status"] = "blocked"
                step = {"act": "blocked", "cause": names.get(event.cause_event_id), "reason": event.reason}
            else:
                card["status"] = "active"
                step = {"act": "unblocked", "cause": None, "reason": event.reason}
            card["history"].append({**step, "at": _when(event)})
    return list(cards.values())


def _requests(events: list[e.SubjectEvent]) -> list[dict[str, Any]]:
    """The subject's requests (Өтініш), each with its deadline and how it ended."""
    requests: list[dict[str, Any]] = []
    latest: dict[str, dict[str, Any]] = {}  # a request id may be used again once its request is closed
    for event in events:
        if isinstance(event, e.SubjectRequestReceived):
            latest[event.request_id] = {
                "request_id": event.request_id, "kind": event.kind, "received_on": event.received_on,
                "due_on": event.due_on, "by_representative": event.by_representative, "status": "open",
                "answered_on": None, "response_ref": None, "rejection_reason": None,
            }  # fmt: skip
            requests.append(latest[event.request_id])
        elif isinstance(event, e.SubjectRequestAnswered) and event.request_id in latest:
            answered = {"status": "answered", "answered_on": event.answered_on, "response_ref": event.response_ref}
            latest[event.request_id].update(answered)
        elif isinstance(event, e.SubjectRequestRejected) and event.request_id in latest:
            latest[event.request_id].update({"status": "rejected", "rejection_reason": event.reason})
    return requests
