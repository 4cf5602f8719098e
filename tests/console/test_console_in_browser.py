"""The DPO console in a real headless Chromium (Debian's, driven by Playwright) against the real stack.

Kafka, the ledger and the projector run as the processes operators run. A data protection officer signs
in, finds a person by phone, reads the timeline after a grant and an opt-out, registers a request and
finds it on the board with its due date on the Kazakh calendar, answers it with the access report,
downloads the PDF, builds a bundle and verifies it by upload, erases the subject and sees the timeline
still verify; requests without a session or with a forged CSRF token are refused. Screenshots of the
subject page, the board and the check explainer in the three languages are written to
CONSENT_CONSOLE_SCREENSHOTS (docs/console/ keeps the committed ones), else to the test's folder.
"""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import time
import uuid
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, async_playwright, expect
from pypdf import PdfReader

from schemas.evidence import EVENTS
from services.ledger.adapters.calendar import KazakhCalendar
from services.ledger.adapters.signing import SigningKey
from services.ledger.domain.calendar import KAZAKHSTAN
from tests.conftest import NewTopicFactory, inbound_families
from tests.integration.service_processes import service
from tests.ledger.test_access_report import HEADINGS
from tests.ledger.test_http_api import grant_body

TOKENS = {
    "tablet": ("tablet-token-0123456789ab", ["consent:write"]),
    "dpo-officer": ("dpo-officer-token-0123456", ["dpo", "read"]),
    "console": ("console-token-0123456789a", ["dpo", "read"]),
}
PHONE = "+7 701 000 0042"  # synthetic
KAZAKH_SECTIONS = ("Компания", "Дербес деректерді өңдеу туралы мәліметтер")
AXE = Axe()
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (scripts/test installs it)"
)


def bearer(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[name][0]}"}


@dataclass(frozen=True)
class Stack:
    """The ledger and the projector, started for this test."""

    ledger: str
    projector: str


