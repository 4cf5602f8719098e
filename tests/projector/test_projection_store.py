"""A poll batch is folded and written at once: the rows, the register and the cascade as if applied record by record."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, uuid5

import orjson
import pytest

from schemas.events import parse_envelope
from services.projector.store import Consumed, ProjectionStore
from tests.schemas.ledger_history import ledger_history

OTHER_SUBJECT = "5b0a4c9e-2d33-4f7a-9a51-0c6d2f8e1b77"
TOPIC = "consent.events.v1"


def interleaved() -> list[Consumed]:
    """Two subjects' whole histories (every catalogue event) on one partition, their records alternating.

    The second is the first with another subject id and other event ids, wherever they are named.
    """
    ours = [orjson.dumps(document).decode() for document in ledger_history()]
    renamed = {orjson.loads(text)["id"]: str(uuid5(NAMESPACE_URL, text)) for text in ours}
    renamed[orjson.loads(ours[0])["subject"]] = OTHER_SUBJECT
    theirs = []
    for text in ours:
        other = text
        for old, new in renamed.items():
            other = other.replace(old, new)
        theirs.append(other)
    values = [text.encode() for pair in zip(ours, theirs, strict=True) for text in pair]
    return [Consumed(0, offset, parse_envelope(value)) for offset, value in enumerate(values)]


def applied(path: Path, batches: list[list[Consumed]]) -> tuple[dict[str, list[Any]], list[dict[str, Any]]]:
    """Every read-model row and the unsent cascade after applying `batches` in turn to a fresh store at `path`."""
    store = ProjectionStore(f"sqlite:///{path}")
    try:
        for batch in batches:
            store.apply(TOPIC, batch)
        return store.dump(), store.unsent_cascade()
    finally:
        store.close()


@pytest.mark.parametrize("size", [3, 7])
def test_a_batch_writes_what_applying_its_records_one_by_one_writes(tmp_path: Path, size: int) -> None:
    records = interleaved()
    subjects = sorted({str(record.envelope.subject) for record in records if record.envelope is not None})
    redelivered = [records[max(0, start - 2) : start + size] for start in range(0, len(records), size)]

    one_by_one = applied(tmp_path / "one.sqlite3", [[record] for record in records])
    at_once = applied(tmp_path / "all.sqlite3", [records])
    in_batches = applied(tmp_path / "some.sqlite3", redelivered)  # each repeats the last two records of the one before

    assert at_once == one_by_one
    assert in_batches == one_by_one
    rows, cascade = one_by_one
    assert [(row[0], row[1]) for row in rows["subject_state"]] == [(s, len(records) // 2) for s in subjects]
    assert len(rows["transfer_register"]) == 2  # one transfer each, written once
    assert sorted((row[0], row[1]) for row in rows["subject_requests"]) == [
        (s, r) for s in subjects for r in ("req-1", "req-2")
    ]
    assert {row[0] for row in rows["withdrawal_applications"]} == set(subjects)
    assert sorted((c["type"], c["subject_id"]) for c in cascade) == [("BlockLoyaltyCard", s) for s in subjects]
