"""The ledger's domain events: one class per fact of the event catalogue, each evolving a DataSubject.

Every event carries who did it (`actor`), when it happened in the world (`occurred_at`), the
command that caused it (`command_id`, for idempotency), correlation and causation ids, the
subject's personal data encrypted under the subject's key (`pii`, or None), and the hash chain
(`prev_hash`, `hash`), filled in by the application when the event is recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from services.ledger.domain.calendar import kazakh_day
from services.ledger.domain.facts import SubjectFacts
from services.ledger.domain.vocabulary import Channel, ConsentStatus, DataCategory

EVENT_ID_NAMESPACE = uuid5(NAMESPACE_URL, "urn:kz.esperance.consent:event")


def event_id_of(subject_id: UUID, version: int) -> UUID:
    """The event id of a subject's `version`-th event: the same in the store, on Kafka and in exports."""
    return uuid5(EVENT_ID_NAMESPACE, f"{subject_id}/{version}")


class SubjectEvent(Aggregate.Event):
    """Common fields of every fact recorded about a data subject."""

    command_id: str
    actor: str
    occurred_at: str
    correlation_id: str | None
    causation_id: str | None
    command_digest: str | None
    pii: str | None
    prev_hash: str | None
    hash: str | None
    # What a first event starts from: set by the aggregate's module, so events never import the aggregate.
    blank_subject: ClassVar[Callable[[UUID, datetime], Any] | None] = None

    @property
    def event_id(self) -> UUID:
        """This event's id, derived from its subject and version."""
        return event_id_of(self.originator_id, self.originator_version)

    def mutate(self, aggregate: Any) -> Any:
        """Evolve `aggregate`; a subject's first event starts from a blank subject (the aggregate's `blank`)."""
        if aggregate is None:
            if SubjectEvent.blank_subject is None:
                raise RuntimeError("import services.ledger.domain.subject: it is what the events evolve")
            aggregate = SubjectEvent.blank_subject(self.originator_id, self.timestamp)
        subject: Any = super().mutate(aggregate)
        if self.hash is not None:
            subject.last_hash = self.hash
        return subject


class ConsentGranted(SubjectEvent):
    """A subject (or representative) consented on a form; `terms` is ConsentTerms.to_payload()."""

    terms: dict[str, Any]

    def apply(self, subject: SubjectFacts) -> None:
        subject.terms_payload = self.terms  # read into ConsentTerms only when a rule asks (SubjectState.terms)
        subject.consent_id = str(self.event_id)
        subject.consent_given_on = kazakh_day(datetime.fromisoformat(self.occurred_at))
        subject.consent_status = ConsentStatus.ACTIVE
        subject.pending_withdrawal = None
        # Opt-outs survive a new consent: marketing stopped on demand resumes only by an explicit opt-in.


class MarketingOptedOut(SubjectEvent):
    """Marketing stopped over these channels, at once."""

    channels: list[str]

    def apply(self, subject: SubjectFacts) -> None:
        subject.opted_out |= {Channel(c) for c in self.channels}


class MarketingOptedIn(SubjectEvent):
    """Marketing resumed over these channels."""

    channels: list[str]

    def apply(self, subject: SubjectFacts) -> None:
        subject.opted_out -= {Channel(c) for c in self.channels}


class ConsentWithdrawalRequested(SubjectEvent):
    """A written withdrawal application was filed; it takes effect on `effective_on`; marketing stops now.

    `entered_late_by_days`: days from `filed_on` to the day the ledger recorded it (None on events
    recorded before the field existed, which keep their stored form so their hashes hold).
    """

    consent_id: str
    filed_on: str
    effective_on: str
    requested_effective_on: str | None
    entered_late_by_days: int | None = None

    def apply(self, subject: SubjectFacts) -> None:
        subject.consent_status = ConsentStatus.WITHDRAWAL_PENDING
        subject.pending_withdrawal = (str(self.event_id), date.fromisoformat(self.effective_on))


class ConsentWithdrawalRefused(SubjectEvent):
    """Withdrawal would contradict law; `reason` and `legal_basis` say why."""

    reason: str
    legal_basis: str
    withdrawal_request_id: str | None

    def apply(self, subject: SubjectFacts) -> None:
        if subject.consent_status is ConsentStatus.WITHDRAWAL_PENDING:
            subject.consent_status = ConsentStatus.ACTIVE
        subject.pending_withdrawal = None


