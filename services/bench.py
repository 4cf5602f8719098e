"""Benchmarks: figures printed beside the budget of DESIGN.md and a ceiling measured in the same run.

Run with `consent-ledger bench evidence --events 100000`. Everything happens in a temporary folder
that is removed afterwards; the data is synthetic (random subject ids, no personal data).
"""

from __future__ import annotations

import hashlib
import resource
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import orjson

from schemas.envelope import event_hash
from schemas.evidence import EVENTS
from schemas.evidence_verifier import verify_bundle
from services.ledger.adapters.calendar import KazakhCalendar
from services.ledger.adapters.forms import FormTexts
from services.ledger.adapters.pii.cipher import PiiCipher
from services.ledger.adapters.pii.keys import MasterKey
from services.ledger.adapters.signing import SigningKey
from services.ledger.adapters.store import eventsourcing_env, key_store
from services.ledger.application.ledger import Ledger
from services.ledger.domain.state import Context
from services.ledger.domain.subject import DataSubject
from services.ledger.domain.terms import Collection, ConsentTerms, Controller, Notice
from services.ledger.domain.vocabulary import Channel, CollectionMethod, DataCategory, Language, Purpose
from services.ledger.evidence.bundle import Scope, ledger_pages, write_bundle

Report = Callable[[str], None]
SAVE_BATCH = 500
SYNTHETIC_TERMS = ConsentTerms(
    controller=Controller("ESPERANCE-RK LLP", "220240037922"),
    notice=Notice("loyalty-consent", "bench", "0" * 64, Language.RU),
    purposes=frozenset({Purpose.LOYALTY, Purpose.MARKETING}),
    categories=frozenset({DataCategory.NAME, DataCategory.CONTACTS}),
    collection=Collection(CollectionMethod.WEB_CHECKBOX, {"checkbox_form_version": "bench"}),
    marketing_channels=frozenset({Channel.SMS, Channel.EMAIL}),
)


@dataclass(frozen=True)
class Figure:
    """One measured line: what, how much, how long."""

    name: str
    events: int
    seconds: float

    def line(self, budget: str = "") -> str:
        rate = self.events / self.seconds if self.seconds else float("inf")
        text = f"{self.name:<34} {self.events:>9,} events {self.seconds:>7.2f} s {rate:>10,.0f} events/s"
        return f"{text}   {budget}" if budget else text


@contextmanager
def _timed() -> Iterator[list[float]]:
    took: list[float] = []
    began = time.perf_counter()
    yield took
    took.append(time.perf_counter() - began)


def synthetic_ledger(url: str, events: int) -> Ledger:
    """A ledger at `url` holding `events` synthetic events: subjects that consent, then opt out of SMS."""
    ledger = Ledger(
        eventsourcing_env(url),
        calendar=KazakhCalendar(),
        cipher=PiiCipher(key_store(url, MasterKey(hashlib.sha256(url.encode()).digest()))),
    )
    start = datetime(2026, 5, 4, 5, tzinfo=UTC)
    for first in range(0, events, SAVE_BATCH * 2):
        subjects = []
        for n in range(first, min(events, first + SAVE_BATCH * 2), 2):
            now = start + timedelta(seconds=n)
            subject = DataSubject.blank(uuid4(), now)
            subject.grant_consent(Context(f"g{n}", "bench", now), SYNTHETIC_TERMS, None)
            if n + 1 < events:
                subject.opt_out_of_marketing(Context(f"o{n}", "bench", now), [Channel.SMS])
            subjects.append(subject)
        ledger.save(*subjects)
    return ledger


def evidence(events: int, report: Report) -> None:
    """Build and verify a bundle of the whole ledger of `events` events; print the figures."""
    with tempfile.TemporaryDirectory(prefix="bench-evidence-") as folder:
        url = f"sqlite:///{Path(folder) / 'ledger.sqlite3'}"
        report(f"filling a synthetic ledger with {events:,} events ...")
        with _timed() as took:
            ledger = synthetic_ledger(url, events)
        report(Figure("fill (not a budget line)", events, took[0]).line())
        forms, key, path = FormTexts(url), SigningKey.generate(), Path(folder) / "evidence.zip"
        try:
            with _timed() as took:
                read = sum(len(page) for page in ledger_pages(ledger, lambda n: None))
            report(Figure("ceiling: read the event store", read, took[0]).line())
            rss_before = _max_rss_mb()
            with _timed() as took:
                summary = write_bundle(ledger, forms, key, scope=Scope(), path=path, now=datetime.now(UTC))
            report(Figure("evidence bundle, whole ledger", summary.events, took[0]).line("budget: 100,000 in <= 10 s"))
            memory = f"peak memory {rss_before:.0f} -> {_max_rss_mb():.0f} MB"
            report(f"  bundle size {summary.bytes / 1e6:.1f} MB; {memory}")
        finally:
            ledger.close()
            forms.close()
        with _timed() as took:
            hashed = _hash_every_event(path)
        report(Figure("ceiling: hash every event once", hashed, took[0]).line())
        with _timed() as took:
            verdict = verify_bundle(path, key.public)
        report(Figure("verify the bundle", verdict.events, took[0]).line("budget: >= 50,000 events/s"))
        report(f"  {verdict}")


def _hash_every_event(path: Path) -> int:
    """Parse and hash each event of the bundle once: what any verifier must do at the least."""
    count = 0
    with zipfile.ZipFile(path) as bundle, bundle.open(EVENTS) as lines:
        for line in lines:
            event_hash(orjson.loads(line))
            count += 1
    return count


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
