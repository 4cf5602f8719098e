"""Every command of the contract, declared once: model, scope, HTTP path, Kafka, events, and the use case.

The HTTP routes, the Kafka command consumer, the README's route table and the AsyncAPI and OpenAPI
documents are all read from REGISTRY; `Commands.handle` runs an entry's use case. To add a command:
its model in schemas/ (in AnyCommand), one entry here, the domain method it calls, and its scenario
test (docs/decisions/0012-command-registry-and-layers.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

from schemas import commands as c
from services.ledger.application.identity import SubjectIds
from services.ledger.application.ledger import Ledger
from services.ledger.domain.calendar import kazakh_day
from services.ledger.domain.errors import InvalidCommandError
from services.ledger.domain.iin import InvalidIinError, parse_iin
from services.ledger.domain.state import Context
from services.ledger.domain.subject import DataSubject
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

C = TypeVar("C", bound=c.Command)
WRITE, DPO = "consent:write", "dpo"  # the token scopes that run commands


class Kit(Protocol):
    """What a use case may use besides the subject and its command."""

    @property
    def ledger(self) -> Ledger: ...

    @property
    def controller(self) -> Controller: ...

    @property
    def subject_ids(self) -> SubjectIds: ...


@dataclass(frozen=True)
class CommandSpec(Generic[C]):
    """One command: who may send it and where, what it records, and the domain call that decides it."""

    model: type[C]
    scope: str  # the token scope it needs over HTTP
    path: str  # under /v1; without {subject_id} the body names the subject
    records: tuple[str, ...]  # the events it may record (catalogue names), for the route table
    decide: Callable[[Kit, C, DataSubject, Context], object]
    kafka: bool = False  # Kafka may carry it (only sealed personal data): a channel's consent.commands.<channel>.v1
    acknowledgement: bool = False  # a subscriber's consent.acks.<system>.v1 carries it, and no channel's topic
    cascade: bool = False  # the projector's card cascade sends it, on consent.commands.projector.v1
    sender_field: str | None = None  # a field that must name the sender: the token's name, or the topic's sender
    settle: Callable[[Kit, UUID], None] | None = None  # runs after the command, recorded, repeated or refused
    route_name: str | None = None  # the HTTP route's name (OpenAPI operation id) when not the command's

    @property
    def name(self) -> str:
        """The command's type, as in the contract."""
        return self.model.__name__

    @property
    def subject_in_path(self) -> bool:
        """Whether the HTTP path names the subject (else the body's subject_id does)."""
        return "{subject_id}" in self.path


class Registry:
    """The commands by model; iterates in the order declared."""

    def __init__(self, specs: Iterable[CommandSpec[Any]]) -> None:
        self._specs = {spec.model: spec for spec in specs}

    def __iter__(self) -> Iterator[CommandSpec[Any]]:
        return iter(self._specs.values())

    def of(self, command: c.Command | type[c.Command]) -> CommandSpec[Any]:
        """The entry of a command (or of its model)."""
        model = command if isinstance(command, type) else type(command)
        try:
            return self._specs[model]
        except KeyError:  # every model of the contract has one (tests/ledger/test_registry.py)
            raise InvalidCommandError("type", f"unknown command {model.__name__}") from None


def _consent_terms(kit: Kit, command: c.GrantConsent) -> ConsentTerms:
    collection, form, rep = command.collection, command.form, command.representative
    proof = {name: value for name, value in collection.proof.model_dump().items() if value}
    return ConsentTerms(
        controller=kit.controller,
        notice=Notice(form.form_id, form.form_version, form.text_sha256, Language(form.language)),
        purposes=frozenset(Purpose(p) for p in command.purposes),
        categories=frozenset(_categories(command.categories)),
        collection=Collection(
            CollectionMethod(collection.method), proof, collection.consultant_id, collection.store_id
        ),
        marketing_channels=frozenset(_channels(command.marketing_channels)),
        third_party_transfer=command.third_party_transfer,
        recipients=frozenset(command.recipients),
        cross_border_countries=frozenset(command.cross_border_countries),
        valid_until=command.valid_until,
        representative=Representative(rep.power_of_attorney_ref) if rep else None,
    )