class ConsentWithdrawn(SubjectEvent):
    """The withdrawal took effect: loyalty participation ends; the card cascade follows."""

    consent_id: str
    withdrawal_request_id: str
    effective_on: str

    def apply(self, subject: SubjectFacts) -> None:
        subject.consent_status = ConsentStatus.WITHDRAWN
        subject.pending_withdrawal = None


class ConsentExpired(SubjectEvent):
    """The consent's term ended."""

    consent_id: str
    valid_until: str

    def apply(self, subject: SubjectFacts) -> None:
        subject.consent_status = ConsentStatus.EXPIRED
        subject.pending_withdrawal = None


class PersonalDataBlocked(SubjectEvent):
    """Processing of these categories is blocked on `ground`, decided by `decided_by`."""

    categories: list[str]
    ground: str
    decided_by: str

    def apply(self, subject: SubjectFacts) -> None:
        subject.blocks |= {DataCategory(c): str(self.event_id) for c in self.categories}


class PersonalDataUnblocked(SubjectEvent):
    """The block on these categories ended on `ground`."""

    categories: list[str]
    ground: str
    decided_by: str

    def apply(self, subject: SubjectFacts) -> None:
        for category in self.categories:
            subject.blocks.pop(DataCategory(category), None)


class PersonalDataRectified(SubjectEvent):
    """These categories were clarified or updated; the new values are only inside `pii`."""

    categories: list[str]


class PersonalDataTransferred(SubjectEvent):
    """Data handed to a third party (abroad when `country` is not KZ) under the consent in force."""

    recipient: str
    country: str
    categories: list[str]
    purpose: str
    consent_id: str


class PersonalDataErased(SubjectEvent):
    """The data was destroyed on one of the six grounds; the subject's key is destroyed with it."""

    ground: str
    requested_by: str

    def apply(self, subject: SubjectFacts) -> None:
        subject.erased_by = str(self.event_id)


class LoyaltyCardLinked(SubjectEvent):
    """A loyalty card (an opaque reference, never the number) was linked to the subject."""

    card_ref: str

    def apply(self, subject: SubjectFacts) -> None:
        subject.cards[self.card_ref] = None


class LoyaltyCardBlocked(SubjectEvent):
    """The card was blocked; `cause_event_id` names the event that caused it (e.g. the withdrawal)."""

    card_ref: str
    cause_event_id: str
    reason: str

    def apply(self, subject: SubjectFacts) -> None:
        subject.cards[self.card_ref] = str(self.event_id)


class LoyaltyCardUnblocked(SubjectEvent):
    """The card was unblocked (e.g. after re-consent)."""

    card_ref: str
    reason: str

    def apply(self, subject: SubjectFacts) -> None:
        subject.cards[self.card_ref] = None


class SubjectRequestReceived(SubjectEvent):
    """A request (Өтініш) was received; it must be answered by `due_on`; ID document fields are in `pii`.

    `entered_late_by_days`: days from `received_on` to the day the ledger recorded it (None on older events).
    """

    request_id: str
    kind: str
    received_on: str
    due_on: str
    by_representative: bool
    entered_late_by_days: int | None = None

    def apply(self, subject: SubjectFacts) -> None:
        subject.open_requests[self.request_id] = date.fromisoformat(self.due_on)


class SubjectRequestAnswered(SubjectEvent):
    """The request was answered; `response_ref` points at what was sent (e.g. the access report)."""

    request_id: str
    answered_on: str
    response_ref: str | None

    def apply(self, subject: SubjectFacts) -> None:
        subject.open_requests.pop(self.request_id, None)


class SubjectRequestRejected(SubjectEvent):
    """The request was rejected, with the reason."""

    request_id: str
    reason: str

    def apply(self, subject: SubjectFacts) -> None:
        subject.open_requests.pop(self.request_id, None)


class EnforcementConfirmed(SubjectEvent):
    """A subscribing system confirmed it acted on an event (card blocked, data erased, suppression applied)."""

    system: str
    enforced_event_id: str
    action: str

    def apply(self, subject: SubjectFacts) -> None:
        subject.enforcements.add((self.system, self.enforced_event_id))
