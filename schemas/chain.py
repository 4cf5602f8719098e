"""Check a subject's events: each hash matches its envelope and each links to the one before it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from schemas.envelope import event_hash


def chain_problems(envelopes: Iterable[Mapping[str, Any]]) -> list[str]:
    """What does not add up in these envelopes (one subject's or many, in order); empty when all verify."""
    problems: list[str] = []
    last: dict[str, tuple[int, str]] = {}  # subject -> (subjectversion, hash) of its latest event
    for envelope in envelopes:
        subject, version, event_id = envelope["subject"], envelope["subjectversion"], envelope["id"]
        expected = event_hash(envelope)
        if envelope.get("hash") != expected:
            problems.append(f"event {event_id}: hash {envelope.get('hash')} does not match its content ({expected})")
        previous = last.get(subject)
        expected_version = previous[0] + 1 if previous else 1
        if version != expected_version:
            problems.append(f"event {event_id}: subject {subject} version {version}, expected {expected_version}")
        expected_prev = previous[1] if previous else None
        if envelope.get("prevhash") != expected_prev:
            problems.append(f"event {event_id}: prevhash {envelope.get('prevhash')} should be {expected_prev}")
        last[subject] = (version, envelope.get("hash", ""))
    return problems