def _grant(kit: Kit, command: c.GrantConsent, s: DataSubject, ctx: Context) -> None:
    pii = _pii(command.pii, command.representative)
    s.grant_consent(ctx, _consent_terms(kit, command), kit.ledger.encrypt(s, pii))


def _link_card(kit: Kit, command: c.LinkLoyaltyCard, s: DataSubject, ctx: Context) -> None:
    """The card's opaque reference: derived from its number (in any script's digits), or as given."""
    if command.card_number:
        try:
            card_ref = kit.subject_ids.card_ref(command.card_number)
        except ValueError as error:  # the message never repeats the number
            raise InvalidCommandError("card_number", str(error)) from None
    elif command.card_ref:
        card_ref = command.card_ref
    else:
        raise InvalidCommandError("card_number", "give the card number or its reference")
    s.link_card(ctx, card_ref)


def _receive_request(kit: Kit, command: c.ReceiveSubjectRequest, s: DataSubject, ctx: Context) -> None:
    pii = kit.ledger.encrypt(s, {"identity_document": command.identity_document.model_dump(mode="json")})
    s.receive_request(
        ctx, command.request_id, RequestKind(command.kind), command.received_on, calendar=kit.ledger.calendar,
        pii=pii, by_representative=command.by_representative,
    )  # fmt: skip


def _destroy_key_once_erased(kit: Kit, subject_id: UUID) -> None:
    """So a crash between storing PersonalDataErased and destroying the key is mended by erasing again."""
    if kit.ledger.erased(subject_id):
        kit.ledger.cipher.erase(str(subject_id))


def _categories(names: Iterable[str]) -> list[DataCategory]:
    return [DataCategory(name) for name in names]


def _channels(names: Iterable[str]) -> list[Channel]:
    return [Channel(name) for name in names]


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


