"""Every event of the catalogue and every refusal rule, through the ledger application on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date
from uuid import UUID

import hypothesis
from hypothesis import strategies as st

from schemas.chain import chain_problems
from schemas.envelope import canonical_bytes
from services.ledger.application.contract import event_id_text, stored_envelope, to_envelope
from services.ledger.application.ledger import Ledger
from services.ledger.application.outbox import stored_envelopes
from services.ledger.domain.errors import RuleViolationError
from services.ledger.domain.events import event_id_of
from services.ledger.domain.state import Context
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
from tests.ledger.acts import ScenarioLedger
from tests.ledger.conftest import ctx, make_ledger, new_subject, tablet_consent

CATALOGUE = {
    "ConsentGranted", "MarketingOptedOut", "MarketingOptedIn", "ConsentWithdrawalRequested",
    "ConsentWithdrawalRefused", "ConsentWithdrawn", "ConsentExpired", "PersonalDataBlocked", "PersonalDataUnblocked",
    "PersonalDataRectified", "PersonalDataTransferred", "PersonalDataErased", "LoyaltyCardLinked",
    "LoyaltyCardBlocked", "LoyaltyCardUnblocked", "SubjectRequestReceived", "SubjectRequestAnswered",
    "SubjectRequestRejected", "EnforcementConfirmed",
}  # fmt: skip
PII = {"name": "Test Subject Four"}
_ids = itertools.count()

Step = Callable[[Ledger, UUID], object]


def c(day: str = "2026-05-04") -> Context:
    """A context with a fresh command id."""
    return ctx(f"cmd-{next(_ids)}", day)


def grant(**terms: object) -> Step:
    return lambda app, s: app.grant_consent(s, c(), tablet_consent(**terms), PII)


def withdraw(app: Ledger, s: UUID) -> object:
    return app.request_withdrawal(s, c("2026-05-22"), filed_on=date(2026, 5, 22))


def withdrawn(app: Ledger, s: UUID) -> object:
    return app.complete_withdrawal(s, c("2026-06-08"), today=date(2026, 6, 8))


def transfer(country: str = "RU", purpose: Purpose = Purpose.DELIVERY_AND_SERVICE, **kw: object) -> Step:
    categories = kw.get("categories", [DataCategory.CONTACTS])
    recipient = str(kw.get("recipient", "courier-ru"))
    return lambda app, s: app.transfer_data(
        s,
        c(),
        recipient=recipient,
        country=country,
        categories=categories,
        purpose=purpose,
    )


def request(request_id: str = "rq-1") -> Step:
    return lambda app, s: app.receive_request(
        s, c("2026-05-22"), request_id=request_id, kind=RequestKind.ACCESS, received_on=date(2026, 5, 22),
        pii={"document_number": "N0000002"},
    )  # fmt: skip


def card(app: Ledger, s: UUID) -> object:
    return app.link_card(s, c(), "card-x")


def block_card(app: Ledger, s: UUID) -> object:
    cause = str(app.history(s)[0][-1].event_id)  # the subject's latest event, e.g. ConsentWithdrawn
    return app.block_card(s, c(), "card-x", cause, "consent withdrawn")


def erase(app: Ledger, s: UUID) -> object:
    return app.erase_data(s, c(), ErasureGround.PURPOSE_ACHIEVED, "dpo")


def opt_out(*channels: Channel) -> Step:
    return lambda app, s: app.opt_out_of_marketing(s, c(), channels)


def opt_in(*channels: Channel) -> Step:
    return lambda app, s: app.opt_in_to_marketing(s, c(), channels)


def block(*categories: DataCategory) -> Step:
    return lambda app, s: app.block_data(s, c(), categories, BlockGround.ACCURACY_IN_DOUBT)


def unblock(*categories: DataCategory) -> Step:
    return lambda app, s: app.unblock_data(s, c(), categories, UnblockGround.DATA_CONFIRMED)


def confirm(app: Ledger, s: UUID) -> object:
    first = str(app.history(s)[0][0].event_id)  # the subject's first event, e.g. ConsentGranted
    return app.confirm_enforcement(s, c(), "loyalty", first, "card blocked")


# rule -> (given steps, the refused step)
REFUSALS: dict[str, tuple[list[Step], Step]] = {
    "subject_erased": ([grant(), erase], grant()),
    "consent_none": ([], transfer()),
    "consent_withdrawn": ([grant(), withdraw, withdrawn], transfer()),
    "consent_expired": (
        [grant(valid_until=date(2026, 5, 31)), lambda a, s: a.expire_consent(s, c(), date(2026, 6, 1))],
        transfer(),
    ),
    "consent_withdrawal_pending": ([grant(), withdraw], transfer(purpose=Purpose.MARKETING)),
    "already_opted_out": ([grant(), opt_out(Channel.SMS)], opt_out(Channel.SMS)),
    "marketing_not_consented": (
        [grant(purposes=frozenset({Purpose.LOYALTY}), marketing_channels=frozenset()), opt_out(Channel.SMS)],
        opt_in(Channel.SMS),
    ),
    "channel_not_consented": ([grant(), opt_out(Channel.POST)], opt_in(Channel.POST)),
    "not_opted_out": ([grant()], opt_in(Channel.SMS)),
    "no_withdrawal_pending": ([grant()], withdrawn),
    "withdrawal_not_due": ([grant(), withdraw], lambda a, s: a.complete_withdrawal(s, c(), date(2026, 6, 5))),
    "consent_not_expired": ([grant()], lambda a, s: a.expire_consent(s, c(), date(2030, 1, 1))),
    "already_blocked": ([grant(), block(DataCategory.BIRTH)], block(DataCategory.BIRTH)),
    "not_blocked": ([grant()], unblock(DataCategory.BIRTH)),
    "data_blocked": ([grant(), block(DataCategory.CONTACTS)], transfer()),
    "purpose_not_consented": ([grant()], transfer(purpose=Purpose.ANALYSIS)),
    "category_not_consented": ([grant()], transfer(categories=[DataCategory.IDENTITY_DOCUMENT])),
    "transfer_not_consented": ([grant(recipients=frozenset({"courier-kz"}))], transfer(country="KZ")),
    "cross_border_not_consented": ([grant()], transfer(country="CN")),
    "loyalty_not_consented": ([grant(purposes=frozenset({Purpose.MARKETING}))], card),
    "card_already_linked": ([grant(), card], card),
    "card_not_linked": ([grant()], block_card),
    "unknown_cause": (
        [grant(), card],
        lambda a, s: a.block_card(s, c(), "card-x", "someone-elses-event", "consent withdrawn"),
    ),
    "card_already_blocked": ([grant(), card, block_card], block_card),
    "card_not_blocked": ([grant(), card], lambda a, s: a.unblock_card(s, c(), "card-x", "x")),
    "request_already_open": ([request()], request()),
    "request_not_open": ([], lambda a, s: a.reject_request(s, c(), "rq-9", "x")),
    "unknown_enforced_event": (
        [grant()],
        lambda a, s: a.confirm_enforcement(s, c(), "loyalty", "someone-elses-event", "card blocked"),
    ),
    "already_confirmed": ([grant(), confirm], confirm),
}


def given_the_whole_catalogue(ledger: ScenarioLedger) -> tuple[UUID, UUID]:
    """A subject with every event of the catalogue but ConsentExpired, and another whose consent expired."""
    subject, other = new_subject(), new_subject()
    for step in [
        grant(), opt_out(Channel.SMS), opt_in(Channel.SMS), block(DataCategory.BIRTH), unblock(DataCategory.BIRTH),
        lambda a, s: a.rectify_data(s, c(), [DataCategory.NAME], PII), transfer(), card, request("rq-1"),
        lambda a, s: a.answer_request(s, c(), "rq-1", date(2026, 5, 25), "report-1"), request("rq-2"),
        lambda a, s: a.reject_request(s, c(), "rq-2", "identity document missing"),
        lambda a, s: a.request_withdrawal(s, c(), date(2026, 5, 22), unfulfilled_obligations=1),
        withdraw,
        lambda a, s: a.refuse_withdrawal(s, c(), WithdrawalRefusalReason.LEGAL_RETENTION_DUTY, "retention duty"),
        withdraw, withdrawn, block_card, grant(),
        lambda a, s: a.unblock_card(s, c(), "card-x", "consented again"), confirm, erase,
    ]:  # fmt: skip
        step(ledger, subject)
    grant(valid_until=date(2026, 6, 30))(ledger, other)
    ledger.expire_consent(other, c(), date(2026, 7, 1))
    return subject, other


def test_every_event_of_the_catalogue_is_stored_chained_and_read_back(ledger: ScenarioLedger, store_url: str) -> None:
    subject, other = given_the_whole_catalogue(ledger)

    reader = make_ledger(store_url)
    events = reader.history(subject)[0] + reader.history(other)[0]
    reader.close()

    assert {type(event).__name__ for event in events} == CATALOGUE
    received = [event for event in events if type(event).__name__ == "SubjectRequestReceived"]
    assert {(event.received_on, event.due_on) for event in received} == {("2026-05-22", "2026-05-28")}
    assert chain_problems(to_envelope(event) for event in events) == []


def test_the_envelope_built_from_the_stored_json_is_the_one_built_from_the_domain_event(
    ledger: ScenarioLedger,
) -> None:
    given_the_whole_catalogue(ledger)
    notifications = ledger.recorder.select_notifications(start=1, limit=1000)

    fast = [
        stored_envelope(n.topic, UUID(str(n.originator_id)), n.originator_version, n.state, position=n.id)
        for n in notifications
    ]
    through_the_domain = [to_envelope(ledger.mapper.to_domain_event(n), position=n.id) for n in notifications]  # type: ignore[arg-type]

    assert {envelope["type"].rsplit(".", 1)[1] for envelope in through_the_domain} == CATALOGUE
    assert fast == through_the_domain
    assert [canonical_bytes(e) for e in stored_envelopes(ledger, 0, 1000)] == [
        canonical_bytes(e) for e in through_the_domain
    ]


def test_the_rows_the_relay_reads_are_the_librarys_notifications(ledger: ScenarioLedger) -> None:
    given_the_whole_catalogue(ledger)

    rows = ledger.commands_recorder.select_rows(3, 1000)
    notifications = ledger.recorder.select_notifications(start=3, limit=1000)

    assert len(rows) == len(notifications) > 10
    assert [(r.position, UUID(r.subject), r.version, r.topic, r.state) for r in rows] == [
        (n.id, n.originator_id, n.originator_version, n.topic, n.state) for n in notifications
    ]
    assert all(row.subject == str(UUID(row.subject)) for row in rows)  # the canonical text of the id


@hypothesis.given(subject=st.uuids(), version=st.integers(min_value=1, max_value=10**9))
def test_an_event_id_spelled_out_is_the_uuid5_of_its_subject_and_version(subject: UUID, version: int) -> None:
    assert event_id_text(str(subject), version) == str(event_id_of(subject, version))


def test_every_refusal_rule_is_answered_by_the_ledger_and_records_nothing(ledger: ScenarioLedger) -> None:
    observed: dict[str, str] = {}
    for rule, (given, refused) in REFUSALS.items():
        subject = new_subject()
        for step in given:
            step(ledger, subject)
        recorded = len(ledger.history(subject)[0])
        try:
            refused(ledger, subject)
            observed[rule] = "recorded"
        except RuleViolationError as refusal:
            observed[rule] = refusal.rule
        assert len(ledger.history(subject)[0]) == recorded, rule

    assert observed == {rule: rule for rule in REFUSALS}
