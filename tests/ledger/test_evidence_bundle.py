"""Evidence bundles from a real ledger: a regulator verifies them with the public key alone, and tampering shows."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from uuid import UUID

import orjson
import pytest
from fastapi.testclient import TestClient

from schemas import evidence as spec
from schemas.evidence import load_public_key
from schemas.evidence_verifier import verify_bundle
from services.ledger.adapters.forms import Form, FormTexts
from services.ledger.adapters.signing import SigningKey
from services.ledger.application.ledger import Ledger
from services.ledger.bootstrap import build
from services.ledger.domain.terms import Notice
from services.ledger.domain.vocabulary import Channel, DataCategory, ErasureGround, Language, Purpose, RequestKind
from services.ledger.entrypoints.http.app import create_app
from services.ledger.evidence.bundle import Scope, write_bundle
from tests.ledger.acts import ScenarioLedger
from tests.ledger.conftest import at, ctx, ledger_env, make_ledger, new_subject, tablet_consent
from tests.ledger.test_http_api import auth, http_settings

FORM = Form("loyalty-consent", "2026.1", "kk", "Дербес деректерді жинауға және өңдеуге келісім (synthetic test form)")
KEY = SigningKey.generate()


def life_cycle(ledger: ScenarioLedger) -> tuple[UUID, UUID]:
    """Subject A consents, opts out, has a card, asks for access, withdraws, is transferred, then erased; B consents."""
    a, b = new_subject(), new_subject()
    terms = tablet_consent(notice=Notice("loyalty-consent", "2026.1", FORM.text_sha256, Language.KK))
    ledger.grant_consent(a, ctx("a1"), terms, {"name": "Synthetic Subject A", "phone": "+77000000001"})
    ledger.grant_consent(b, ctx("b1"), terms, {"name": "Synthetic Subject B"})
    ledger.opt_out_of_marketing(a, ctx("a2", "2026-05-05"), [Channel.SMS])
    ledger.link_card(a, ctx("a3", "2026-05-05"), "card-ref-0001")
    ledger.transfer_data(
        a, ctx("a4", "2026-05-06"), recipient="courier-llp", country="RU",
        categories=[DataCategory.NAME, DataCategory.CONTACTS], purpose=Purpose.DELIVERY_AND_SERVICE,
    )  # fmt: skip
    ledger.receive_request(
        a, ctx("a5", "2026-05-22"), request_id="req-1", kind=RequestKind.ACCESS, received_on=date(2026, 5, 22),
        pii={"identity_document": {"number": "000000001"}},
    )  # fmt: skip
    ledger.request_withdrawal(a, ctx("a6", "2026-05-22"), filed_on=date(2026, 5, 22))
    ledger.opt_out_of_marketing(b, ctx("b2", "2026-05-25"), [Channel.EMAIL])
    ledger.complete_withdrawal(a, ctx("a7", "2026-06-08"), today=date(2026, 6, 8))
    ledger.erase_data(a, ctx("a8", "2026-06-09"), ErasureGround.CONSENT_WITHDRAWN, "subject")
    return a, b


@pytest.fixture
def recorded(store_url: str) -> tuple[Ledger, FormTexts, UUID, UUID]:
    ledger, forms = make_ledger(store_url), FormTexts(store_url)
    forms.register(FORM, at("2026-05-01"))
    a, b = life_cycle(ledger)
    yield ledger, forms, a, b
    ledger.close()
    forms.close()


def bundle_of(recorded: tuple[Ledger, FormTexts, UUID, UUID], scope: Scope, path: Path) -> Path:
    ledger, forms, _, _ = recorded
    write_bundle(ledger, forms, KEY, scope=scope, path=path, now=at("2026-06-10"))
    return path


def events_of(path: Path) -> list[dict[str, object]]:
    with zipfile.ZipFile(path) as bundle:
        return [orjson.loads(line) for line in bundle.read(spec.EVENTS).splitlines()]


def test_bundles_of_a_subject_a_range_and_everything_verify_with_the_public_key(
    recorded: tuple[Ledger, FormTexts, UUID, UUID], tmp_path: Path
) -> None:
    _, _, a, b = recorded
    everything = verify_bundle(bundle_of(recorded, Scope(), tmp_path / "all.zip"), KEY.public)
    only_a = verify_bundle(bundle_of(recorded, Scope(subject=a), tmp_path / "a.zip"), KEY.public)
    may = Scope(start=at("2026-05-05", "00:00"), end=at("2026-05-23", "00:00"))
    in_may = verify_bundle(bundle_of(recorded, may, tmp_path / "may.zip"), KEY.public)

    assert (everything.verified, everything.events, everything.subjects) == (True, 10, 2), everything
    assert (only_a.verified, only_a.events, only_a.subjects, only_a.erased_subjects) == (True, 8, 1, 1), only_a
    assert (in_may.verified, in_may.events) == (True, 5), in_may
    a_events = events_of(tmp_path / "a.zip")
    assert {event["subject"] for event in a_events} == {str(a)}
    assert [event["subjectversion"] for event in a_events] == list(range(1, 9))
    assert "pii" in a_events[0]  # still there, as ciphertext nobody can open any more: A was erased
    with zipfile.ZipFile(tmp_path / "a.zip") as bundle:
        assert bundle.read(spec.form_member(FORM.text_sha256)).decode() == FORM.text
        collection = orjson.loads(bundle.read(spec.COLLECTION).splitlines()[0])
        assert collection["proof"] == {"sms_verification_id": "sms-0001"}
        assert orjson.loads(bundle.read(spec.MANIFEST))["scope"] == {
            "kind": "subject", "subject": str(a), "from": None, "to": None
        }  # fmt: skip
    assert str(b) not in (tmp_path / "a.zip").read_bytes().decode("latin-1")


def rewrite(path: Path, change: Callable[[list[bytes]], list[bytes]], member: str = spec.EVENTS) -> Path:
    """A copy of the bundle with one member's lines changed and every other byte as it was (signature included)."""
    target = path.with_name("tampered-" + path.name)
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as copy:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == member:
                data = b"".join(line + b"\n" for line in change(data.splitlines()))
            copy.writestr(item.filename, data)
    return target


