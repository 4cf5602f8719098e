"""One place that turns a command of the public contract into one call of the Ledger application.

Used by the HTTP API and the Kafka command consumer alike, so both take exactly the same commands.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Set
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from schemas import commands as c
from schemas.envelope import canonical_bytes
from services.ledger.application import Ledger, Outcome
from services.ledger.domain.calendar import kazakh_day
from services.ledger.domain.errors import InvalidCommandError
from services.ledger.domain.iin import InvalidIinError, parse_iin
from services.ledger.domain.state import Context
from services.ledger.domain.terms import Collection, ConsentTerms, Controller, Notice, Representative
from services.ledger.domain.vocabulary import (
    BlockGround,
    Channel,
    CollectionMethod,
    DataCategory,
    ErasureGround,
    Language,
    Purpose,
    RequestKind,
    UnblockGround,
    WithdrawalRefusalReason,
)
from services.ledger.identity import SubjectIds
from services.ledger.pii.sealing import SealingKey, opened


@dataclass(frozen=True)
class CommandHandler:
    """Dispatches commands to the ledger with the controller, identity secret and sealing key from configuration."""

    ledger: Ledger
    controller: Controller
    subject_ids: SubjectIds
    sealing_key: SealingKey | None = None  # None: sealed personal data is refused (sealed_data_unreadable)

    def handle(  # noqa: PLR0911, PLR0912 - one case per command of the contract reads as a table
        self,
        subject_id: UUID,
        command: c.AnyCommand,
        *,
        actor: str,
        now: datetime,
        scopes: Set[str] = frozenset(),
    ) -> Outcome:
        """Apply `command` to the subject as `actor` (with token `scopes`, none on Kafka) at `now`; raises refusals.

        Sealed personal data is opened first (SealedDataError when it cannot be), so the rules, the
        digest and the encryption under the subject's key see exactly what a command in clear gives.
        """
        command = opened(command, subject_id, self.sealing_key)
        today = kazakh_day(now)
        check_dates(command, now, today, late_entry=LATE_ENTRY_SCOPE in scopes)
        ctx = Context(
            command_id=command.command_id,
            actor=actor,
            now=now,
            occurred_at=command.occurred_at,
            correlation_id=command.correlation_id,
            causation_id=command.causation_id,
            command_digest=digest(command),
        )
        ledger, s = self.ledger, subject_id
        match command:
            case c.GrantConsent():
                return ledger.grant_consent(s, ctx, self.terms(command), _pii(command.pii, command.representative))
            case c.OptOutOfMarketing(channels=channels):
                return ledger.opt_out_of_marketing(s, ctx, [Channel(x) for x in channels])
            case c.OptInToMarketing(channels=channels):
                return ledger.opt_in_to_marketing(s, ctx, [Channel(x) for x in channels])
            case c.RequestWithdrawal():
                return ledger.request_withdrawal(
                    s, ctx, command.filed_on, command.requested_effective_on, command.unfulfilled_obligations
                )
            case c.RefuseWithdrawal():
                return ledger.refuse_withdrawal(s, ctx, WithdrawalRefusalReason(command.reason), command.legal_basis)
            case c.CompleteWithdrawal():
                return ledger.complete_withdrawal(s, ctx, today)
            case c.ExpireConsent():
                return ledger.expire_consent(s, ctx, today)
            case c.BlockPersonalData():
                return ledger.block_data(s, ctx, _categories(command.categories), BlockGround(command.ground))
            case c.UnblockPersonalData():
                return ledger.unblock_data(s, ctx, _categories(command.categories), UnblockGround(command.ground))
            case c.RectifyPersonalData():
                return ledger.rectify_data(s, ctx, _categories(command.categories), _pii(command.pii) or {})
            case c.TransferPersonalData():
                return ledger.transfer_data(
                    s, ctx, recipient=command.recipient, country=command.country,
                    categories=_categories(command.categories), purpose=Purpose(command.purpose),
                )  # fmt: skip
            case c.ErasePersonalData():
                return ledger.erase_data(s, ctx, ErasureGround(command.ground), command.requested_by)
            case c.LinkLoyaltyCard():
                return ledger.link_card(s, ctx, self.card_ref(command))
            case c.BlockLoyaltyCard():
                return ledger.block_card(s, ctx, command.card_ref, command.cause_event_id, command.reason)
            case c.UnblockLoyaltyCard():
                return ledger.unblock_card(s, ctx, command.card_ref, command.reason)
            case c.ReceiveSubjectRequest():
                return ledger.receive_request(
                    s, ctx, request_id=command.request_id, kind=RequestKind(command.kind),
                    received_on=command.received_on,
                    pii={"identity_document": command.identity_document.model_dump(mode="json")},
                    by_representative=command.by_representative,
                )  # fmt: skip
            case c.AnswerSubjectRequest():
                return ledger.answer_request(s, ctx, command.request_id, command.answered_on, command.response_ref)
            case c.RejectSubjectRequest():
                return ledger.reject_request(s, ctx, command.request_id, command.reason)
            case c.ConfirmEnforcement():
                return ledger.confirm_enforcement(s, ctx, command.system, command.enforced_event_id, command.action)
        raise InvalidCommandError("type", f"unknown command {type(command).__name__}")  # pragma: no cover

    def terms(self, command: c.GrantConsent) -> ConsentTerms:
        """The domain's ConsentTerms for a GrantConsent command."""
        collection = command.collection
        proof = {name: value for name, value in collection.proof.model_dump().items() if value}
        rep = command.representative
        return ConsentTerms(
            controller=self.controller,
            notice=Notice(
                command.form.form_id,
                command.form.form_version,
                command.form.text_sha256,
                Language(command.form.language),
            ),
            purposes=frozenset(Purpose(p) for p in command.purposes),
            categories=frozenset(_categories(command.categories)),
            collection=Collection(
                CollectionMethod(collection.method), proof, collection.consultant_id, collection.store_id
            ),
            marketing_channels=frozenset(Channel(x) for x in command.marketing_channels),
            third_party_transfer=command.third_party_transfer,
            recipients=frozenset(command.recipients),
            cross_border_countries=frozenset(command.cross_border_countries),
            valid_until=command.valid_until,
            representative=Representative(rep.power_of_attorney_ref) if rep else None,
        )

    def card_ref(self, command: c.LinkLoyaltyCard) -> str:
        """The opaque reference of the card: derived from its number (in any script's digits), or as given."""
        if command.card_number:
            try:
                return self.subject_ids.card_ref(command.card_number)
            except ValueError as error:  # the message never repeats the number
                raise InvalidCommandError("card_number", str(error)) from None
        if command.card_ref:
            return command.card_ref
        raise InvalidCommandError("card_number", "give the card number or its reference")


