"""Loyalty cards, subject requests (Өтініш) and subscribers' enforcement confirmations."""

from __future__ import annotations

from datetime import date

from services.ledger.domain import events as e
from services.ledger.domain.errors import RuleViolationError
from services.ledger.domain.state import Context, SubjectState, WorkingDays, days_late
from services.ledger.domain.vocabulary import Purpose, RequestKind

REQUEST_ANSWER_WORKING_DAYS = 3  # policy §5: answered within three working days


class ServiceRules(SubjectState):
    """The loyalty card's life cycle, requests and their deadlines, enforcement confirmations."""

    def link_card(self, ctx: Context, card_ref: str) -> str:
        """Link a loyalty card; participation needs consent for the loyalty purpose."""
        self.check_not_erased()
        terms = self.check_consent_active()
        if Purpose.LOYALTY not in terms.purposes:
            raise RuleViolationError("loyalty_not_consented", "the consent in force has no loyalty purpose")
        if card_ref in self.cards:
            raise RuleViolationError("card_already_linked", "this card is already linked to the subject")
        return self._record(e.LoyaltyCardLinked, ctx, card_ref=card_ref)

    def block_card(self, ctx: Context, card_ref: str, cause_event_id: str, reason: str) -> str:
        """Block a linked card, naming the event that caused it (e.g. the consent's withdrawal)."""
        self.check_card_linked(card_ref)
        if not self.has_recorded(cause_event_id):
            raise RuleViolationError("unknown_cause", f"event {cause_event_id} is not one of this subject's events")
        if self.cards[card_ref] is not None:
            raise RuleViolationError(
                "card_already_blocked", f"the card is already blocked (event {self.cards[card_ref]})"
            )
        return self._record(e.LoyaltyCardBlocked, ctx, card_ref=card_ref, cause_event_id=cause_event_id, reason=reason)

    def unblock_card(self, ctx: Context, card_ref: str, reason: str) -> str:
        """Unblock a card; only with consent for the loyalty purpose in force again."""
        self.check_not_erased()
        self.check_card_linked(card_ref)
        if self.cards[card_ref] is None:
            raise RuleViolationError("card_not_blocked", "the card is not blocked")
        terms = self.check_consent_active()
        if Purpose.LOYALTY not in terms.purposes:
            raise RuleViolationError("loyalty_not_consented", "the consent in force has no loyalty purpose")
        return self._record(e.LoyaltyCardUnblocked, ctx, card_ref=card_ref, reason=reason)

    def check_card_linked(self, card_ref: str) -> None:
        if card_ref not in self.cards:
            raise RuleViolationError("card_not_linked", "no such card is linked to the subject")

    def receive_request(
        self,
        ctx: Context,
        request_id: str,
        kind: RequestKind,
        received_on: date,
        *,
        calendar: WorkingDays,
        pii: str | None,
        by_representative: bool = False,
    ) -> str:
        """Register a request; it is due three working days after receipt on the Kazakh calendar.

        A request entered late keeps its true `received_on` (and so its due day); the event says how
        many days late it was entered.
        """
        if request_id in self.open_requests:
            raise RuleViolationError("request_already_open", f"request {request_id} is already open")
        due_on = calendar.add_working_days(received_on, REQUEST_ANSWER_WORKING_DAYS)
        return self._record(
            e.SubjectRequestReceived, ctx, pii,
            request_id=request_id, kind=kind.value, received_on=received_on.isoformat(), due_on=due_on.isoformat(),
            by_representative=by_representative, entered_late_by_days=days_late(ctx, received_on, "received_on"),
        )  # fmt: skip

    def answer_request(self, ctx: Context, request_id: str, answered_on: date, response_ref: str | None) -> str:
        """Record the answer to an open request (e.g. a link to the access report sent)."""
        self.check_request_open(request_id)
        return self._record(
            e.SubjectRequestAnswered, ctx,
            request_id=request_id, answered_on=answered_on.isoformat(), response_ref=response_ref,
        )  # fmt: skip

    def reject_request(self, ctx: Context, request_id: str, reason: str) -> str:
        """Reject an open request, with the reason."""
        self.check_request_open(request_id)
        return self._record(e.SubjectRequestRejected, ctx, request_id=request_id, reason=reason)

    def check_request_open(self, request_id: str) -> None:
        if request_id not in self.open_requests:
            raise RuleViolationError("request_not_open", f"request {request_id} is not open")

    def confirm_enforcement(self, ctx: Context, system: str, enforced_event_id: str, action: str) -> str:
        """Record that a subscribing system acted on one of the subject's events; each system confirms an event once."""
        if not self.has_recorded(enforced_event_id):  # the id comes from outside the ledger: not repeated back
            raise RuleViolationError("unknown_enforced_event", "the event confirmed is not one of this subject's")
        if (system, enforced_event_id) in self.enforcements:
            raise RuleViolationError("already_confirmed", f"{system} already confirmed event {enforced_event_id}")
        return self._record(
            e.EnforcementConfirmed, ctx, system=system, enforced_event_id=enforced_event_id, action=action
        )
