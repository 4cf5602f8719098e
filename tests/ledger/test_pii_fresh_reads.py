"""An erasure made by one ledger instance is honoured at once by another's answers to the subject.

PiiCipher caches a subject's key for a while (60 s by default), so another instance that read the key
just before the erasure could still open the data from its cache. A fresh read goes to the key store;
the access report reads only that way. Runs against both stores.
"""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import pytest

from services.ledger.adapters.pii.cipher import SubjectErasedError
from services.ledger.application.ledger import Ledger
from services.ledger.domain.terms import Controller
from services.ledger.domain.vocabulary import ErasureGround
from services.ledger.reports.access_report import build_access_report
from tests.ledger.conftest import at, ctx, make_ledger, tablet_consent

SUBJECT_PII = {"name": "Synthetic Cached Subject", "phone": "+7 700 000 0404"}


@pytest.fixture
def two_instances(store_url: str) -> Iterator[tuple[Ledger, Ledger]]:
    """Two ledger instances on one store, as two processes would run them: own caches, own connections."""
    first, second = make_ledger(store_url), make_ledger(store_url)
    yield first, second
    first.close()
    second.close()


def test_a_warm_cache_in_another_instance_cannot_decrypt_for_the_report_after_the_erasure(
    two_instances: tuple[Ledger, Ledger],
) -> None:
    eraser, reader = two_instances
    subject = uuid4()
    eraser.grant_consent(subject, ctx("grant"), tablet_consent(), SUBJECT_PII)
    events, _ = reader.history(subject)
    token = events[0].pii or ""
    assert reader.cipher.decrypt(str(subject), token) == SUBJECT_PII  # the reader's cache now holds the key

    eraser.erase_data(subject, ctx("erase", "2026-05-05", "dpo"), ErasureGround.SUBJECT_OR_AUTHORITY_DEMAND, "subject")

    assert reader.cipher.decrypt(str(subject), token) == SUBJECT_PII, "the cached key still opens it: the known gap"
    with pytest.raises(SubjectErasedError):
        reader.cipher.decrypt(str(subject), token, fresh=True)
    with pytest.raises(SubjectErasedError):
        reader.cipher.decrypt(str(subject), token)  # a fresh read that finds the key destroyed drops the cached one
    assert reader.cipher.is_erased(str(subject))


def test_the_report_of_another_instance_says_destroyed_even_as_of_a_moment_before_the_erasure(
    two_instances: tuple[Ledger, Ledger],
) -> None:
    eraser, reader = two_instances
    subject = uuid4()
    eraser.grant_consent(subject, ctx("grant"), tablet_consent(), SUBJECT_PII)
    events, _ = reader.history(subject)
    reader.cipher.decrypt(str(subject), events[0].pii or "")  # warm the reader's cache
    controller = Controller("ESPERANCE-RK LLP", "220240037922")

    eraser.erase_data(subject, ctx("erase", "2026-05-05", "dpo"), ErasureGround.SUBJECT_OR_AUTHORITY_DEMAND, "subject")
    report = build_access_report(reader, subject, as_of=at("2026-05-04", "12:00"), controller=controller)

    assert report["erasures"] == [], "the erasure came after the moment reported on"
    assert report["personal_data"] == {"status": "destroyed", "records": []}
    assert SUBJECT_PII["name"] not in str(report)
