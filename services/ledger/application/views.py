"""Plain views of a subject's state for API answers: no personal data, only what was decided."""

from __future__ import annotations

from typing import Any

from services.ledger.domain.subject import DataSubject


def subject_view(subject: DataSubject | None) -> dict[str, Any]:
    """The subject's consent state as JSON-ready data."""
    if subject is None:
        return {"consent_status": "none"}
    terms = subject.terms
    return {
        "version": subject.version,
        "consent_status": subject.consent_status.value,
        "consent_id": subject.consent_id,
        "purposes": sorted(p.value for p in terms.purposes) if terms else [],
        "categories": sorted(c.value for c in terms.categories) if terms else [],
        "marketing_channels": sorted(ch.value for ch in terms.marketing_channels) if terms else [],
        "opted_out": sorted(ch.value for ch in subject.opted_out),
        "withdrawal_effective_on": subject.pending_withdrawal[1].isoformat() if subject.pending_withdrawal else None,
        "blocked": {category.value: event_id for category, event_id in subject.blocks.items()},
        "erased_by": subject.erased_by,
        "cards": {ref: {"blocked_by": blocked} for ref, blocked in subject.cards.items()},
        "open_requests": {request: due.isoformat() for request, due in subject.open_requests.items()},
        "last_hash": subject.last_hash,
    }
