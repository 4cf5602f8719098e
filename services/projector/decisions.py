"""Checks: may system S use subject X's data for purpose P (over channel C, to recipient R in country K) now?

`decide` answers from a subject's projected state (services.projector.projection) with the rule
that decided and the event it rests on. The rules run in the order of docs/architecture.md
("Decisions of a check"); the first that denies decides. A service message about an order is
allowed by the policy itself, not by any event: its answer carries the rule and no event, unless
an erasure or a block denies it. Pure: no I/O, no clock (`today` is the day
in Kazakhstan, given by the caller). Reasons name rules, purposes, categories, channels and
countries, never personal data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

HOME_COUNTRY = "KZ"  # data is stored in Kazakhstan: a transfer anywhere else is cross-border
MARKETING = "marketing"
SERVICE_PURPOSE = "delivery_and_service"

RULES = (
    "no_consent", "erased", "data_blocked", "service_message", "consent_withdrawn", "consent_expired",
    "withdrawal_effective", "withdrawal_pending", "purpose_not_consented", "category_not_consented",
    "channel_required", "channel_not_consented", "opted_out", "transfer_not_consented", "country_required",
    "cross_border_not_consented", "consented",
)  # fmt: skip


KAZAKHSTAN = ZoneInfo("Asia/Almaty")  # a check's "today" is the day in Kazakhstan


@dataclass(frozen=True)
class Question:
    """What a system asks: may it use the subject's data for `purpose` (over `channel`, to `recipient` in `country`)?"""

    system: str
    purpose: str
    channel: str | None = None
    recipient: str | None = None
    country: str | None = None
    categories: tuple[str, ...] = ()
    service_message: bool = False  # a message about an order and its stages


@dataclass(frozen=True)
class Decision:
    """Allow or deny, the rule that decided (a stable code), why in plain words, and the deciding event."""

    allow: bool
    rule: str
    reason: str
    event_id: str | None  # None when no event decided: the subject is unknown, or a service message


State = dict[str, Any]
Rule = Callable[[State, Question, date], Decision | None]


def decide(state: State | None, question: Question, today: date) -> Decision:
    """Answer `question` for the subject in `state` (None: nothing recorded about them) on `today`."""
    if state is None:
        if question.service_message and question.purpose == SERVICE_PURPOSE and question.recipient is None:
            return Decision(True, "service_message", "a service message about an order needs no consent", None)
        return Decision(False, "no_consent", "nothing is recorded about the subject", None)
    for rule in _RULES:
        decision = rule(state, question, today)
        if decision is not None:
            return decision
    consent = state["consent"]
    opted_in = state["opted_in"].get(question.channel) if question.purpose == MARKETING else None
    reason = f"marketing by {question.channel} resumed by the subject" if opted_in else "the consent in force covers it"
    return Decision(True, "consented", reason, opted_in or consent["event_id"])


# --- the rules, in order: each denies (or, for service messages, allows) or passes -------------------


def _erasure(state: State, question: Question, today: date) -> Decision | None:
    erased = state["erased"]
    if erased is None:
        return None
    return _deny("erased", f"the subject's data was erased (ground: {erased['ground']})", erased["event_id"])


# The data a message over a channel cannot do without, whether or not the caller names it.
CHANNEL_CATEGORIES = {
    "sms": {"contacts"}, "email": {"contacts"}, "phone": {"contacts"}, "other": {"contacts"},
    "post": {"name", "residence_address"},
}  # fmt: skip


def categories_used(question: Question) -> set[str]:
    """The categories the question names, plus those its channel needs (a service message reaches contacts)."""
    used = set(question.categories) | CHANNEL_CATEGORIES.get(question.channel or "", set())
    return used | ({"contacts"} if question.service_message and not question.channel else set())


def _blocks(state: State, question: Question, today: date) -> Decision | None:
    blocked = sorted(categories_used(question) & state["blocked"].keys())
    if not blocked:
        return None
    return _deny("data_blocked", f"processing of {', '.join(blocked)} is blocked", state["blocked"][blocked[0]])


