"""evidence_build and evidence_verify: an evidence bundle of the whole synthetic ledger, then its verification.

The ceilings, measured in the same run: reading every event of the store once (`ledger_pages`, what
any bundle must read) for the build, and parsing and hashing every event of the bundle once (what
any verifier must do at the least) for the verification.
"""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime
from pathlib import Path

import orjson

from schemas.envelope import event_hash
from schemas.evidence import EVENTS
from schemas.evidence_verifier import verify_bundle
from services.bench.environment import Bench
from services.bench.harness import Line, Meter, line, rate, stopwatch
from services.bench.shared import filled
from services.ledger.evidence.bundle import Scope, ledger_pages, write_bundle


def _hash_every_event(path: Path) -> int:
    """Parse and hash each event of the bundle once: what any verifier must do at the least."""
    count = 0
    with zipfile.ZipFile(path) as bundle, bundle.open(EVENTS) as lines:
        for text in lines:
            event_hash(orjson.loads(text))
            count += 1
    return count


def evidence(bench: Bench) -> list[Line]:
    """The build line (events/s, 100k in 10 s is 10,000/s) and the verify line (events/s)."""
    ledger = filled(bench)
    wired, path = ledger.wired, bench.folder / "evidence.zip"
    with stopwatch() as took:
        read = sum(len(page) for page in ledger_pages(wired.ledger, lambda n: None))
    store_read = rate(read, took[0])
    progress = bench.task("evidence_build", None)
    meter = Meter().start()
    with stopwatch() as took:
        summary = write_bundle(
            wired.ledger, wired.forms, ledger.secrets.signing_key, scope=Scope(), path=path, now=datetime.now(UTC)
        )
    built = line(
        "evidence_build", rate(summary.events, took[0]), store_read, "read the event store once",
        events=summary.events, usage=meter.stop(), detail={"seconds": took[0], "bundle_mb": summary.bytes / 1e6},
    )  # fmt: skip
    progress(summary.events)
    with stopwatch() as took:
        hashed = _hash_every_event(path)
    hashing = rate(hashed, took[0])
    meter = Meter().start()
    with stopwatch() as took:
        verdict = verify_bundle(path, ledger.secrets.signing_key.public, bench.task("evidence_verify", None))
    if not verdict.verified:
        raise RuntimeError(f"the bench's own bundle does not verify: {verdict}")
    verified = line(
        "evidence_verify", rate(verdict.events, took[0]), hashing, "parse and hash every event once",
        events=verdict.events, usage=meter.stop(), detail={"seconds": took[0]},
    )  # fmt: skip
    path.unlink()
    return [built, verified]
