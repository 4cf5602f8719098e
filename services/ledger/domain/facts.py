"""What is known of a subject, as its events evolve it: the fields an event's `apply` reads and sets.

The events depend on this description only, never on the aggregate (DataSubject) that folds them.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol

from services.ledger.domain.vocabulary import Channel, ConsentStatus, DataCategory


class SubjectFacts(Protocol):
    """A subject's state as events evolve it (SubjectState holds it)."""

    consent_status: ConsentStatus
    consent_id: str | None
    consent_given_on: date | None  # the day (in Kazakhstan) the consent in force was given
    terms_payload: dict[str, Any] | None  # ConsentTerms.to_payload() of the consent last given
    pending_withdrawal: tuple[str, date] | None  # (request event id, effective_on)
    opted_out: set[Channel]
    blocks: dict[DataCategory, str]  # category -> blocking event id
    erased_by: str | None
    cards: dict[str, str | None]  # card ref -> blocking event id or None
    open_requests: dict[str, date]  # request id -> due on
    enforcements: set[tuple[str, str]]
    last_hash: str | None
