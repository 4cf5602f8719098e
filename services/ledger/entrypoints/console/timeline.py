"""A subject's events as a person reads them: what happened, who did it through which channel, the proof, the hash.

Pure: from the envelopes the ledger publishes (personal data encrypted in them) to rows of words in one
language. Personal data is never opened here: a row says only whether the event holds some (encrypted)
and whether it has been destroyed by an erasure, whose key destruction makes it unreadable for good.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schemas.chain import chain_problems
from services.ledger.entrypoints.console.rendering import Words, moment

# How a field of an event's data is put into words: the vocabulary kind of its codes (a list or one).
_KINDS = {
    "purposes": "purpose", "purpose": "purpose", "categories": "category", "channels": "channel",
    "marketing_channels": "channel", "kind": "request_kind", "requested_by": "requested_by", "country": "country",
    "cross_border_countries": "country",
}  # fmt: skip
_GROUNDS = {"PersonalDataBlocked": "block_ground", "PersonalDataUnblocked": "unblock_ground"}
_GROUNDS |= {"PersonalDataErased": "erasure_ground"}
_HIDDEN = frozenset({"terms", "consent_id", "decided_by"})  # shown otherwise, or not a person's concern


@dataclass(frozen=True)
class Row:
    """One event of the timeline."""

    event_id: str
    type: str
    version: int  # its position in the subject's chain, from 1
    recorded_at: str
    actor: str
    channel: str | None  # the sender (tablet, web, contact-centre, a system); None for a person's own token
    what: str
    details: list[tuple[str, str]] = field(default_factory=list)
    proof: list[tuple[str, str]] = field(default_factory=list)
    personal_data: str | None = None  # "encrypted" or "destroyed", None when the event holds none
    hash: str = ""
    prevhash: str | None = None


@dataclass(frozen=True)
class Timeline:
    """A subject's rows, oldest first, with what checking their hash chain found."""

    rows: list[Row]
    chain_problems: list[str]
    erased: bool

    @property
    def verified(self) -> bool:
        """Whether every event links to the one before it and its hash is its content's."""
        return not self.chain_problems


def timeline(envelopes: Sequence[Mapping[str, Any]], words: Words) -> Timeline:
    """The timeline of one subject's envelopes (in chain order)."""
    erased = any(envelope["type"].endswith(".PersonalDataErased") for envelope in envelopes)
    rows = [_row(envelope, words, erased) for envelope in envelopes]
    return Timeline(rows, chain_problems(envelopes), erased)


def event_name(envelope: Mapping[str, Any]) -> str:
    """The catalogue name of an envelope's event (ConsentGranted)."""
    return str(envelope["type"]).rsplit(".", 1)[-1]


def _row(envelope: Mapping[str, Any], words: Words, erased: bool) -> Row:
    name, data = event_name(envelope), envelope["data"]
    actor = str(envelope.get("actor") or "")
    sender = actor.split("/", 1)[0]
    channel = sender if "/" in actor or words.knows(f"sender.{sender}") else None
    details, proof = _details(name, data, words), _proof(name, data, words)
    held = "destroyed" if erased else "encrypted"
    return Row(
        event_id=envelope["id"], type=name, version=envelope["subjectversion"],
        recorded_at=moment(envelope["recordedat"]), actor=actor, channel=channel,
        what=words.term("event", name), details=details, proof=proof,
        personal_data=held if envelope.get("pii") else None, hash=envelope["hash"], prevhash=envelope.get("prevhash"),
    )  # fmt: skip


def _details(name: str, data: Mapping[str, Any], words: Words) -> list[tuple[str, str]]:
    """Each field of the event's data as (label, words)."""
    found: list[tuple[str, str]] = []
    terms = data.get("terms")
    if terms:  # a consent: what it covers
        found += [
            (words("field.purposes"), words.terms("purpose", terms["purposes"])),
            (words("field.categories"), words.terms("category", terms["categories"])),
            (words("field.marketing_channels"), words.terms("channel", terms["marketing_channels"])),
            (words("field.third_party_transfer"), words("yes") if terms["third_party_transfer"] else words("no")),
            (words("field.cross_border_countries"), words.terms("country", terms["cross_border_countries"])),
            (words("field.valid_until"), terms["valid_until"] or words("consent.programme_term")),
            (words("field.notice"), f"{terms['notice']['form_id']} {terms['notice']['form_version']}"),
        ]
    for key, value in data.items():
        if key in _HIDDEN or value is None or value == []:
            continue
        found.append((words(f"field.{key}"), _value(name, key, value, words)))
    return found


def _value(name: str, key: str, value: Any, words: Words) -> str:
    kind = _GROUNDS.get(name) if key == "ground" else _KINDS.get(key)
    if kind is not None:
        return words.terms(kind, value) if isinstance(value, list) else words.term(kind, str(value))
    if isinstance(value, bool):
        return words("yes") if value else words("no")
    if key == "reason" and name == "ConsentWithdrawalRefused":
        return words.term("refusal", str(value))
    return str(value)


def _proof(name: str, data: Mapping[str, Any], words: Words) -> list[tuple[str, str]]:
    """What proves the act: the consent's collection and its proof, or the document an answer sent."""
    terms = data.get("terms")
    if terms:
        collection = terms["collection"]
        found = [(words("proof.method"), words.term("method", collection["method"]))]
        found += [(words.term("proof", key), str(value)) for key, value in collection["proof"].items() if value]
        if collection.get("consultant_id"):
            found.append((words("proof.consultant"), collection["consultant_id"]))
        if collection.get("store_id"):
            found.append((words("proof.store"), collection["store_id"]))
        return found
    if name == "SubjectRequestReceived":
        return [(words("proof.identity_document"), words("proof.identity_document_kept"))]
    return []


@dataclass(frozen=True)
class Enforcement:
    """A subscriber system's confirmation that it enforced an event, and how long it took."""

    system: str
    action: str
    event_id: str
    what: str  # the enforced event, in words
    confirmed_at: str
    took: str  # from the enforced event's recording to the confirmation's


def enforcements(envelopes: Sequence[Mapping[str, Any]], words: Words) -> list[Enforcement]:
    """Every EnforcementConfirmed of the subject, with the event it enforced and the time it took."""
    by_id = {envelope["id"]: envelope for envelope in envelopes}
    found = []
    for envelope in envelopes:
        if event_name(envelope) != "EnforcementConfirmed":
            continue
        data = envelope["data"]
        enforced = by_id.get(data["enforced_event_id"])
        took = "—"
        if enforced is not None:
            took_from = datetime.fromisoformat(enforced["recordedat"])
            seconds = (datetime.fromisoformat(envelope["recordedat"]) - took_from).total_seconds()
            took = words("duration.seconds", seconds=f"{seconds:.1f}")
        what = words.term("event", event_name(enforced)) if enforced else data["enforced_event_id"]
        found.append(
            Enforcement(data["system"], data["action"], data["enforced_event_id"], what,
                        moment(envelope["recordedat"]), took)
        )  # fmt: skip
    return found


def transfers(envelopes: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Every transfer of the subject's data (a country other than KZ is cross-border), with its event."""
    return [
        {**envelope["data"], "event_id": envelope["id"], "recorded_at": moment(envelope["recordedat"]),
         "cross_border": envelope["data"]["country"] != "KZ"}
        for envelope in envelopes
        if event_name(envelope) == "PersonalDataTransferred"
    ]  # fmt: skip
