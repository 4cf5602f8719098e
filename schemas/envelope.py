"""The CloudEvents 1.0 envelope of consent.events.v1: canonical bytes and the hash chain.

`hash` is SHA-256 over the canonical JSON of the envelope without `hash` and without `position`
(the ledger order, assigned when the relay publishes; positions are attested separately by
signed checkpoints). `prevhash` is the `hash` of the subject's previous event. Canonical JSON:
UTF-8, keys sorted, no insignificant white space, times in UTC as ISO 8601 with a `Z`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

SPEC_VERSION = "1.0"
TYPE_PREFIX = "kz.esperance.consent.v1."
CONTENT_TYPE = "application/cloudevents+json"
NOT_HASHED = frozenset({"hash", "position"})


def utc_text(moment: datetime) -> str:
    """A moment as canonical text: UTC, ISO 8601, microseconds, `Z`."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous: give a timezone")
    utc = moment.astimezone(UTC)
    if utc.year >= 1000:  # the same text as strftime below, ten times faster (every event has two moments)
        return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_text_of_iso(iso: str) -> str:
    """`utc_text` of the moment `iso` names (ISO 8601, an offset); a UTC one with microseconds is only re-spelled."""
    if iso.endswith("+00:00") and iso[0] != "0":  # isoformat leaves out a zero fraction
        if len(iso) == 32:  # YYYY-MM-DDTHH:MM:SS.ffffff+00:00
            return iso[:26] + "Z"
        if len(iso) == 25:  # YYYY-MM-DDTHH:MM:SS+00:00
            return iso[:19] + ".000000Z"
    return utc_text(datetime.fromisoformat(iso))


def canonical_bytes(document: Mapping[str, Any]) -> bytes:
    """The canonical JSON of `document` (sorted keys, compact, UTF-8)."""
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


def event_hash(envelope: Mapping[str, Any]) -> str:
    """SHA-256 (hex) over the canonical envelope without `hash` and `position`."""
    hashed = {key: value for key, value in envelope.items() if key not in NOT_HASHED}
    return hashlib.sha256(canonical_bytes(hashed)).hexdigest()


def event_type(name: str) -> str:
    """The CloudEvents type of a catalogue event, e.g. kz.esperance.consent.v1.ConsentGranted."""
    return TYPE_PREFIX + name


def data_schema(name: str) -> str:
    """The `dataschema` URI of a catalogue event's data."""
    return f"urn:kz.esperance.consent:schema:v1:{name}"
