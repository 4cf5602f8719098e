"""Consent rules: grant, marketing opt-out and opt-in, withdrawal and its refusal, expiry."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from services.ledger.domain import events as e
from services.ledger.domain.errors import InvalidCommandError, RuleViolationError
from services.ledger.domain.state import Context, SubjectState, WorkingDays, days_late
from services.ledger.domain.terms import ConsentTerms
from services.ledger.domain.vocabulary import Channel, ConsentStatus, Purpose, WithdrawalRefusalReason

WITHDRAWAL_NOTICE_WORKING_DAYS = 10  # policy §5: filed at least 10 working days before withdrawal


class ConsentRules(SubjectState):
    """What a subject may do with their consent, and when."""

    def grant_consent(self, ctx: Context, terms: ConsentTerms, pii: str | None) -> str:
        """Record consent on a form; a new grant replaces the consent in force (re-consent included)."""
        self.check_not_erased()
        if self.consent_status is ConsentStatus.WITHDRAWAL_PENDING:
            raise RuleViolationError(
                "consent_withdrawal_pending", "a withdrawal is pending: refuse or complete it first"
            )
        return self._record(e.ConsentGranted, ctx, pii, terms=terms.to_payload())

    def opt_out_of_marketing(self, ctx: Context, channels: Iterable[Channel]) -> str:
        """Stop marketing over `channels` at once; allowed whatever the consent's state."""
        self.check_not_erased()
        wanted = set(channels)
        if not wanted:
            raise InvalidCommandError("channels", "name at least one channel")
        new = sorted(c.value for c in wanted - self.opted_out)
        if not new:
            raise RuleViolationError("already_opted_out", "marketing over these channels is already stopped")
        return self._record(e.MarketingOptedOut, ctx, channels=new)

    def opt_in_to_marketing(self, ctx: Context, channels: Iterable[Channel]) -> str:
        """Resume marketing over `channels` the consent in force allows."""
        self.check_not_erased()
        terms = self.check_consent_active()
        wanted = set(channels)
        if Purpose.MARKETING not in terms.purposes:
            raise RuleViolationError("marketing_not_consented", "the consent in force has no marketing purpose")
        uncovered = sorted(c.value for c in wanted - terms.marketing_channels)
        if uncovered:
            raise RuleViolationError("channel_not_consented", f"the consent does not cover {', '.join(uncovered)}")
        resumed = sorted(c.value for c in wanted & self.opted_out)
        if not resumed:
            raise RuleViolationError("not_opted_out", "marketing over these channels is not stopped")
        return self._record(e.MarketingOptedIn, ctx, channels=resumed)

    def request_withdrawal(
        self,
        ctx: Context,
        filed_on: date,
        calendar: WorkingDays,
        requested_effective_on: date | None = None,
        unfulfilled_obligations: int = 0,
    ) -> str:
        """File a withdrawal: takes effect no earlier than 10 working days after filing; marketing stops now.

        With unfulfilled obligations (e.g. open orders) withdrawal would contradict law and is refused.
        An application entered late keeps its true `filed_on`, so its day may already have come; the
        event says how many days late it was entered. One filed before the consent in force was given
        withdrew an earlier consent, not this one, and is refused.
        """
        self.check_not_erased()
        consent_id = self.consent_id
        self.check_consent_active()
        if self.consent_given_on is not None and filed_on < self.consent_given_on:
            raise RuleViolationError(
                "filed_before_consent",
                f"filed on {filed_on}, before the consent in force was given on {self.consent_given_on}",
            )
        if unfulfilled_obligations > 0:
            return self._record(
                e.ConsentWithdrawalRefused, ctx,
                reason=WithdrawalRefusalReason.UNFULFILLED_OBLIGATION.value,
                legal_basis=f"{unfulfilled_obligations} unfulfilled obligation(s) under a contract with the subject",
                withdrawal_request_id=None,
            )  # fmt: skip
        earliest = calendar.add_working_days(filed_on, WITHDRAWAL_NOTICE_WORKING_DAYS)
        effective_on = max(earliest, requested_effective_on or earliest)
        return self._record(
            e.ConsentWithdrawalRequested, ctx,
            consent_id=consent_id, filed_on=filed_on.isoformat(), effective_on=effective_on.isoformat(),
            requested_effective_on=requested_effective_on.isoformat() if requested_effective_on else None,
            entered_late_by_days=days_late(ctx, filed_on, "filed_on"),
        )  # fmt: skip

    def refuse_withdrawal(self, ctx: Context, reason: WithdrawalRefusalReason, legal_basis: str) -> str:
        """Refuse a pending withdrawal that would contradict law, naming the legal basis."""
        self.check_not_erased()
        if self.pending_withdrawal is None:
            raise RuleViolationError("no_withdrawal_pending", "there is no pending withdrawal to refuse")
        return self._record(
            e.ConsentWithdrawalRefused, ctx,
            reason=reason.value, legal_basis=legal_basis, withdrawal_request_id=self.pending_withdrawal[0],
        )  # fmt: skip

    def complete_withdrawal(self, ctx: Context, today: date) -> str:
        """Let a pending withdrawal take effect once its day has come (the scheduler calls this)."""
        self.check_not_erased()
        if self.pending_withdrawal is None:
            raise RuleViolationError("no_withdrawal_pending", "there is no pending withdrawal")
        request_id, effective_on = self.pending_withdrawal
        if today < effective_on:
            raise RuleViolationError("withdrawal_not_due", f"the withdrawal takes effect on {effective_on}")
        return self._record(
            e.ConsentWithdrawn, ctx,
            consent_id=self.consent_id, withdrawal_request_id=request_id, effective_on=effective_on.isoformat(),
        )  # fmt: skip

    def expire_consent(self, ctx: Context, today: date) -> str:
        """End a consent whose term has run out: the day after `valid_until`, its last day."""
        self.check_not_erased()
        terms = self.check_consent_active(allow_pending=True)
        if terms.valid_until is None or today <= terms.valid_until:
            raise RuleViolationError(
                "consent_not_expired", f"the consent runs until {terms.valid_until or 'the end of the programme'}"
            )
        return self._record(
            e.ConsentExpired, ctx, consent_id=self.consent_id, valid_until=terms.valid_until.isoformat()
        )
