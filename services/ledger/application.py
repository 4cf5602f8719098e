"""The ledger's use cases: load the subject, decide, seal the hash chain, save — once per command id.

Every method takes the subject id and a Context (command id, actor, time); a command id seen
before returns the first outcome and records nothing new. A concurrent write to the same subject
is retried on fresh state; after the retries it surfaces as ConcurrentWriteError (HTTP 409).
Personal data is encrypted under the subject's key before the domain sees it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from itertools import takewhile
from typing import Any, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random

from schemas.envelope import event_hash
from services.ledger.contract import to_envelope
from services.ledger.domain.events import SubjectEvent, event_id_of
from services.ledger.domain.state import Context, WorkingDays
from services.ledger.domain.subject import DataSubject
from services.ledger.domain.terms import ConsentTerms
from services.ledger.domain.vocabulary import (
    BlockGround,
    Channel,
    DataCategory,
    ErasureGround,
    Purpose,
    RequestKind,
    UnblockGround,
    WithdrawalRefusalReason,
)
from services.ledger.pii.cipher import PiiCipher

CONFLICT_RETRIES = 5


class ConcurrentWriteError(Exception):
    """Other writers kept changing the subject while this command was decided; nothing was recorded."""


@dataclass(frozen=True)
class Outcome:
    """What a command recorded: its event ids, and whether this was a repeat of an earlier command."""

    subject_id: UUID
    event_ids: list[str]
    replayed: bool = False


class Ledger(Application[UUID]):
    """The consent ledger: one method per consent act of the policy."""

    def __init__(self, env: Mapping[str, str], *, calendar: WorkingDays, cipher: PiiCipher) -> None:
        super().__init__(env=env)
        self.calendar = calendar
        self.cipher = cipher

    # --- mechanics ----------------------------------------------------------------------------

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """Seal each subject's new events into its hash chain, then store them atomically."""
        for obj in objs:
            if isinstance(obj, DataSubject):
                seal(obj)
        return super().save(*objs, **kwargs)

    def load(self, subject_id: UUID, now: datetime) -> DataSubject:
        """The subject as recorded, or a blank one if the ledger knows nothing of it yet."""
        try:
            subject: DataSubject = self.repository.get(subject_id)
        except AggregateNotFoundError:
            subject = DataSubject.blank(subject_id, now)
        return subject

    def execute(self, subject_id: UUID, ctx: Context, decide: Callable[[DataSubject], object]) -> Outcome:
        """Run `decide` on the subject's current state and save what it recorded, once per command id."""
        retrying = Retrying(
            retry=retry_if_exception_type(IntegrityError),
            stop=stop_after_attempt(CONFLICT_RETRIES),
            wait=wait_random(0, 0.05),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    subject = self.load(subject_id, ctx.now)
                    prior = subject.outcome_of(ctx.command_id, ctx.command_digest)
                    if prior is not None:
                        return Outcome(subject_id, list(prior), replayed=True)
                    first = subject.version + 1
                    decide(subject)
                    self.save(subject)
                    ids = [str(event_id_of(subject_id, v)) for v in range(first, subject.version + 1)]
                    return Outcome(subject_id, ids)
        except IntegrityError as error:
            raise ConcurrentWriteError(f"subject {subject_id} changed {CONFLICT_RETRIES} times meanwhile") from error
        raise AssertionError("unreachable: tenacity either returns or re-raises")  # pragma: no cover

    def encrypt(self, subject: DataSubject, pii: Mapping[str, object] | None) -> str | None:
        """Encrypt personal data under the subject's key; an erased subject is refused first."""
        if not pii:
            return None
        subject.check_not_erased()
        return self.cipher.encrypt(str(subject.id), pii)

    # --- consent ------------------------------------------------------------------------------

    def grant_consent(
        self, subject_id: UUID, ctx: Context, terms: ConsentTerms, pii: Mapping[str, object] | None
    ) -> Outcome:
        """ConsentGranted: consent on a form, with its proof; replaces the consent in force."""
        return self.execute(subject_id, ctx, lambda s: s.grant_consent(ctx, terms, self.encrypt(s, pii)))

    def opt_out_of_marketing(self, subject_id: UUID, ctx: Context, channels: Iterable[Channel]) -> Outcome:
        """MarketingOptedOut, at once."""
        return self.execute(subject_id, ctx, lambda s: s.opt_out_of_marketing(ctx, channels))

    def opt_in_to_marketing(self, subject_id: UUID, ctx: Context, channels: Iterable[Channel]) -> Outcome:
        """MarketingOptedIn, within the consent in force."""
        return self.execute(subject_id, ctx, lambda s: s.opt_in_to_marketing(ctx, channels))

    def request_withdrawal(
        self,
        subject_id: UUID,
        ctx: Context,
        filed_on: date,
        requested_effective_on: date | None = None,
        unfulfilled_obligations: int = 0,
    ) -> Outcome:
        """ConsentWithdrawalRequested (or Refused when withdrawal would contradict law)."""
        return self.execute(
            subject_id,
            ctx,
            lambda s: s.request_withdrawal(
                ctx, filed_on, self.calendar, requested_effective_on, unfulfilled_obligations
            ),
        )

    def refuse_withdrawal(
        self, subject_id: UUID, ctx: Context, reason: WithdrawalRefusalReason, legal_basis: str
    ) -> Outcome:
        """ConsentWithdrawalRefused for a pending withdrawal."""
        return self.execute(subject_id, ctx, lambda s: s.refuse_withdrawal(ctx, reason, legal_basis))

    def complete_withdrawal(self, subject_id: UUID, ctx: Context, today: date) -> Outcome:
        """ConsentWithdrawn once the day has come."""
        return self.execute(subject_id, ctx, lambda s: s.complete_withdrawal(ctx, today))

    def expire_consent(self, subject_id: UUID, ctx: Context, today: date) -> Outcome:
        """ConsentExpired once the term has run out."""
        return self.execute(subject_id, ctx, lambda s: s.expire_consent(ctx, today))

    # --- personal data ------------------------------------------------------------------------

    def block_data(
        self, subject_id: UUID, ctx: Context, categories: Iterable[DataCategory], ground: BlockGround
    ) -> Outcome:
        """PersonalDataBlocked."""
        return self.execute(subject_id, ctx, lambda s: s.block_data(ctx, categories, ground))

    def unblock_data(
        self, subject_id: UUID, ctx: Context, categories: Iterable[DataCategory], ground: UnblockGround
    ) -> Outcome:
        """PersonalDataUnblocked."""
        return self.execute(subject_id, ctx, lambda s: s.unblock_data(ctx, categories, ground))

    def rectify_data(
        self, subject_id: UUID, ctx: Context, categories: Iterable[DataCategory], pii: Mapping[str, object]
    ) -> Outcome:
        """PersonalDataRectified; the new values are encrypted."""
        return self.execute(subject_id, ctx, lambda s: s.rectify_data(ctx, categories, self.encrypt(s, pii) or ""))

    def transfer_data(
        self,
        subject_id: UUID,
        ctx: Context,
        *,
        recipient: str,
        country: str,
        categories: Iterable[DataCategory],
        purpose: Purpose,
    ) -> Outcome:
        """PersonalDataTransferred, or a refusal naming what the consent does not cover."""
        return self.execute(
            subject_id, ctx, lambda s: s.transfer_data(ctx, recipient, country.upper(), categories, purpose)
        )

    def erase_data(self, subject_id: UUID, ctx: Context, ground: ErasureGround, requested_by: str) -> Outcome:
        """PersonalDataErased, then the subject's key is destroyed: also on a repeat, or when already erased.

        So a crash between storing the event and destroying the key is mended by erasing again.
        """
        try:
            return self.execute(subject_id, ctx, lambda s: s.erase_data(ctx, ground, requested_by))
        finally:
            if self.load(subject_id, ctx.now).erased_by is not None:
                self.cipher.erase(str(subject_id))

    # --- cards, requests, enforcement ---------------------------------------------------------

    def link_card(self, subject_id: UUID, ctx: Context, card_ref: str) -> Outcome:
        """LoyaltyCardLinked."""
        return self.execute(subject_id, ctx, lambda s: s.link_card(ctx, card_ref))

    def block_card(self, subject_id: UUID, ctx: Context, card_ref: str, cause_event_id: str, reason: str) -> Outcome:
        """LoyaltyCardBlocked, naming its cause."""
        return self.execute(subject_id, ctx, lambda s: s.block_card(ctx, card_ref, cause_event_id, reason))

    def unblock_card(self, subject_id: UUID, ctx: Context, card_ref: str, reason: str) -> Outcome:
        """LoyaltyCardUnblocked."""
        return self.execute(subject_id, ctx, lambda s: s.unblock_card(ctx, card_ref, reason))

    def receive_request(
        self,
        subject_id: UUID,
        ctx: Context,
        *,
        request_id: str,
        kind: RequestKind,
        received_on: date,
        pii: Mapping[str, object] | None,
        by_representative: bool = False,
    ) -> Outcome:
        """SubjectRequestReceived, due three working days later; ID document fields are encrypted."""
        return self.execute(
            subject_id,
            ctx,
            lambda s: s.receive_request(
                ctx,
                request_id,
                kind,
                received_on,
                calendar=self.calendar,
                pii=self.encrypt(s, pii),
                by_representative=by_representative,
            ),
        )

    def answer_request(
        self, subject_id: UUID, ctx: Context, request_id: str, answered_on: date, response_ref: str | None
    ) -> Outcome:
        """SubjectRequestAnswered."""
        return self.execute(subject_id, ctx, lambda s: s.answer_request(ctx, request_id, answered_on, response_ref))

    def reject_request(self, subject_id: UUID, ctx: Context, request_id: str, reason: str) -> Outcome:
        """SubjectRequestRejected."""
        return self.execute(subject_id, ctx, lambda s: s.reject_request(ctx, request_id, reason))

    def confirm_enforcement(
        self, subject_id: UUID, ctx: Context, system: str, enforced_event_id: str, action: str
    ) -> Outcome:
        """EnforcementConfirmed from a subscriber's acknowledgement."""
        return self.execute(subject_id, ctx, lambda s: s.confirm_enforcement(ctx, system, enforced_event_id, action))

    # --- reading ------------------------------------------------------------------------------

    def history(self, subject_id: UUID, as_of: datetime | None = None) -> tuple[list[SubjectEvent], DataSubject | None]:
        """The subject's events recorded up to `as_of` (all if None) and its state as it stood then."""
        stored = cast("list[SubjectEvent]", list(self.repository.event_store.get(subject_id)))
        # A prefix: a subject's events are recorded in increasing time (DataSubject._record).
        events = list(takewhile(lambda event: as_of is None or event.timestamp <= as_of, stored))
        state: Any = None
        for event in events:
            state = event.mutate(state)
        return events, state


def seal(subject: DataSubject) -> None:
    """Link the subject's pending events into its hash chain: prev_hash, then hash over the envelope."""
    previous = subject.last_hash
    pending = cast("list[SubjectEvent]", subject.pending_events)
    for index, event in enumerate(pending):
        linked = type(event)(**{**vars(event), "prev_hash": previous})
        previous = event_hash(to_envelope(linked))
        pending[index] = type(event)(**{**vars(linked), "hash": previous})
    subject.last_hash = previous
