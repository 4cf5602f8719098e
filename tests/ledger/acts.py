"""Given-steps on the ledger application: record one consent act with domain arguments, as a test sets the scene.

Production runs commands of the contract through services.ledger.application.commands.Commands (the
registry's use cases); these steps skip the contract's parsing and date checks to give tests any
history they need, through the same `Ledger.execute` (idempotency, the hash chain, encryption). An
erasure then runs the registry's own settle step: destroying the key is the registry's business.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from uuid import UUID

from schemas import commands as c
from services.ledger.adapters.store import eventsourcing_env
from services.ledger.application.commands import Commands
from services.ledger.application.identity import SubjectIds
from services.ledger.application.ledger import Ledger, Outcome
from services.ledger.application.registry import REGISTRY
from services.ledger.domain.state import Context
from services.ledger.domain.terms import ConsentTerms, Controller
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

CONTROLLER = Controller("ESPERANCE-RK LLP", "220240037922")
SUBJECT_IDS = SubjectIds(b"synthetic identity secret for the tests only")


class ScenarioLedger(Ledger):
    """The Ledger with one given-step per consent act."""

    @classmethod
    def beside(cls, ledger: Ledger, store_url: str) -> ScenarioLedger:
        """Another instance on `ledger`'s store, calendar and cipher, as a second process would be."""
        return cls(eventsourcing_env(store_url), calendar=ledger.calendar, cipher=ledger.cipher)

    def commands(self) -> Commands:
        """The production command runner on this ledger."""
        return Commands(self, CONTROLLER, SUBJECT_IDS)

    def grant_consent(
        self, subject: UUID, ctx: Context, terms: ConsentTerms, pii: Mapping[str, object] | None
    ) -> Outcome:
        return self.execute(subject, ctx, lambda s: s.grant_consent(ctx, terms, self.encrypt(s, pii)))

    def opt_out_of_marketing(self, subject: UUID, ctx: Context, channels: Iterable[Channel]) -> Outcome:
        return self.execute(subject, ctx, lambda s: s.opt_out_of_marketing(ctx, channels))

    def opt_in_to_marketing(self, subject: UUID, ctx: Context, channels: Iterable[Channel]) -> Outcome:
        return self.execute(subject, ctx, lambda s: s.opt_in_to_marketing(ctx, channels))

    def request_withdrawal(
        self,
        subject: UUID,
        ctx: Context,
        filed_on: date,
        requested_effective_on: date | None = None,
        unfulfilled_obligations: int = 0,
    ) -> Outcome:
        return self.execute(
            subject,
            ctx,
            lambda s: s.request_withdrawal(
                ctx, filed_on, self.calendar, requested_effective_on, unfulfilled_obligations
            ),
        )

    def refuse_withdrawal(
        self, subject: UUID, ctx: Context, reason: WithdrawalRefusalReason, legal_basis: str
    ) -> Outcome:
        return self.execute(subject, ctx, lambda s: s.refuse_withdrawal(ctx, reason, legal_basis))

    def complete_withdrawal(self, subject: UUID, ctx: Context, today: date) -> Outcome:
        return self.execute(subject, ctx, lambda s: s.complete_withdrawal(ctx, today))

    def expire_consent(self, subject: UUID, ctx: Context, today: date) -> Outcome:
        return self.execute(subject, ctx, lambda s: s.expire_consent(ctx, today))

    def block_data(
        self, subject: UUID, ctx: Context, categories: Iterable[DataCategory], ground: BlockGround
    ) -> Outcome:
        return self.execute(subject, ctx, lambda s: s.block_data(ctx, categories, ground))

    def unblock_data(
        self, subject: UUID, ctx: Context, categories: Iterable[DataCategory], ground: UnblockGround
    ) -> Outcome:
        return self.execute(subject, ctx, lambda s: s.unblock_data(ctx, categories, ground))

    def rectify_data(
        self, subject: UUID, ctx: Context, categories: Iterable[DataCategory], pii: Mapping[str, object]
    ) -> Outcome:
        return self.execute(subject, ctx, lambda s: s.rectify_data(ctx, categories, self.encrypt(s, pii) or ""))

    def transfer_data(
        self,
        subject: UUID,
        ctx: Context,
        *,
        recipient: str,
        country: str,
        categories: Iterable[DataCategory],
        purpose: Purpose,
    ) -> Outcome:
        return self.execute(
            subject, ctx, lambda s: s.transfer_data(ctx, recipient, country.upper(), categories, purpose)
        )

    def erase_data(self, subject: UUID, ctx: Context, ground: ErasureGround, requested_by: str) -> Outcome:
        try:
            return self.execute(subject, ctx, lambda s: s.erase_data(ctx, ground, requested_by))
        finally:
            settle = REGISTRY.of(c.ErasePersonalData).settle
            assert settle is not None
            settle(self.commands(), subject)

    def link_card(self, subject: UUID, ctx: Context, card_ref: str) -> Outcome:
        return self.execute(subject, ctx, lambda s: s.link_card(ctx, card_ref))

    def block_card(self, subject: UUID, ctx: Context, card_ref: str, cause_event_id: str, reason: str) -> Outcome:
        return self.execute(subject, ctx, lambda s: s.block_card(ctx, card_ref, cause_event_id, reason))

    def unblock_card(self, subject: UUID, ctx: Context, card_ref: str, reason: str) -> Outcome:
        return self.execute(subject, ctx, lambda s: s.unblock_card(ctx, card_ref, reason))

    def receive_request(
        self,
        subject: UUID,
        ctx: Context,
        *,
        request_id: str,
        kind: RequestKind,
        received_on: date,
        pii: Mapping[str, object] | None,
        by_representative: bool = False,
    ) -> Outcome:
        return self.execute(
            subject,
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
        self, subject: UUID, ctx: Context, request_id: str, answered_on: date, response_ref: str | None
    ) -> Outcome:
        return self.execute(subject, ctx, lambda s: s.answer_request(ctx, request_id, answered_on, response_ref))

    def reject_request(self, subject: UUID, ctx: Context, request_id: str, reason: str) -> Outcome:
        return self.execute(subject, ctx, lambda s: s.reject_request(ctx, request_id, reason))

    def confirm_enforcement(
        self, subject: UUID, ctx: Context, system: str, enforced_event_id: str, action: str
    ) -> Outcome:
        return self.execute(subject, ctx, lambda s: s.confirm_enforcement(ctx, system, enforced_event_id, action))
