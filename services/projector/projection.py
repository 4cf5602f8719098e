"""The current consent state of one subject, folded from its consent.events.v1 envelopes.

`evolve(state, envelope)` is pure and deterministic: it returns a new JSON-ready dict (str, int,
bool, None, list, dict only) and never changes its input, so equal histories give byte-identical
canonical JSON. Nested parts are copied on write: an unchanged part may be shared with the input.
An envelope at or below the state's `version` (a redelivery) returns the state unchanged.
The envelope's `pii` is never kept, so an erasure has no personal data here to drop.
Depends on schemas/ only (the public contract), never on the ledger's code.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, TypeVar

from schemas.envelope import utc_text
from schemas.events import (
    ConsentExpired,
    ConsentGranted,
    ConsentWithdrawalRefused,
    ConsentWithdrawalRequested,
    ConsentWithdrawn,
    EnforcementConfirmed,
    Envelope,
    EventData,
    LoyaltyCardBlocked,
    LoyaltyCardLinked,
    LoyaltyCardUnblocked,
    MarketingOptedIn,
    MarketingOptedOut,
    PersonalDataBlocked,
    PersonalDataErased,
    PersonalDataTransferred,
    PersonalDataUnblocked,
    SubjectRequestAnswered,
    SubjectRequestReceived,
    SubjectRequestRejected,
)

State = dict[str, Any]
DataT = TypeVar("DataT", bound=EventData)


def initial_state(subject_id: str) -> State:
    """The state of a subject nothing has been recorded about (version 0)."""
    return {
        "subject_id": subject_id,
        "version": 0,  # the last subjectversion applied
        "position": 0,  # the last ledger position applied
        "last_event_id": None,  # the last event applied: what the state stands on
        "consent": None,
        "status": "none",
        "status_event_id": None,
        "withdrawal": None,  # the pending application: its event id and the day it takes effect
        "withdrawals": {},  # application event id -> filed_on, effective_on, lateness, status, the event settling it
        "opted_out": {},  # channel -> MarketingOptedOut event id
        "opted_in": {},  # channel -> MarketingOptedIn event id since the consent in force was granted
        "blocked": {},  # category -> PersonalDataBlocked event id
        "erased": None,
        "cards": {},
        "transfers": [],
        "requests": {},
        "enforcements": [],
    }


def evolve(state: State, envelope: Envelope) -> State:
    """The state after `envelope`; a redelivered one (subjectversion <= version) returns `state` unchanged."""
    if str(envelope.subject) != state["subject_id"]:
        raise ValueError(f"event {envelope.id} is about another subject than {state['subject_id']}")
    if envelope.subjectversion <= state["version"]:
        return state
    new = dict(state)
    new["version"] = envelope.subjectversion
    if envelope.position is not None:
        new["position"] = envelope.position
    event_id = new["last_event_id"] = str(envelope.id)  # once: a UUID's text is made in Python, each time asked
    apply = _APPLY.get(type(envelope.data))
    if apply is not None:  # rectification changes nothing here: its new values are only in `pii`
        apply(new, event_id, envelope)
    return new


# --- one function per event: each replaces the parts it changes, never mutating them --------------


def _granted(state: State, event_id: str, envelope: Envelope) -> None:
    terms = _data(envelope, ConsentGranted).terms
    state["consent"] = {
        "event_id": event_id,
        "purposes": sorted(terms.purposes),
        "categories": sorted(terms.categories),
        "marketing_channels": sorted(terms.marketing_channels),
        "third_party_transfer": terms.third_party_transfer,
        "recipients": sorted(terms.recipients),
        "cross_border_countries": sorted(terms.cross_border_countries),
        "valid_until": terms.valid_until.isoformat() if terms.valid_until else None,
        "granted_at": utc_text(envelope.time),
    }
    _set_status(state, "active", event_id)
    state["withdrawal"] = None
    state["opted_in"] = {}  # the new grant is now the latest word on every channel
    # Opt-outs survive a new consent: marketing stopped on demand resumes only by an explicit opt-in.


def _opted_out(state: State, event_id: str, envelope: Envelope) -> None:
    channels = _data(envelope, MarketingOptedOut).channels
    state["opted_out"] = {**state["opted_out"], **dict.fromkeys(channels, event_id)}
    state["opted_in"] = _without(state["opted_in"], channels)


def _opted_in(state: State, event_id: str, envelope: Envelope) -> None:
    channels = _data(envelope, MarketingOptedIn).channels
    state["opted_out"] = _without(state["opted_out"], channels)
    state["opted_in"] = {**state["opted_in"], **dict.fromkeys(channels, event_id)}


def _withdrawal_requested(state: State, event_id: str, envelope: Envelope) -> None:
    data = _data(envelope, ConsentWithdrawalRequested)
    _set_status(state, "withdrawal_pending", event_id)
    state["withdrawal"] = {"request_event_id": event_id, "effective_on": data.effective_on.isoformat()}
    application = {
        "filed_on": data.filed_on.isoformat(),
        "effective_on": data.effective_on.isoformat(),
        "entered_late_by_days": data.entered_late_by_days,  # None on events recorded before the field existed
        "status": "pending",
        "outcome_event_id": None,
        "reason": None,
        "legal_basis": None,
    }
    state["withdrawals"] = {**state["withdrawals"], event_id: application}


def _withdrawal_refused(state: State, event_id: str, envelope: Envelope) -> None:
    data = _data(envelope, ConsentWithdrawalRefused)
    if data.withdrawal_request_id is not None:  # None: refused as filed, no application was ever pending
        refusal = {"reason": data.reason, "legal_basis": data.legal_basis}
        _settle_withdrawal(state, str(data.withdrawal_request_id), "refused", event_id, **refusal)
    if state["status"] == "withdrawal_pending":
        _set_status(state, "active", event_id)
    state["withdrawal"] = None  # refused as filed: nothing was pending, the consent stays as it was


def _withdrawn(state: State, event_id: str, envelope: Envelope) -> None:
    data = _data(envelope, ConsentWithdrawn)
    _settle_withdrawal(state, str(data.withdrawal_request_id), "withdrawn", event_id)
    _set_status(state, "withdrawn", event_id)
    state["withdrawal"] = None


def _expired(state: State, event_id: str, envelope: Envelope) -> None:
    _data(envelope, ConsentExpired)
    if state["withdrawal"] is not None:  # the consent ran out before the pending withdrawal took effect
        _settle_withdrawal(state, state["withdrawal"]["request_event_id"], "lapsed", event_id)
    _set_status(state, "expired", event_id)
    state["withdrawal"] = None


def _blocked(state: State, event_id: str, envelope: Envelope) -> None:
    categories = _data(envelope, PersonalDataBlocked).categories
    state["blocked"] = {**state["blocked"], **dict.fromkeys(categories, event_id)}


def _unblocked(state: State, event_id: str, envelope: Envelope) -> None:
    state["blocked"] = _without(state["blocked"], _data(envelope, PersonalDataUnblocked).categories)


def _transferred(state: State, event_id: str, envelope: Envelope) -> None:
    data = _data(envelope, PersonalDataTransferred)
    transfer = {
        "event_id": event_id,
        "recipient": data.recipient,
        "country": data.country,
        "categories": sorted(data.categories),
        "purpose": data.purpose,
        "at": utc_text(envelope.time),
    }
    state["transfers"] = [*state["transfers"], transfer]


def _erased(state: State, event_id: str, envelope: Envelope) -> None:
    ground = _data(envelope, PersonalDataErased).ground
    state["erased"] = {"event_id": event_id, "ground": ground, "at": utc_text(envelope.time)}
    if state["withdrawal"] is not None:  # processing ended before the pending withdrawal took effect
        _settle_withdrawal(state, state["withdrawal"]["request_event_id"], "lapsed", event_id)


def _card_linked(state: State, event_id: str, envelope: Envelope) -> None:
    card = {"linked_event_id": event_id, "blocked_event_id": None, "cause_event_id": None}
    state["cards"] = {**state["cards"], _data(envelope, LoyaltyCardLinked).card_ref: card}


def _card_blocked(state: State, event_id: str, envelope: Envelope) -> None:
    data = _data(envelope, LoyaltyCardBlocked)
    _set_card(state, data.card_ref, blocked_event_id=event_id, cause_event_id=data.cause_event_id)


def _card_unblocked(state: State, event_id: str, envelope: Envelope) -> None:
    _set_card(state, _data(envelope, LoyaltyCardUnblocked).card_ref, blocked_event_id=None, cause_event_id=None)


def _request_received(state: State, event_id: str, envelope: Envelope) -> None:
    data = _data(envelope, SubjectRequestReceived)
    request = {
        "kind": data.kind,
        "received_on": data.received_on.isoformat(),
        "due_on": data.due_on.isoformat(),
        "entered_late_by_days": data.entered_late_by_days,
        "status": "open",
        "event_id": event_id,
        "answered_on": None,
        "response_ref": None,  # what was sent, e.g. the access report's reference
        "reason": None,  # why it was rejected
    }
    state["requests"] = {**state["requests"], data.request_id: request}


def _request_answered(state: State, event_id: str, envelope: Envelope) -> None:
    data = _data(envelope, SubjectRequestAnswered)
    answer = {"answered_on": data.answered_on.isoformat(), "response_ref": data.response_ref}
    _close_request(state, data.request_id, "answered", event_id, **answer)


def _request_rejected(state: State, event_id: str, envelope: Envelope) -> None:
    data = _data(envelope, SubjectRequestRejected)
    _close_request(state, data.request_id, "rejected", event_id, reason=data.reason)


def _enforcement_confirmed(state: State, event_id: str, envelope: Envelope) -> None:
    data = _data(envelope, EnforcementConfirmed)
    enforcement = {
        "system": data.system,
        "enforced_event_id": data.enforced_event_id,
        "action": data.action,
        "event_id": event_id,
    }
    state["enforcements"] = [*state["enforcements"], enforcement]


# --- helpers -------------------------------------------------------------------------------------


def _data(envelope: Envelope, kind: type[DataT]) -> DataT:
    data = envelope.data
    if not isinstance(data, kind):  # the registry below pairs each function with its event
        raise TypeError(f"event {envelope.id} is {type(data).__name__}, not {kind.__name__}")
    return data


def _set_status(state: State, status: str, event_id: str) -> None:
    state["status"] = status
    state["status_event_id"] = event_id


def _without(mapping: dict[str, str], keys: Collection[str]) -> dict[str, str]:
    return {key: value for key, value in mapping.items() if key not in keys}


def _set_card(state: State, card_ref: str, **changes: str | None) -> None:
    known = state["cards"].get(card_ref)
    if known is not None:  # the ledger links a card before anything else happens to it
        state["cards"] = {**state["cards"], card_ref: {**known, **changes}}


def _close_request(state: State, request_id: str, status: str, event_id: str, **outcome: str | None) -> None:
    known = state["requests"].get(request_id)
    if known is not None:  # the ledger answers or rejects only a request it received
        closed = {**known, **outcome, "status": status, "event_id": event_id}
        state["requests"] = {**state["requests"], request_id: closed}


def _settle_withdrawal(state: State, application_id: str, status: str, event_id: str, **outcome: str) -> None:
    known = state["withdrawals"].get(application_id)
    if known is not None:  # a reader that started mid-stream never saw the application filed
        settled = {**known, **outcome, "status": status, "outcome_event_id": event_id}
        state["withdrawals"] = {**state["withdrawals"], application_id: settled}


_APPLY: dict[type[EventData], Callable[[State, str, Envelope], None]] = {
    ConsentGranted: _granted,
    MarketingOptedOut: _opted_out,
    MarketingOptedIn: _opted_in,
    ConsentWithdrawalRequested: _withdrawal_requested,
    ConsentWithdrawalRefused: _withdrawal_refused,
    ConsentWithdrawn: _withdrawn,
    ConsentExpired: _expired,
    PersonalDataBlocked: _blocked,
    PersonalDataUnblocked: _unblocked,
    PersonalDataTransferred: _transferred,
    PersonalDataErased: _erased,
    LoyaltyCardLinked: _card_linked,
    LoyaltyCardBlocked: _card_blocked,
    LoyaltyCardUnblocked: _card_unblocked,
    SubjectRequestReceived: _request_received,
    SubjectRequestAnswered: _request_answered,
    SubjectRequestRejected: _request_rejected,
    EnforcementConfirmed: _enforcement_confirmed,
}
