"""The console in-process (FastAPI's TestClient, a fake projector): sessions, CSRF, roles, refusals, languages.

The same pages against the real stack, in a real browser: test_console_in_browser.py.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from services.ledger.adapters.signing import SigningKey
from services.ledger.bootstrap import build
from services.ledger.entrypoints.console.session import SESSION_COOKIE
from services.ledger.entrypoints.console.texts import TEXTS
from services.ledger.entrypoints.http.app import create_app
from services.projector.decisions import RULES
from tests.ledger.test_http_api import TOKENS, Clock, grant_body, http_settings
from tests.ledger.test_identity import PHONE

SUBJECT = "6f0c1f2e-1111-4222-8333-444455556666"
LEDGER = Path(__file__).resolve().parents[2] / "services" / "ledger"


class FakeProjector:
    """The projector's answers the console asks for, set by each test."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.asked: list[tuple[dict[str, Any], datetime | None]] = []

    async def decisions(self, subject_id: UUID, at: datetime | None = None) -> dict[str, Any] | None:
        return None

    async def check(self, question: dict[str, Any], at: datetime | None = None) -> dict[str, Any]:
        self.asked.append((question, at))
        return {"subject_id": question["subject_id"], "allow": False, "rule": "opted_out",
                "reason": "the subject opted out of marketing by sms", "event_id": "ev-opt-out"}  # fmt: skip

    async def open_requests(self) -> list[dict[str, Any]]:
        return self.requests

    async def pending_withdrawals(self) -> list[dict[str, Any]]:
        return []

    async def expiring_consents(self, within_days: int) -> list[dict[str, Any]]:
        return []

    async def close(self) -> None:
        return None


@pytest.fixture
def projector() -> FakeProjector:
    return FakeProjector()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def console(tmp_path: Path, clock: Clock, projector: FakeProjector) -> Iterator[TestClient]:
    settings = http_settings(
        f"sqlite:///{tmp_path}/ledger.sqlite3", ledger_signing_key=SigningKey.generate().seed_base64()
    )
    app = create_app(wired=build(settings, clock))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        app.state.console_projector = projector
        yield client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def signed_in(client: TestClient, who: str = "dpo", lang: str = "en") -> str:
    """Sign `who` in; the CSRF token of their session."""
    form = client.get(f"/console/sign-in?lang={lang}")
    answer = client.post("/console/sign-in", data={"token": TOKENS[who][0], "csrf": csrf_of(form.text)})
    assert answer.status_code == 200, answer.text
    return csrf_of(answer.text)


def granted(client: TestClient) -> None:
    headers = {"Authorization": f"Bearer {TOKENS['tablet'][0]}"}
    assert client.post(f"/v1/subjects/{SUBJECT}/consents", json=grant_body(), headers=headers).status_code == 201


def test_no_console_page_is_shown_without_signing_in(console: TestClient) -> None:
    pages = ["/console/", f"/console/subjects/{SUBJECT}", "/console/requests", "/console/check", "/console/evidence"]
    for path in pages:
        answer = console.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/console/sign-in?next=")


def test_the_session_cookie_is_httponly_strict_and_limited_to_the_console(console: TestClient) -> None:
    form = console.get("/console/sign-in")
    answer = console.post(
        "/console/sign-in", data={"token": TOKENS["dpo"][0], "csrf": csrf_of(form.text)}, follow_redirects=False
    )
    cookie = next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and v.startswith(SESSION_COOKIE))
    assert answer.status_code == 303
    assert all(flag in cookie for flag in ("HttpOnly", "Path=/console", "SameSite=strict"))
    assert "Secure" not in cookie  # served over plain HTTP here; over TLS it is Secure
    assert TOKENS["dpo"][0] not in cookie  # the token's digest, never the token


def test_a_session_cookie_is_secure_when_the_console_is_served_over_tls(console: TestClient) -> None:
    form = console.get("https://127.0.0.1/console/sign-in")
    answer = console.post(
        "https://127.0.0.1/console/sign-in", data={"token": TOKENS["dpo"][0], "csrf": csrf_of(form.text)},
        follow_redirects=False,
    )  # fmt: skip
    assert "Secure" in answer.headers["set-cookie"]


def test_a_token_without_the_dpo_or_read_scope_cannot_sign_in(console: TestClient) -> None:
    form = console.get("/console/sign-in?lang=en")
    answer = console.post("/console/sign-in", data={"token": TOKENS["tablet"][0], "csrf": csrf_of(form.text)})
    assert answer.status_code == 401
    assert "neither the dpo nor the read scope" in answer.text
    assert SESSION_COOKIE not in console.cookies