# Which token scope a command needs over HTTP; on Kafka only the channels' commands (and the cascade's).
SCOPE_OF: dict[type[c.Command], str] = {
    c.GrantConsent: "consent:write",
    c.OptOutOfMarketing: "consent:write",
    c.OptInToMarketing: "consent:write",
    c.RequestWithdrawal: "consent:write",
    c.RectifyPersonalData: "consent:write",
    c.TransferPersonalData: "consent:write",
    c.LinkLoyaltyCard: "consent:write",
    c.ConfirmEnforcement: "consent:write",
    c.ExpireConsent: "dpo",
    c.RefuseWithdrawal: "dpo",
    c.CompleteWithdrawal: "dpo",
    c.BlockPersonalData: "dpo",
    c.UnblockPersonalData: "dpo",
    c.ErasePersonalData: "dpo",
    c.BlockLoyaltyCard: "dpo",
    c.UnblockLoyaltyCard: "dpo",
    c.ReceiveSubjectRequest: "dpo",
    c.AnswerSubjectRequest: "dpo",
    c.RejectSubjectRequest: "dpo",
}
KAFKA_COMMANDS = frozenset({m for m, scope in SCOPE_OF.items() if scope == "consent:write"} | {c.BlockLoyaltyCard})
BACKDATING = timedelta(days=30)  # how far back a channel may date a paper application or request
LATE_ENTRY_SCOPE = "dpo"  # whose token may enter one later than that (DAY's 2000-01-01 still bounds it)


def digest(command: c.Command) -> str:
    """SHA-256 of what the command asks (not who sent it or when): a repeat has the same digest.

    Taken once sealed fields are opened: the empty sealed twins are left out, so a command sealed
    (each sealing differs) and the same command in clear have one digest, the one it had before sealing existed.
    """
    content = command.model_dump(mode="json", exclude={"actor", "occurred_at", "correlation_id", "causation_id"})
    return hashlib.sha256(canonical_bytes(_without_empty_seals(content))).hexdigest()


def _without_empty_seals(content: dict[str, Any]) -> dict[str, Any]:
    return {
        name: _without_empty_seals(value) if isinstance(value, dict) else value
        for name, value in content.items()
        if not (name.startswith("sealed_") and value is None)
    }


def check_dates(command: c.Command, now: datetime, today: date, *, late_entry: bool = False) -> None:
    """Dates a sender gives must be plausible: nothing filed, received or answered in the future, or long ago.

    A paper date (`filed_on`, `received_on`, `answered_on`) lies at most BACKDATING before today;
    with `late_entry` (a token with the dpo scope, over HTTP only) any earlier day the contract's DAY
    allows: a written application entered late, or an import of existing consents and requests. The
    event then says how late it was entered (`entered_late_by_days`).
    """
    if command.occurred_at is not None and not (
        now - timedelta(days=366) <= command.occurred_at <= now + timedelta(hours=1)
    ):
        raise InvalidCommandError("occurred_at", "must lie within the last year and not in the future")
    for name in ("filed_on", "received_on", "answered_on"):
        day: date | None = getattr(command, name, None)
        if day is None:
            continue
        if day > today:
            raise InvalidCommandError(name, f"must not lie after today ({today})")
        if day < today - BACKDATING and not late_entry:
            raise InvalidCommandError(
                name,
                f"must lie between {today - BACKDATING} and today ({today}); "
                f"an earlier day is entered by a token with the {LATE_ENTRY_SCOPE} scope",
            )


def _categories(names: Iterable[str]) -> list[DataCategory]:
    return [DataCategory(name) for name in names]


def _pii(pii: dict[str, str] | None, representative: c.Representative | None = None) -> dict[str, Any] | None:
    """Personal data to encrypt, with any IIN in it validated (never echoed back) and kept in ASCII digits."""
    payload: dict[str, Any] = dict(pii or {})
    if representative is not None and representative.pii:
        payload["representative"] = dict(representative.pii)
    for where, values in (("pii", payload), ("representative.pii", payload.get("representative") or {})):
        if "iin" in values:
            try:
                values["iin"] = parse_iin(values["iin"]).value
            except InvalidIinError as error:
                raise InvalidCommandError(f"{where}.iin", str(error)) from None
    return payload or None