@pytest.fixture
async def stack(kafka_bootstrap: str, new_topic: NewTopicFactory, tmp_path: Path) -> AsyncIterator[Stack]:
    """Real Kafka topics of this test, a ledger and a projector (each its own process, stopped by its PID)."""
    topics = {name: await new_topic(f"consent.{name}") for name in ("events", "deadletter")}
    topics["commands"], topics["acks"] = await inbound_families(new_topic)
    common = {
        "CONSENT_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "CONSENT_API_TOKENS": orjson.dumps(
            {token: {"name": name, "scopes": scopes} for name, (token, scopes) in TOKENS.items()}
        ).decode(),
        **{f"CONSENT_{name.upper()}_TOPIC": topic for name, topic in topics.items()},
    }
    projector_env = common | {
        "CONSENT_PROJECTOR_STORE": f"sqlite:///{tmp_path}/projector.sqlite3",
        "CONSENT_PROJECTOR_GROUP_ID": f"projector-{uuid.uuid4().hex[:8]}",
    }
    with service("projector", projector_env, tmp_path / "projector.log") as (projector, _):
        ledger_env = common | {
            "CONSENT_LEDGER_STORE": f"sqlite:///{tmp_path}/ledger.sqlite3",
            "CONSENT_LEDGER_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
            "CONSENT_LEDGER_IDENTITY_SECRET": "identity-secret-for-tests-0123456789",
            "CONSENT_LEDGER_SIGNING_KEY": SigningKey.generate().seed_base64(),
            "CONSENT_RELAY_TRANSACTIONAL_ID": f"relay-{topics['events']}",
            "CONSENT_SCHEDULER_INTERVAL_SECONDS": "0",
            "CONSENT_CONSOLE_PROJECTOR_URL": projector,
            "CONSENT_CONSOLE_PROJECTOR_TOKEN": TOKENS["console"][0],
        }
        with service("ledger", ledger_env, tmp_path / "ledger.log") as (ledger, _):
            yield Stack(ledger, projector)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless, launched by path (Playwright's own download is not reachable here)."""
    assert CHROMIUM, "Debian's chromium is not installed: scripts/test installs it (apt-get install chromium)"
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        await launched.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("CONSENT_CONSOLE_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def record_consent_and_opt_out(ledger: str) -> str:
    """A grant on the tablet (form in Kazakh, SMS proof) and an opt-out of SMS, through the HTTP API; the subject."""
    with httpx.Client(base_url=ledger, timeout=10) as api:
        found = api.post("/v1/subject-ids", json={"identifier": "phone", "value": PHONE}, headers=bearer("tablet"))
        subject = found.json()["subject_id"]
        grant = grant_body(form={"form_id": "loyalty-consent", "form_version": "2026.1", "text_sha256": "c" * 64,
                                 "language": "kk"}, pii={"name": "Synthetic Person", "phone": PHONE})  # fmt: skip
        assert api.post(f"/v1/subjects/{subject}/consents", json=grant, headers=bearer("tablet")).status_code == 201
        opt_out = {"command_id": "opt-out-1", "channels": ["sms"]}
        answer = api.post(f"/v1/subjects/{subject}/marketing/opt-out", json=opt_out, headers=bearer("tablet"))
        assert answer.status_code == 201
        card = {"command_id": "card-1", "card_number": "6001 0000 0000 0042"}
        assert api.post(f"/v1/subjects/{subject}/cards", json=card, headers=bearer("tablet")).status_code == 201
    return str(subject)


async def sign_in(page: Page, ledger: str, lang: str = "en") -> None:
    await page.goto(f"{ledger}/console/?lang={lang}")
    await expect(page).to_have_url(re.compile(r"/console/sign-in"))
    await page.fill("#token", TOKENS["dpo-officer"][0])
    await page.click("form[action='/console/sign-in'] button[type=submit]")
    await expect(page.locator("#value")).to_be_visible()


async def until_shown(page: Page, url: str, text: str, timeout: float = 30) -> None:
    """Reload `url` until the page shows `text` (the projector catches up from Kafka)."""
    deadline = time.monotonic() + timeout
    while True:
        await page.goto(url)
        if text in await page.content():
            return
        assert time.monotonic() < deadline, f"{url} never showed {text!r}"
        await page.wait_for_timeout(300)


async def confirm(page: Page, dialog: str, fill: dict[str, str] | None = None, check: tuple[str, ...] = ()) -> None:
    """Open the action's dialog, fill it in, confirm."""
    await page.click(f"button[data-dialog='{dialog}']")
    box = page.locator(f"dialog#{dialog}")
    await expect(box).to_be_visible()
    for selector, value in (fill or {}).items():
        await box.locator(selector).fill(value)
    for selector in check:
        await box.locator(selector).check()
    await box.locator("button[type=submit]").click()


async def test_a_dpo_answers_a_request_with_a_pdf_verifies_evidence_and_erases_in_the_browser(
    stack: Stack, browser: Browser, shots: Path, tmp_path: Path
) -> None:
    subject = record_consent_and_opt_out(stack.ledger)
    today = datetime.now(KAZAKHSTAN).date()
    due = KazakhCalendar().add_working_days(today, 3)
    context = await browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = await context.new_page()

    # Sign in, find the person by phone: the subject page shows the grant and the opt-out.
    started = time.monotonic()
    await sign_in(page, stack.ledger)
    await page.check("input[name=identifier][value=phone]")
    await page.fill("#value", PHONE)
    await page.click("form[action='/console/find'] button[type=submit]")
    await expect(page).to_have_url(f"{stack.ledger}/console/subjects/{subject}")
    timeline = page.locator("ol.timeline")
    await expect(timeline).to_contain_text("consent given")
    await expect(timeline).to_contain_text("advertising messages stopped")
    await expect(timeline).to_contain_text("SMS verification")
    await expect(page.locator("#chain")).to_contain_text("intact")
    subject_url = f"{stack.ledger}/console/subjects/{subject}"
    await until_shown(page, subject_url, "The person stopped advertising over this channel.")

    # Register a request (and an old one entered late): the board shows both, the overdue one first, marked.
    document = {"[name='identity_document.document_number']": "N0000042", "[name='identity_document.issued_by']":
                "Test Authority", "[name='identity_document.signature_ref']": "scan-42"}  # fmt: skip
    await confirm(page, "receive", {"[name=request_id]": "rq-access", **document,
                                    "[name='identity_document.issued_on']": "2020-01-01"})  # fmt: skip
    await expect(page.locator("#done")).to_contain_text("The request is registered.")
    old = (today - timedelta(days=60)).isoformat()
    await confirm(page, "receive", {"[name=request_id]": "rq-old", "[name=received_on]": old, **document,
                                    "[name='identity_document.issued_on']": "2020-01-01"},
                  check=("input[name=kind][value=blocking]",))  # fmt: skip
    await expect(page.locator("#done")).to_contain_text("The request is registered.")
    board = f"{stack.ledger}/console/requests"
    await until_shown(page, board, "rq-old")
    rows = page.locator("table.board tbody tr")
    await expect(rows.nth(0)).to_contain_text("rq-old")
    await expect(rows.nth(0)).to_have_class(re.compile("overdue"))
    await expect(rows.nth(1)).to_contain_text("rq-access")
    await expect(rows.nth(1)).to_contain_text(due.isoformat())
    left = KazakhCalendar().working_days_between(today, due)
    await expect(rows.nth(1)).to_contain_text(f"{left} working days")

    # Screenshots in the three languages, with both requests open (not counted in the time to the PDF).
    shooting = time.monotonic()
    check = f"{stack.ledger}/console/check?subject_id={subject}&system=marketing&purpose=marketing&channel=sms"
    # Each page is checked by axe-core (WCAG 2.1 A and AA: labels, contrast, landmarks) in each language.
    for lang in ("kk", "ru", "en"):
        for name, url in (("subject", subject_url), ("board", board), ("check", check)):
            await page.goto(f"{url}{'&' if '?' in url else '?'}lang={lang}")
            await page.screenshot(path=shots / f"{name}-{lang}.png", full_page=True)
            found = await AXE.run(page, options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa"]}})
            assert found.violations_count == 0, f"{name} in {lang}:\n{found.generate_report()}"
    await expect(page.locator(".answer")).to_contain_text("opted_out")
    await page.goto(f"{stack.ledger}/console/?lang=en")
    started += time.monotonic() - shooting

    # Answer the access request with the report, then download its PDF in the subject's language (Kazakh).
    await page.goto(subject_url)
    await confirm(page, await page.locator("button[data-dialog^='report-']").get_attribute("data-dialog") or "")
    await expect(page.locator("#done")).to_contain_text("answered with the access report")
    async with page.expect_download() as download_info:
        await page.click("a[href*='/report?format=pdf&lang=kk']")
    pdf = tmp_path / "report.pdf"
    await (await download_info.value).save_as(pdf)
    seconds_to_pdf = time.monotonic() - started
    text = "".join(page_.extract_text() for page_ in PdfReader(io.BytesIO(pdf.read_bytes())).pages)
    assert HEADINGS["kk"] in text
    assert all(heading in text for heading in KAZAKH_SECTIONS)
    print(f"sign-in to downloaded PDF: {seconds_to_pdf:.1f} s")

    # Build the subject's bundle (progress, then the download) and verify it by upload.
    await page.goto(subject_url)
    await page.click("form[action='/console/evidence/bundles'] button[type=submit]")
    await expect(page.locator("#download")).to_be_visible(timeout=30_000)
    async with page.expect_download() as bundle_info:
        await page.click("#download")
    bundle = tmp_path / "bundle.zip"
    await (await bundle_info.value).save_as(bundle)
    await page.goto(f"{stack.ledger}/console/evidence")
    await page.set_input_files("#v-bundle", bundle)
    await page.click("form[action='/console/evidence/verify'] button[type=submit]")
    await expect(page.locator("#verdict")).to_contain_text("Verified")

    # A tampered bundle is not verified, and the page names the problem.
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(bundle) as original, zipfile.ZipFile(tampered, "w") as copy:
        for member in original.infolist():
            data = original.read(member)
            copy.writestr(
                member, data.replace(b'"actor":"tablet"', b'"actor":"tablex"', 1) if member.filename == EVENTS else data
            )
    await page.set_input_files("#v-bundle", tampered)
    await page.click("form[action='/console/evidence/verify'] button[type=submit]")
    await expect(page.locator("#verdict")).to_contain_text("NOT verified")

    # Erase: typed confirmation; the timeline still verifies and shows the personal data destroyed.
    await page.goto(subject_url)
    await confirm(page, "erase", {"#confirm-erase": subject[:8]},
                  check=("input[name=ground][value=consent_withdrawn]",))  # fmt: skip
    await expect(page.locator("#done")).to_contain_text("The personal data is destroyed.")
    await expect(page.locator("#chain")).to_contain_text("intact")
    await expect(page.locator("#chain")).to_contain_text("can no longer be read")
    await expect(page.locator("ol.timeline")).to_contain_text("Its personal data was destroyed.")
    await expect(page.locator("ol.timeline")).to_contain_text("dpo-officer")

    # Refused: a command without a session, and one with a forged CSRF token.
    anonymous = await browser.new_context()
    form = {"csrf": "x", "command_id": "c-1", "categories": "name", "ground": "accuracy_in_doubt"}
    url = f"{stack.ledger}/console/subjects/{uuid.uuid4()}/commands/BlockPersonalData"
    assert (await anonymous.request.post(url, form=form)).status == 401
    assert (await context.request.post(url, form=form)).status == 403
    await anonymous.close()
    await context.close()


def test_the_committed_screenshots_are_the_pages_of_the_three_languages() -> None:
    folder = Path(__file__).resolve().parents[2] / "docs" / "console"
    expected = {f"{name}-{lang}.png" for name in ("subject", "board", "check") for lang in ("kk", "ru", "en")}
    assert expected <= {path.name for path in folder.glob("*.png")}
    assert all((folder / name).read_bytes().startswith(b"\x89PNG") for name in expected)
