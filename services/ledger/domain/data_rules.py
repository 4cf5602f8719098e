"""Data-rights rules: block and unblock, rectification, transfer to third parties, erasure."""

from __future__ import annotations

import re
from collections.abc import Iterable

from services.ledger.domain import events as e
from services.ledger.domain.errors import InvalidCommandError, RuleViolationError
from services.ledger.domain.state import Context, SubjectState
from services.ledger.domain.vocabulary import (
    BlockGround,
    ConsentStatus,
    DataCategory,
    ErasureGround,
    Purpose,
    UnblockGround,
)

_COUNTRY = re.compile(r"^[A-Z]{2}$")


class DataRules(SubjectState):
    """What may be done with a subject's personal data itself."""

    def block_data(self, ctx: Context, categories: Iterable[DataCategory], ground: BlockGround) -> str:
        """Block processing of `categories` (accuracy in doubt, or the subject applied to protect their rights)."""
        self.check_not_erased()
        wanted = set(categories)
        if not wanted:
            raise InvalidCommandError("categories", "name at least one category to block")
        new = sorted(c.value for c in wanted - self.blocks.keys())
        if not new:
            raise RuleViolationError("already_blocked", "these categories are already blocked")
        return self._record(e.PersonalDataBlocked, ctx, categories=new, ground=ground.value, decided_by=ctx.actor)

    def unblock_data(self, ctx: Context, categories: Iterable[DataCategory], ground: UnblockGround) -> str:
        """End the block on `categories` (data confirmed, or the application resolved)."""
        self.check_not_erased()
        wanted = set(categories)
        if not wanted:
            raise InvalidCommandError("categories", "name at least one category to unblock")
        not_blocked = sorted(c.value for c in wanted - self.blocks.keys())
        if not_blocked:
            raise RuleViolationError("not_blocked", f"not blocked: {', '.join(not_blocked)}")
        return self._record(
            e.PersonalDataUnblocked, ctx,
            categories=sorted(c.value for c in wanted), ground=ground.value, decided_by=ctx.actor,
        )  # fmt: skip

    def rectify_data(self, ctx: Context, categories: Iterable[DataCategory], pii: str) -> str:
        """Record clarified or updated data; the new values travel only inside the encrypted `pii`."""
        self.check_not_erased()
        names = sorted({c.value for c in categories})
        if not names:
            raise InvalidCommandError("categories", "name at least one category that was rectified")
        return self._record(e.PersonalDataRectified, ctx, pii, categories=names)

    def transfer_data(
        self, ctx: Context, recipient: str, country: str, categories: Iterable[DataCategory], purpose: Purpose
    ) -> str:
        """Record a hand-over to a third party; refused unless the consent in force covers it."""
        wanted = set(categories)
        if not wanted:
            raise InvalidCommandError("categories", "name at least one category handed over")
        if not _COUNTRY.match(country):
            raise InvalidCommandError("country", "an ISO 3166-1 alpha-2 code in capitals, e.g. RU")
        self.check_not_erased()
        terms = self.check_consent_active(allow_pending=True)
        if purpose is Purpose.MARKETING and self.consent_status is ConsentStatus.WITHDRAWAL_PENDING:
            raise RuleViolationError("consent_withdrawal_pending", "marketing stopped when the withdrawal was filed")
        self.check_not_blocked(wanted)
        if purpose not in terms.purposes:
            raise RuleViolationError("purpose_not_consented", f"the consent does not cover the purpose {purpose.value}")
        uncovered = sorted(c.value for c in wanted - terms.categories)
        if uncovered:
            raise RuleViolationError("category_not_consented", f"the consent does not cover {', '.join(uncovered)}")
        refusal = terms.transfer_refusal(recipient, country)
        if refusal is not None:
            raise RuleViolationError(*refusal)
        return self._record(
            e.PersonalDataTransferred, ctx,
            recipient=recipient, country=country, categories=sorted(c.value for c in wanted),
            purpose=purpose.value, consent_id=self.consent_id,
        )  # fmt: skip

    def erase_data(self, ctx: Context, ground: ErasureGround, requested_by: str) -> str:
        """Record destruction on one of the six grounds; the application destroys the subject's key with it."""
        self.check_not_erased()
        return self._record(e.PersonalDataErased, ctx, ground=ground.value, requested_by=requested_by)
