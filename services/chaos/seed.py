"""Subjects whose withdrawal is already due, so completing it now starts a card-block cascade.

A withdrawal takes effect some working days after it is filed, and an application filed before the
consent in force cannot be taken; so these subjects are recorded in the ledger's own store as they
would have been 40 days ago (consent, a loyalty card, a withdrawal filed that day). All data is synthetic.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from schemas.commands import COMMANDS
from services.ledger.bootstrap import build
from services.ledger.domain.calendar import kazakh_day
from services.ledger.settings import LedgerSettings

ACTOR = "chaos-seed"
DAYS_AGO = 40


def seed_due_withdrawals(ledger_env: Mapping[str, str], count: int) -> list[str]:
    """Record `count` subjects with a card and a due withdrawal in the ledger's store; return their ids."""
    settings = LedgerSettings.model_validate(
        {name.removeprefix("CONSENT_").lower(): value for name, value in ledger_env.items()}
    )
    wired = build(settings)
    then = datetime.now(UTC) - timedelta(days=DAYS_AGO)
    subjects = []
    try:
        for number in range(count):
            subject = uuid.uuid4()
            for body in _history(str(subject), number, kazakh_day(then).isoformat()):  # the consent's own day
                command = COMMANDS.validate_python(body)
                wired.commands.handle(subject, command, actor=ACTOR, now=then)
            subjects.append(str(subject))
    finally:
        wired.close()
    return subjects


def _history(subject: str, number: int, day: str) -> list[dict[str, object]]:
    card = f"6001 {number // 10**8 % 10**4:04d} {number // 10**4 % 10**4:04d} {number % 10**4:04d}"
    return [
        {
            "type": "GrantConsent", "command_id": f"seed-grant-{subject}",
            "form": {"form_id": "loyalty-consent", "form_version": "2026.1", "text_sha256": "b" * 64, "language": "kk"},
            "purposes": ["loyalty"], "categories": ["name", "contacts"],
            "collection": {"method": "tablet_sms", "proof": {"sms_verification_id": f"sms-s{number}"},
                           "consultant_id": "k-2"},
            "pii": {"name": f"Seeded Subject {number}", "phone": f"+7 701 {number % 10_000_000:07d}"},
        },
        {"type": "LinkLoyaltyCard", "command_id": f"seed-card-{subject}", "card_number": card},
        {"type": "RequestWithdrawal", "command_id": f"seed-withdraw-{subject}", "filed_on": day},
    ]  # fmt: skip