def test_a_sign_in_without_its_csrf_token_is_refused(console: TestClient) -> None:
    console.get("/console/sign-in")
    answer = console.post("/console/sign-in", data={"token": TOKENS["dpo"][0], "csrf": "forged"})
    assert answer.status_code == 403
    assert SESSION_COOKIE not in console.cookies


def test_a_forged_or_missing_csrf_token_refuses_a_command_and_records_nothing(console: TestClient) -> None:
    granted(console)
    signed_in(console)
    form = {"command_id": "c-1", "categories": "name", "ground": "accuracy_in_doubt"}
    url = f"/console/subjects/{SUBJECT}/commands/BlockPersonalData"
    assert console.post(url, data=form | {"csrf": "forged"}).status_code == 403
    assert console.post(url, data=form).status_code == 403
    page = console.get(f"/console/subjects/{SUBJECT}")
    assert "personal data blocked" not in page.text


def test_a_tampered_session_cookie_is_no_session(console: TestClient) -> None:
    signed_in(console)
    cookie = console.cookies[SESSION_COOKIE]
    console.cookies.set(SESSION_COOKIE, cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB"), path="/console")
    assert console.get("/console/", follow_redirects=False).status_code == 303


def test_signing_out_ends_the_session(console: TestClient) -> None:
    csrf = signed_in(console)
    answer = console.post("/console/sign-out", data={"csrf": csrf}, follow_redirects=False)
    assert answer.status_code == 303
    assert console.get("/console/", follow_redirects=False).status_code == 303


def test_a_dpo_finds_a_person_by_phone_without_the_number_in_any_url(console: TestClient) -> None:
    csrf = signed_in(console)
    answer = console.post("/console/find", data={"csrf": csrf, "identifier": "phone", "value": PHONE},
                          follow_redirects=False)  # fmt: skip
    assert answer.status_code == 303
    subject = answer.headers["location"].rsplit("/", 1)[-1]
    assert UUID(subject)
    assert PHONE.replace(" ", "") not in answer.headers["location"].replace(" ", "")
    again = console.post("/console/find", data={"csrf": csrf, "identifier": "phone", "value": PHONE},
                         follow_redirects=False)  # fmt: skip
    assert again.headers["location"] == answer.headers["location"]  # the same HMAC id every time


def test_an_invalid_iin_is_told_without_repeating_it(console: TestClient) -> None:
    csrf = signed_in(console)
    answer = console.post("/console/find", data={"csrf": csrf, "identifier": "iin", "value": "123456789012"})
    assert answer.status_code == 422
    assert "not a valid IIN" in answer.text
    assert "123456789012" not in answer.text


def test_a_dpo_action_is_recorded_with_the_persons_name_as_the_actor(console: TestClient) -> None:
    granted(console)
    csrf = signed_in(console)
    form = {"csrf": csrf, "command_id": "c-block", "categories": ["name", "contacts"], "ground": "accuracy_in_doubt"}
    answer = console.post(f"/console/subjects/{SUBJECT}/commands/BlockPersonalData", data=form)
    assert answer.status_code == 200
    assert "The categories are blocked." in answer.text
    history = console.get(f"/v1/subjects/{SUBJECT}/history", headers={"Authorization": f"Bearer {TOKENS['dpo'][0]}"})
    blocked = history.json()["events"][-1]
    assert blocked["type"].endswith("PersonalDataBlocked")
    assert (blocked["actor"], sorted(blocked["data"]["categories"])) == ("dpo", ["contacts", "name"])


def test_sending_the_same_form_twice_records_it_once(console: TestClient) -> None:
    granted(console)
    csrf = signed_in(console)
    form = {"csrf": csrf, "command_id": "c-twice", "categories": "name", "ground": "accuracy_in_doubt"}
    console.post(f"/console/subjects/{SUBJECT}/commands/BlockPersonalData", data=form)
    again = console.post(f"/console/subjects/{SUBJECT}/commands/BlockPersonalData", data=form)
    assert "nothing new was recorded" in again.text


def test_a_refusal_names_the_rule_in_the_chosen_language(console: TestClient) -> None:
    granted(console)
    csrf = signed_in(console, lang="kk")
    form = {"csrf": csrf, "command_id": "c-unblock", "categories": "name", "ground": "data_confirmed"}
    answer = console.post(f"/console/subjects/{SUBJECT}/commands/UnblockPersonalData?lang=kk", data=form)
    assert answer.status_code == 409
    assert "not_blocked" in answer.text
    assert TEXTS["kk"]["rule.not_blocked"] in answer.text


def test_an_erasure_needs_the_typed_confirmation(console: TestClient) -> None:
    granted(console)
    csrf = signed_in(console)
    form = {"csrf": csrf, "command_id": "c-erase", "ground": "consent_withdrawn", "requested_by": "subject"}
    refused = console.post(f"/console/subjects/{SUBJECT}/commands/ErasePersonalData", data=form | {"confirm": "x"})
    assert refused.status_code == 409
    assert "does not match the start of the subject id" in refused.text
    done = console.post(f"/console/subjects/{SUBJECT}/commands/ErasePersonalData", data=form | {"confirm": SUBJECT[:8]})
    assert "The personal data is destroyed." in done.text
    assert "Its personal data was destroyed." in done.text
    assert "The hash chain of these 2 events is intact." in done.text


def test_a_view_only_person_sees_the_subject_but_no_action_and_may_not_act(console: TestClient) -> None:
    granted(console)
    csrf = signed_in(console, "auditor")
    page = console.get(f"/console/subjects/{SUBJECT}")
    assert page.status_code == 200
    assert "consent given" in page.text
    assert "/commands/" not in page.text
    form = {"csrf": csrf, "command_id": "c-1", "categories": "name", "ground": "accuracy_in_doubt"}
    assert console.post(f"/console/subjects/{SUBJECT}/commands/BlockPersonalData", data=form).status_code == 403
    assert console.get(f"/console/subjects/{SUBJECT}/report?format=pdf&lang=kk").status_code == 403


def test_the_subject_page_as_of_a_past_moment_shows_only_what_was_recorded_by_then(
    console: TestClient, clock: Clock
) -> None:
    clock.on("2026-05-04", "10:00")
    granted(console)
    csrf = signed_in(console)
    clock.on("2026-05-06", "12:00")
    form = {"csrf": csrf, "command_id": "c-block", "categories": "name", "ground": "accuracy_in_doubt"}
    console.post(f"/console/subjects/{SUBJECT}/commands/BlockPersonalData", data=form)
    before = console.get(f"/console/subjects/{SUBJECT}?at=2026-05-05T09:00:00")
    now = console.get(f"/console/subjects/{SUBJECT}")
    assert "personal data blocked" not in before.text
    assert "Shown as it stood at 2026-05-05 09:00:00" in before.text
    assert "personal data blocked" in now.text


def test_the_board_puts_overdue_requests_first_in_working_days(
    console: TestClient, clock: Clock, projector: FakeProjector
) -> None:
    clock.on("2026-05-08")  # a Friday; 05-07 is a public holiday, and so is 05-11 (for 05-09, a Saturday)
    projector.requests = [
        {"subject_id": SUBJECT, "request_id": "rq-soon", "kind": "access", "received_on": "2026-05-06",
         "due_on": "2026-05-13", "entered_late_by_days": 0, "effective_on": None},
        {"subject_id": SUBJECT, "request_id": "rq-late", "kind": "rectification", "received_on": "2026-04-28",
         "due_on": "2026-05-04", "entered_late_by_days": 0, "effective_on": None},
    ]  # fmt: skip
    signed_in(console)
    board = console.get("/console/requests").text
    rows = re.findall(r"<tr class=\"(overdue)?\">\s*<td>.*?</tr>", board, re.S)
    assert board.index("rq-late") < board.index("rq-soon")
    assert rows[0] == "overdue"
    assert "overdue by 3 working days" in board  # 05-05, 05-06 and 05-08: not 4 calendar days
    assert "2 working days" in board  # 05-12 and 05-13: not 5 calendar days
    only = console.get("/console/requests?overdue=true").text
    assert "rq-late" in only
    assert "rq-soon" not in only


def test_the_check_explainer_shows_the_rule_and_links_the_deciding_event(
    console: TestClient, projector: FakeProjector
) -> None:
    signed_in(console)
    page = console.get(
        f"/console/check?subject_id={SUBJECT}&system=marketing&purpose=marketing&channel=sms&at=2026-05-04T12:00:00"
    )
    assert "opted_out" in page.text
    assert f"/console/subjects/{SUBJECT}?at=2026-05-04T12:00:00#e-ev-opt-out" in page.text
    question, at = projector.asked[-1]
    assert (question["channel"], at is not None and at.isoformat()) == ("sms", "2026-05-04T12:00:00+05:00")


def test_every_page_in_every_language_has_its_security_headers(console: TestClient) -> None:
    granted(console)
    signed_in(console)
    for lang in ("kk", "ru", "en"):
        page = console.get(f"/console/subjects/{SUBJECT}?lang={lang}")
        assert page.headers["content-language"] == lang
        assert f'<html lang="{lang}">' in page.text
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store"


def test_every_text_is_in_every_language_with_the_same_placeholders() -> None:
    fields = string.Formatter()
    for lang, texts in TEXTS.items():
        assert texts.keys() == TEXTS["en"].keys(), lang
        for key, english in TEXTS["en"].items():
            names = sorted(name for _, name, _, _ in fields.parse(english) if name)
            assert sorted(name for _, name, _, _ in fields.parse(texts[key]) if name) == names, (lang, key)


def test_every_rule_a_command_or_check_can_name_has_words_in_every_language() -> None:
    source = "\n".join(path.read_text() for path in LEDGER.rglob("*.py"))
    refusals = set(re.findall(r'RuleViolationError\(\s*"([a-z_]+)"', source))
    statuses = {f"consent_{status}" for status in ("none", "withdrawn", "expired", "withdrawal_pending")}
    for lang, texts in TEXTS.items():
        missing = {rule for rule in refusals | statuses | set(RULES) if f"rule.{rule}" not in texts}
        assert not missing, (lang, missing)


def test_the_upload_form_takes_a_bundle_larger_than_the_api_body_limit(console: TestClient) -> None:
    csrf = signed_in(console)
    too_large_for_the_api = b"0" * 2_000_000  # over CONSENT_MAX_BODY_BYTES (1 MiB): still read, then not verified
    answer = console.post(
        "/console/evidence/verify", data={"csrf": csrf}, files={"bundle": ("b.zip", too_large_for_the_api)}
    )
    assert answer.status_code == 200
    assert "NOT verified" in answer.text


def test_an_unknown_subject_page_says_nothing_is_recorded(console: TestClient) -> None:
    signed_in(console)
    answer = console.get(f"/console/subjects/{uuid4()}")
    assert answer.status_code == 404
    assert "recorded nothing about this person" in answer.text


def test_an_upload_without_a_session_is_refused(console: TestClient) -> None:
    answer = console.post("/console/evidence/verify", data={"csrf": "x"}, files={"bundle": ("b.zip", b"0" * 1024)})
    assert answer.status_code == 401


def test_an_unknown_kind_of_identifier_is_told_not_crashed_on(console: TestClient) -> None:
    csrf = signed_in(console)
    answer = console.post("/console/find", data={"csrf": csrf, "identifier": "passport", "value": "N1"})
    assert answer.status_code == 422


def test_the_board_filtered_by_every_kind_shows_every_request(console: TestClient, projector: FakeProjector) -> None:
    projector.requests = [
        {"subject_id": SUBJECT, "request_id": "rq-1", "kind": "access", "received_on": "2026-05-04",
         "due_on": "2026-05-07", "entered_late_by_days": 0, "effective_on": None},
    ]  # fmt: skip
    signed_in(console)
    assert "rq-1" in console.get("/console/requests?kind=").text.split("<caption>", 1)[1]


def test_signing_in_leads_back_to_the_page_asked_for_with_its_query(console: TestClient) -> None:
    asked = console.get(f"/console/subjects/{SUBJECT}?at=2026-05-04T12:00:00", follow_redirects=False)
    form = console.get(asked.headers["location"])
    answer = console.post(
        "/console/sign-in",
        data={
            "token": TOKENS["dpo"][0],
            "csrf": csrf_of(form.text),
            "next": f"/console/subjects/{SUBJECT}?at=2026-05-04T12:00:00",
        },
        follow_redirects=False,
    )
    assert answer.headers["location"] == f"/console/subjects/{SUBJECT}?at=2026-05-04T12:00:00"
    assert 'name="next" value="/console/subjects/' in form.text


def test_a_refusal_page_keeps_the_sign_out_of_the_person_signed_in(console: TestClient) -> None:
    signed_in(console, "auditor")
    answer = console.get(f"/console/subjects/{SUBJECT}/report?format=pdf&lang=kk")
    assert answer.status_code == 403
    assert "/console/sign-out" in answer.text