def _service_message(state: State, question: Question, today: date) -> Decision | None:
    # Policy §2: messages about an order are sent automatically, whatever the marketing consent.
    # Handing data to a third party is not a message, so a question naming a recipient takes the transfer rules.
    if not question.service_message or question.purpose != SERVICE_PURPOSE or question.recipient is not None:
        return None
    reason = "a service message about an order needs no marketing consent"
    return Decision(True, "service_message", reason, None)  # the policy allows it, no event does


def _consent_in_force(state: State, question: Question, today: date) -> Decision | None:
    status, consent = state["status"], state["consent"]
    if status == "withdrawn":
        return _deny("consent_withdrawn", "the consent was withdrawn", state["status_event_id"])
    if status == "expired":
        return _deny("consent_expired", "the consent's term ended", state["status_event_id"])
    if consent is None:
        return _deny("no_consent", "the subject has not consented", state["last_event_id"])
    valid_until = consent["valid_until"]
    if valid_until is not None and today > date.fromisoformat(valid_until):
        return _deny("consent_expired", f"the consent's term ended on {valid_until}", consent["event_id"])
    return None


def _withdrawal(state: State, question: Question, today: date) -> Decision | None:
    withdrawal = state["withdrawal"]
    if state["status"] != "withdrawal_pending" or withdrawal is None:
        return None
    effective_on, request_id = withdrawal["effective_on"], withdrawal["request_event_id"]
    if today >= date.fromisoformat(effective_on):
        return _deny("withdrawal_effective", f"the withdrawal took effect on {effective_on}", request_id)
    if question.purpose == MARKETING:
        reason = f"marketing stopped when the withdrawal was filed; it takes effect on {effective_on}"
        return _deny("withdrawal_pending", reason, request_id)
    return None


def _coverage(state: State, question: Question, today: date) -> Decision | None:
    consent = state["consent"]
    grant = consent["event_id"]
    if question.purpose not in consent["purposes"]:
        return _deny("purpose_not_consented", f"the consent does not cover the purpose {question.purpose}", grant)
    uncovered = sorted(set(question.categories) - set(consent["categories"]))
    if uncovered:
        return _deny("category_not_consented", f"the consent does not cover {', '.join(uncovered)}", grant)
    return None


def _marketing_channel(state: State, question: Question, today: date) -> Decision | None:
    if question.purpose != MARKETING:
        return None
    channel, grant = question.channel, state["consent"]["event_id"]
    if channel is None:
        return _deny("channel_required", "marketing needs the channel it would use", grant)
    if channel not in state["consent"]["marketing_channels"]:
        return _deny("channel_not_consented", f"the consent does not cover marketing by {channel}", grant)
    opted_out = state["opted_out"].get(channel)
    if opted_out is not None:
        return _deny("opted_out", f"the subject stopped marketing by {channel}", opted_out)
    return None


def _transfer(state: State, question: Question, today: date) -> Decision | None:
    consent, recipient, country = state["consent"], question.recipient, question.country
    grant = consent["event_id"]
    if recipient is not None:
        if not consent["third_party_transfer"]:
            return _deny("transfer_not_consented", "the consent does not allow transfer to third parties", grant)
        if consent["recipients"] and recipient not in consent["recipients"]:
            return _deny("transfer_not_consented", "the consent does not name this recipient", grant)
        if country is None:
            return _deny("country_required", "a transfer needs the recipient's country", grant)
    if country is not None and country != HOME_COUNTRY and country not in consent["cross_border_countries"]:
        return _deny("cross_border_not_consented", f"the consent does not allow transfer to {country}", grant)
    return None


def _deny(rule: str, reason: str, event_id: str) -> Decision:
    return Decision(False, rule, reason, event_id)


_RULES: tuple[Rule, ...] = (
    _erasure,
    _blocks,
    _service_message,
    _consent_in_force,
    _withdrawal,
    _coverage,
    _marketing_channel,
    _transfer,
)
