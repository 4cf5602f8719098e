"""The subject access report (policy §5) as a PDF the DPO sends: the same document, legible in Kazakh and Russian.

A PDF is only as good as its fonts: a missing Cyrillic letter (one of the nine Kazakh adds to Russian's) would
show as an empty box. The text pypdf reads back from the pages must be the report's own words, and the
fonts the file embeds must be DejaVu. The PDF does not depend on the event store: these run on SQLite.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from services.ledger.bootstrap import build
from services.ledger.entrypoints.http.app import create_app
from services.ledger.reports.access_report import build_access_report
from services.ledger.reports.html import render_access_report
from services.ledger.reports.pdf import access_report_pdf
from services.ledger.reports.texts import TEXTS
from tests.ledger.acts import ScenarioLedger
from tests.ledger.conftest import make_ledger
from tests.ledger.test_access_report import (
    AFTER_ALL,
    B_PII,
    CONTROLLER,
    HEADINGS,
    REPRESENTATIVE_PII,
    given_a_subject_with_an_open_access_request,
    given_two_subjects_sharing_a_representative_a_card_and_a_request_batch,
    values,
)
from tests.ledger.test_http_api import Clock, auth, http_settings

KAZAKH_LETTERS = "әғқңөұүһі"  # the letters Kazakh adds to the Russian alphabet


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[ScenarioLedger]:
    app = make_ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    yield app
    app.close()


@pytest.fixture
def report(ledger: ScenarioLedger) -> dict[str, Any]:
    """Subject A's report: a consent granted by a representative, a transfer, a block, requests, a withdrawal."""
    subjects = given_two_subjects_sharing_a_representative_a_card_and_a_request_batch(ledger)
    return build_access_report(ledger, subjects.a, as_of=AFTER_ALL, controller=CONTROLLER)


def read(pdf: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(pdf))


def words(text: str) -> str:
    """`text` with line breaks and runs of spaces as single spaces."""
    return " ".join(text.split())


def text_of(pdf: bytes) -> str:
    """The words on every page, as pypdf reads them back."""
    return words(" ".join(page.extract_text() for page in read(pdf).pages))


def fonts_of(pdf: bytes) -> dict[str, bool]:
    """Each font the pages use, less its subset tag (ABCDEF+DejaVu-Sans → DejaVu-Sans): whether the file embeds it."""
    fonts = {}
    for page in read(pdf).pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            glyphs = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            descriptor = glyphs["/FontDescriptor"].get_object()
            name = str(font["/BaseFont"]).lstrip("/").split("+")[-1]
            fonts[name] = any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))
    return fonts


def test_the_kazakh_pdf_reads_as_the_kazakh_report_in_dejavu(report: dict[str, Any]) -> None:
    pdf = access_report_pdf(report, "kk")

    document = read(pdf)
    text = text_of(pdf)
    sections = [words(value) for key, value in TEXTS["kk"].items() if key.startswith("section.")]
    kazakh_letters = set(KAZAKH_LETTERS) & set(render_access_report(report, "kk"))
    assert pdf.startswith(b"%PDF-")
    assert HEADINGS["kk"] in text
    assert (len(sections), len(kazakh_letters)) == (13, 8), "every section, every Kazakh letter its texts use"
    assert [heading for heading in sections if heading not in text] == []
    assert kazakh_letters <= set(text)
    assert document.metadata is not None
    assert document.metadata.title.startswith(HEADINGS["kk"])
    assert document.trailer["/Root"]["/Lang"] == "kk"
    assert fonts_of(pdf) == {"DejaVu-Sans": True, "DejaVu-Sans-Bold": True, "DejaVu-Sans-Mono": True}


def test_the_russian_pdf_reads_as_the_russian_report_with_nobody_elses_data(report: dict[str, Any]) -> None:
    pdf = access_report_pdf(report, "ru")

    text = text_of(pdf)
    assert HEADINGS["ru"] in text
    assert words(TEXTS["ru"]["section.personal_data"]) in text
    assert read(pdf).trailer["/Root"]["/Lang"] == "ru"
    assert [value for value in values(B_PII, REPRESENTATIVE_PII) if value in text] == []
    assert set(fonts_of(pdf)) <= {"DejaVu-Sans", "DejaVu-Sans-Bold", "DejaVu-Sans-Mono"}
    assert all(fonts_of(pdf).values()), "every font embedded"


# --- over HTTP ---------------------------------------------------------------------------------


@pytest.fixture
def clock() -> Clock:
    clock = Clock()
    clock.on("2026-05-04")
    return clock


@pytest.fixture
def api(tmp_path: Path, clock: Clock) -> Iterator[TestClient]:
    with TestClient(
        create_app(wired=build(http_settings(f"sqlite:///{tmp_path / 'ledger.sqlite3'}"), clock))
    ) as client:
        yield client


def test_the_dpo_downloads_the_kazakh_report_as_a_pdf_attachment(api: TestClient, clock: Clock) -> None:
    subject = given_a_subject_with_an_open_access_request(api, clock)
    url = f"/v1/subjects/{subject}/access-report"

    answer = api.get(url, params={"format": "pdf", "lang": "kk"}, headers=auth("dpo"))

    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"] == f'attachment; filename="access-report-{subject}-kk.pdf"'
    assert answer.headers["content-language"] == "kk"
    assert HEADINGS["kk"] in text_of(answer.content)
    assert subject in text_of(answer.content)
    assert [value for value in values(REPRESENTATIVE_PII) if value in text_of(answer.content)] == []


def test_only_the_dpo_gets_a_pdf_and_only_of_a_subject_the_ledger_knows(api: TestClient, clock: Clock) -> None:
    subject = given_a_subject_with_an_open_access_request(api, clock)
    pdf = {"format": "pdf", "lang": "ru"}

    assert api.get(f"/v1/subjects/{subject}/access-report", params=pdf).status_code == 401
    assert api.get(f"/v1/subjects/{subject}/access-report", params=pdf, headers=auth("auditor")).status_code == 403
    assert api.get(f"/v1/subjects/{subject}/access-report", params=pdf, headers=auth("tablet")).status_code == 403
    unknown = api.get(f"/v1/subjects/{uuid4()}/access-report", params=pdf, headers=auth("dpo"))
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/json")
