"""One synthetic subject's history through the real ledger domain, covering every event of the catalogue.

The events are sealed into a hash chain as the ledger does before storing them, then turned into
envelopes by the ledger's one translator, with the positions the relay would give them.
"""

from __future__ import annotations

from datetime import date, datetime, time
from functools import cache
from typing import Any, cast

from services.ledger.application.contract import to_envelope
from services.ledger.application.ledger import seal
from services.ledger.domain.events import SubjectEvent
from services.ledger.domain.state import Context
from services.ledger.domain.terms import Collection, Representative
from services.ledger.domain.vocabulary import (
    BlockGround,
    Channel,
    CollectionMethod,
    DataCategory,
    ErasureGround,
    Purpose,
    RequestKind,
    UnblockGround,
    WithdrawalRefusalReason,
)
from tests.ledger.scenario_support import (
    ALMATY,
    CALENDAR,
    CONSENT_GIVEN_ON,
    CONSULTANT,
    DPO,
    FRIDAY_22_MAY,
    MONDAY_8_JUNE,
    PII,
    SCAN_SHA256,
    SCHEDULER,
    consent_terms,
    ctx,
    given_subject,
)

CARD = "card-ref-7f3a"
RE_CONSENTED_ON = date(2026, 6, 10)
VALID_UNTIL = date(2026, 12, 31)
EXPIRED_ON = date(2027, 1, 4)


def at_ten(day: date) -> datetime:
    """10:00 in Almaty on `day`."""
    return datetime.combine(day, time(10), ALMATY)


@cache
def ledger_history() -> tuple[dict[str, Any], ...]:
    """The subject's envelopes, in ledger order: all 19 catalogue events, some more than once."""
    s = given_subject()
    s.grant_consent(ctx(1, on=CONSENT_GIVEN_ON, actor=CONSULTANT), consent_terms(), PII)
    s.opt_out_of_marketing(ctx(2), [Channel.SMS])
    s.opt_in_to_marketing(ctx(3), [Channel.SMS])
    s.link_card(ctx(4), CARD)
    s.block_data(ctx(5, actor=DPO), [DataCategory.CONTACTS], BlockGround.ACCURACY_IN_DOUBT)
    s.rectify_data(ctx(6, actor=DPO), [DataCategory.CONTACTS], PII)
    s.unblock_data(ctx(7, actor=DPO), [DataCategory.CONTACTS], UnblockGround.DATA_CONFIRMED)
    s.transfer_data(
        ctx(8, actor="system:delivery"), "retail-partner-ru", "RU", [DataCategory.NAME], Purpose.DELIVERY_AND_SERVICE
    )
    s.receive_request(ctx(9), "req-1", RequestKind.ACCESS, FRIDAY_22_MAY, calendar=CALENDAR, pii=PII)
    s.answer_request(ctx(10, actor=DPO), "req-1", date(2026, 5, 25), "report-0001")
    s.receive_request(
        ctx(11), "req-2", RequestKind.DESTRUCTION, FRIDAY_22_MAY, calendar=CALENDAR, pii=PII, by_representative=True
    )
    s.reject_request(ctx(12, actor=DPO), "req-2", "the power of attorney had expired")
    s.request_withdrawal(ctx(13), FRIDAY_22_MAY, CALENDAR, unfulfilled_obligations=1)
    s.request_withdrawal(ctx(14), FRIDAY_22_MAY, CALENDAR, requested_effective_on=date(2026, 6, 15))
    s.refuse_withdrawal(ctx(15, actor=DPO), WithdrawalRefusalReason.LEGAL_RETENTION_DUTY, "Tax Code, art. 48")
    s.request_withdrawal(ctx(16), FRIDAY_22_MAY, CALENDAR)
    withdrawn = s.complete_withdrawal(ctx(17, on=MONDAY_8_JUNE, actor=SCHEDULER), MONDAY_8_JUNE)
    cascade = Context(
        "block-card:" + withdrawn, "system:projector", at_ten(MONDAY_8_JUNE), None, "corr-0017", withdrawn
    )
    blocked = s.block_card(cascade, CARD, withdrawn, "consent withdrawn")
    s.confirm_enforcement(ctx(19, on=MONDAY_8_JUNE, actor="system:loyalty"), "loyalty", blocked, "card blocked")
    signed = Collection(CollectionMethod.SIGNED_QUESTIONNAIRE, {"signed_scan_sha256": SCAN_SHA256}, None, "store-2")
    again = consent_terms(valid_until=VALID_UNTIL, representative=Representative("poa-2026-0001"), collection=signed)
    s.grant_consent(ctx(20, on=RE_CONSENTED_ON, actor=CONSULTANT), again, PII)
    s.unblock_card(ctx(21, on=RE_CONSENTED_ON, actor=CONSULTANT), CARD, "consent granted again")
    s.expire_consent(ctx(22, on=EXPIRED_ON, actor=SCHEDULER), EXPIRED_ON)
    s.erase_data(ctx(23, on=EXPIRED_ON, actor=DPO), ErasureGround.TERM_EXPIRED, "subject")
    seal(s)
    events = cast("list[SubjectEvent]", s.pending_events)
    return tuple(to_envelope(event, position=100 + index) for index, event in enumerate(events))


def first_of(name: str) -> dict[str, Any]:
    """The first envelope of the catalogue event `name` in the history."""
    return next(envelope for envelope in ledger_history() if envelope["type"].endswith("." + name))
