"""DataSubject: everything the ledger knows about one person's consent, and the rules for changing it.

Methods are the policy's verbs (grant_consent, request_withdrawal, block_data, ...); each checks
its rules against the subject's history and records a past-tense event, or raises
RuleViolationError naming the rule. Time, the actor and the calendar come in as arguments.
"""

from __future__ import annotations

from collections.abc import Iterable

from services.ledger.domain.consent_rules import ConsentRules
from services.ledger.domain.data_rules import DataRules
from services.ledger.domain.events import SubjectEvent
from services.ledger.domain.service_rules import ServiceRules
from services.ledger.domain.snapshot import SubjectSnapshot


class DataSubject(ConsentRules, DataRules, ServiceRules):
    """One data subject's consent history; its id is the subject's opaque UUID."""

    @classmethod
    def project(cls, subject: DataSubject | None, events: Iterable[SubjectEvent]) -> DataSubject | None:
        """Fold `events` into `subject`, a blank one before the first (the event store's projector function)."""
        for event in events:
            subject = event.mutate(subject if subject is not None else cls.blank(event.originator_id, event.timestamp))
        return subject


SubjectEvent.blank_subject = DataSubject.blank
DataSubject.Snapshot = SubjectSnapshot  # what Application.take_snapshot takes of a subject