SUBJECT = "/subjects/{subject_id}"
REGISTRY = Registry([
    CommandSpec(c.GrantConsent, WRITE, f"{SUBJECT}/consents", ("ConsentGranted",), _grant, kafka=True),
    CommandSpec(
        c.ExpireConsent, DPO, f"{SUBJECT}/consents/expiry", ("ConsentExpired",),
        lambda kit, cmd, s, ctx: s.expire_consent(ctx, kazakh_day(ctx.now)),
    ),
    CommandSpec(
        c.OptOutOfMarketing, WRITE, f"{SUBJECT}/marketing/opt-out", ("MarketingOptedOut",),
        lambda kit, cmd, s, ctx: s.opt_out_of_marketing(ctx, _channels(cmd.channels)), kafka=True,
    ),
    CommandSpec(
        c.OptInToMarketing, WRITE, f"{SUBJECT}/marketing/opt-in", ("MarketingOptedIn",),
        lambda kit, cmd, s, ctx: s.opt_in_to_marketing(ctx, _channels(cmd.channels)), kafka=True,
    ),
    CommandSpec(
        c.RequestWithdrawal, WRITE, f"{SUBJECT}/withdrawals",
        ("ConsentWithdrawalRequested", "ConsentWithdrawalRefused"),
        lambda kit, cmd, s, ctx: s.request_withdrawal(
            ctx, cmd.filed_on, kit.ledger.calendar, cmd.requested_effective_on, cmd.unfulfilled_obligations
        ),
        kafka=True,
    ),
    CommandSpec(
        c.RefuseWithdrawal, DPO, f"{SUBJECT}/withdrawals/refusal", ("ConsentWithdrawalRefused",),
        lambda kit, cmd, s, ctx: s.refuse_withdrawal(ctx, WithdrawalRefusalReason(cmd.reason), cmd.legal_basis),
    ),
    CommandSpec(
        c.CompleteWithdrawal, DPO, f"{SUBJECT}/withdrawals/completion", ("ConsentWithdrawn",),
        lambda kit, cmd, s, ctx: s.complete_withdrawal(ctx, kazakh_day(ctx.now)),
    ),
    CommandSpec(
        c.BlockPersonalData, DPO, f"{SUBJECT}/blocks", ("PersonalDataBlocked",),
        lambda kit, cmd, s, ctx: s.block_data(ctx, _categories(cmd.categories), BlockGround(cmd.ground)),
    ),
    CommandSpec(
        c.UnblockPersonalData, DPO, f"{SUBJECT}/blocks/release", ("PersonalDataUnblocked",),
        lambda kit, cmd, s, ctx: s.unblock_data(ctx, _categories(cmd.categories), UnblockGround(cmd.ground)),
    ),
    CommandSpec(
        c.RectifyPersonalData, WRITE, f"{SUBJECT}/rectifications", ("PersonalDataRectified",),
        lambda kit, cmd, s, ctx: s.rectify_data(
            ctx, _categories(cmd.categories), kit.ledger.encrypt(s, _pii(cmd.pii) or {}) or ""
        ),
        kafka=True,
    ),
    CommandSpec(
        c.TransferPersonalData, WRITE, f"{SUBJECT}/transfers", ("PersonalDataTransferred",),
        lambda kit, cmd, s, ctx: s.transfer_data(
            ctx, cmd.recipient, cmd.country.upper(), _categories(cmd.categories), Purpose(cmd.purpose)
        ),
        kafka=True,
    ),
    CommandSpec(
        c.ErasePersonalData, DPO, f"{SUBJECT}/erasure", ("PersonalDataErased",),
        lambda kit, cmd, s, ctx: s.erase_data(ctx, ErasureGround(cmd.ground), cmd.requested_by),
        settle=_destroy_key_once_erased,
    ),
    CommandSpec(c.LinkLoyaltyCard, WRITE, f"{SUBJECT}/cards", ("LoyaltyCardLinked",), _link_card, kafka=True),
    CommandSpec(
        c.BlockLoyaltyCard, DPO, f"{SUBJECT}/cards/block", ("LoyaltyCardBlocked",),
        lambda kit, cmd, s, ctx: s.block_card(ctx, cmd.card_ref, cmd.cause_event_id, cmd.reason),
        kafka=True, cascade=True,  # the projector's cascade sends it when consent is withdrawn
    ),
    CommandSpec(
        c.UnblockLoyaltyCard, DPO, f"{SUBJECT}/cards/unblock", ("LoyaltyCardUnblocked",),
        lambda kit, cmd, s, ctx: s.unblock_card(ctx, cmd.card_ref, cmd.reason),
    ),
    CommandSpec(
        c.AnswerSubjectRequest, DPO, f"{SUBJECT}/requests/answer", ("SubjectRequestAnswered",),
        lambda kit, cmd, s, ctx: s.answer_request(ctx, cmd.request_id, cmd.answered_on, cmd.response_ref),
    ),
    CommandSpec(
        c.RejectSubjectRequest, DPO, f"{SUBJECT}/requests/reject", ("SubjectRequestRejected",),
        lambda kit, cmd, s, ctx: s.reject_request(ctx, cmd.request_id, cmd.reason),
    ),
    CommandSpec(
        c.ConfirmEnforcement, WRITE, f"{SUBJECT}/enforcements", ("EnforcementConfirmed",),
        lambda kit, cmd, s, ctx: s.confirm_enforcement(ctx, cmd.system, cmd.enforced_event_id, cmd.action),
        kafka=True, acknowledgement=True, sender_field="system",
    ),
    CommandSpec(
        c.ReceiveSubjectRequest, DPO, "/requests", ("SubjectRequestReceived",), _receive_request,
        route_name="receive_request",  # as before the registry: generated clients keep their method's name
    ),
])  # fmt: skip