def test_the_verifier_names_a_flipped_byte_a_dropped_event_two_reordered_events_and_a_swapped_key(
    recorded: tuple[Ledger, FormTexts, UUID, UUID], tmp_path: Path
) -> None:
    _, _, a, _ = recorded
    original = bundle_of(recorded, Scope(subject=a), tmp_path / "a.zip")
    events = events_of(original)

    def flip(lines: list[bytes]) -> list[bytes]:
        line = lines[3].replace(b'"courier-llp"', b'"courier-llq"')
        assert line != lines[3]
        return [*lines[:3], line, *lines[4:]]

    flipped = verify_bundle(rewrite(original, flip), KEY.public)
    dropped = verify_bundle(rewrite(original, lambda lines: lines[:4] + lines[5:]), KEY.public)
    reordered = verify_bundle(rewrite(original, lambda lines: [*lines[:4], lines[5], lines[4], *lines[6:]]), KEY.public)
    other_key = verify_bundle(original, SigningKey.generate().public)

    assert not flipped.verified
    assert spec.EVENTS in str(flipped.problem), flipped
    assert str(events[3]["id"]) in str(flipped.problem), flipped
    assert "hash" in str(flipped.problem)
    assert not dropped.verified, dropped
    assert "version 6" in str(dropped.problem), dropped
    assert not reordered.verified, reordered
    assert spec.EVENTS in str(reordered.problem), reordered
    assert not other_key.verified, other_key
    assert "signature" in str(other_key.problem), other_key
    assert KEY.key_id in str(other_key.problem), other_key


def test_the_command_line_writes_a_bundle_and_verifies_it_with_the_public_key_file(tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    ledger = make_ledger(store_url)
    a, _ = life_cycle(ledger)
    ledger.close()
    env = ledger_env(store_url, "127.0.0.1:9") | {"CONSENT_LEDGER_SIGNING_KEY": KEY.seed_base64(), "COLUMNS": "200"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "services.cli", *args], env=env, capture_output=True, text=True, timeout=120,
            check=False, cwd=tmp_path,
        )  # fmt: skip

    key = cli("public-key")
    (tmp_path / "ledger.pem").write_text(key.stdout)
    written = cli("bundle", "evidence.zip", "--subject", str(a))
    checked = cli("verify-bundle", "evidence.zip", "--public-key", "ledger.pem")
    (tmp_path / "other.pem").write_text(SigningKey.generate().public_pem())
    refused = cli("verify-bundle", "evidence.zip", "--public-key", "other.pem")

    assert key.returncode == 0, key.stderr
    assert key.stdout.startswith("-----BEGIN PUBLIC KEY-----"), key.stderr
    assert written.returncode == 0, written.stdout + written.stderr
    assert "8 events of 1 subject(s)" in written.stdout
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "verified" in checked.stdout
    assert "NOT" not in checked.stdout
    assert refused.returncode == 1
    assert "NOT verified" in refused.stdout


def test_over_http_the_dpo_registers_a_form_and_downloads_a_bundle_that_verifies(tmp_path: Path) -> None:
    settings = http_settings(f"sqlite:///{tmp_path / 'ledger.sqlite3'}", ledger_signing_key=KEY.seed_base64())
    wired = build(settings)
    scene = ScenarioLedger.beside(wired.ledger, settings.ledger_store)
    a, _ = life_cycle(scene)
    scene.close()
    with TestClient(create_app(wired=wired)) as api:
        form = {"form_id": FORM.form_id, "form_version": FORM.form_version, "language": "kk", "text": FORM.text}
        registered = api.post("/v1/forms", json=form, headers=auth("dpo"))
        text = api.get(f"/v1/forms/{FORM.text_sha256}", headers=auth("auditor"))
        public_pem = api.get("/v1/evidence/public-key").text
        refused = api.get("/v1/evidence/bundle", params={"subject_id": str(a)}, headers=auth("auditor"))
        download = api.get("/v1/evidence/bundle", params={"subject_id": str(a)}, headers=auth("dpo"))
        unknown = api.get("/v1/evidence/bundle", params={"subject_id": str(new_subject())}, headers=auth("dpo"))
        backwards = {"from": "2026-06-01T00:00:00+05:00", "to": "2026-05-01T00:00:00+05:00"}
        bad_ranges = [
            api.get("/v1/evidence/bundle", params=params, headers=auth("dpo")).status_code
            for params in (backwards, {"from": "9999-12-31T23:00:00-05:00"})
        ]

    assert registered.status_code == 201
    assert registered.json() == {"text_sha256": FORM.text_sha256}
    assert text.text == FORM.text
    assert (refused.status_code, download.status_code, unknown.status_code) == (403, 200, 404)
    assert bad_ranges == [422, 422]  # a clear answer, not a 500
    (tmp_path / "download.zip").write_bytes(download.content)
    verdict = verify_bundle(tmp_path / "download.zip", load_public_key(public_pem.encode()))
    assert (verdict.verified, verdict.events) == (True, 8), verdict
    with zipfile.ZipFile(tmp_path / "download.zip") as bundle:
        assert orjson.loads(bundle.read(spec.MANIFEST))["forms_missing"] == []
