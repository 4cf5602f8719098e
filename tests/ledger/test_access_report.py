"""The subject access report (policy §5) as a DPO uses it, on both event stores.

Two synthetic subjects share what could leak between their answers: one representative (the same
personal data under the same power of attorney), one loyalty card (linked to A, blocked on A's
withdrawal, later linked to B), and one batch of requests received the same day under one correlation
id. A's report, in JSON and in the Kazakh, Russian and English documents, must show A's own data and
nothing of B's or of the representative's.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from schemas.envelope import canonical_bytes, utc_text
from services.ledger.bootstrap import build
from services.ledger.domain import events
from services.ledger.domain.errors import RuleViolationError
from services.ledger.domain.terms import PROOF_FIELD, Collection, Controller, Representative
from services.ledger.domain.vocabulary import (
    BlockGround,
    Channel,
    CollectionMethod,
    ConsentStatus,
    DataCategory,
    ErasureGround,
    Language,
    Purpose,
    RequestKind,
    UnblockGround,
    WithdrawalRefusalReason,
)
from services.ledger.entrypoints.http.app import create_app
from services.ledger.reports import answer as answers
from services.ledger.reports.access_report import (
    MEANS,
    OPERATIONS,
    STORAGE_MEDIA,
    UnknownSubjectError,
    build_access_report,
    report_id_of,
)
from services.ledger.reports.html import TEMPLATE, UnknownLanguageError, render_access_report
from services.ledger.reports.texts import LANGUAGES, TEXTS
from tests.ledger.acts import ScenarioLedger
from tests.ledger.conftest import at, ctx, make_ledger, tablet_consent
from tests.ledger.test_http_api import Clock, auth, http_settings

CONTROLLER = Controller("ESPERANCE-RK LLP", "220240037922")
POWER_OF_ATTORNEY = "poa-2026-0042"
CARD = "card-" + "c0" * 16  # an opaque card reference, never the number
BATCH = "batch-2026-05-22-ala"  # one correlation id for the day's requests of both subjects
RECIPIENT_RU = "delivery-partner-ru"

# Synthetic personal data; every value is distinctive so a leak is found by a plain substring search.
A_PII = {"name": "Synthetic Aigerim Alphaeva", "phone": "+7 700 000 0101", "former_name": "<b>Alpha & Old</b>"}
B_PII = {"name": "Synthetic Bolat Betaev", "phone": "+7 700 000 0202"}
REPRESENTATIVE_PII = {"name": "Synthetic Representative Gammaeva", "phone": "+7 700 000 0303"}
A_DOCUMENT = {"document_number": "A0000101", "issued_on": "2020-01-01", "issued_by": "Synthetic Office Alpha",
              "signature_ref": "scan-a-0101"}  # fmt: skip
B_DOCUMENT = {"document_number": "B0000202", "issued_on": "2021-02-02", "issued_by": "Synthetic Office Beta",
              "signature_ref": "scan-b-0202"}  # fmt: skip
REPRESENTATIVE_DOCUMENT = {"document_number": "R0000303", "issued_on": "2019-03-03",
                           "issued_by": "Synthetic Office Gamma", "signature_ref": "scan-r-0303"}  # fmt: skip
A_REQUESTS = ("rq-2026-05-22-0001", "rq-2026-05-22-0003")
B_REQUEST = "rq-2026-05-22-0002"

HEADINGS = {
    "kk": "Дербес деректерді өңдеу туралы мәліметтер",
    "ru": "Сведения об обработке персональных данных",  # noqa: RUF001 - Russian, in Cyrillic
    "en": "Subject access report",
}


@dataclass(frozen=True)
class TwoSubjects:
    """Subject A and subject B, who share a representative, a card and a request batch."""

    a: UUID
    b: UUID


def given_two_subjects_sharing_a_representative_a_card_and_a_request_batch(ledger: ScenarioLedger) -> TwoSubjects:
    """A: consent by the representative, SMS opt-out, card, RU transfer, block, requests, withdrawal, card blocked.

    B: consent by the same representative, a request in the same batch, then A's old card.
    """
    a, b = uuid4(), uuid4()
    by_representative = tablet_consent(representative=Representative(POWER_OF_ATTORNEY))
    ledger.grant_consent(a, ctx("a-grant"), by_representative, {**A_PII, "representative": REPRESENTATIVE_PII})
    ledger.grant_consent(b, ctx("b-grant"), by_representative, {**B_PII, "representative": REPRESENTATIVE_PII})
    ledger.opt_out_of_marketing(a, ctx("a-opt-out"), [Channel.SMS])
    ledger.link_card(a, ctx("a-card"), CARD)
    ledger.transfer_data(
        a, ctx("a-transfer", "2026-05-05"), recipient=RECIPIENT_RU, country="RU",
        categories=[DataCategory.NAME, DataCategory.CONTACTS], purpose=Purpose.DELIVERY_AND_SERVICE,
    )  # fmt: skip
    ledger.block_data(
        a, ctx("a-block", "2026-05-06", "dpo-officer-7"), [DataCategory.BIRTH], BlockGround.ACCURACY_IN_DOUBT
    )
    batch = [
        (a, A_REQUESTS[0], RequestKind.ACCESS, A_DOCUMENT, False),
        (b, B_REQUEST, RequestKind.ACCESS, B_DOCUMENT, False),
        (a, A_REQUESTS[1], RequestKind.RECTIFICATION, REPRESENTATIVE_DOCUMENT, True),
    ]
    for subject, request_id, kind, document, by_rep in batch:
        ledger.receive_request(
            subject, replace(ctx(f"receive-{request_id}", "2026-05-22", "dpo"), correlation_id=BATCH),
            request_id=request_id, kind=kind, received_on=date(2026, 5, 22),
            pii={"identity_document": document}, by_representative=by_rep,
        )  # fmt: skip
    ledger.request_withdrawal(a, ctx("a-withdrawal", "2026-05-22"), date(2026, 5, 22))
    withdrawn = ledger.complete_withdrawal(a, ctx("a-withdrawn", "2026-06-08", "scheduler"), date(2026, 6, 8))
    ledger.block_card(
        a, ctx("a-card-block", "2026-06-08", "projector"), CARD, withdrawn.event_ids[0], "consent withdrawn"
    )
    ledger.link_card(b, ctx("b-card", "2026-06-10"), CARD)
    return TwoSubjects(a, b)


AFTER_ALL = at("2026-06-10", "12:00")


@pytest.fixture
def subjects(ledger: ScenarioLedger) -> TwoSubjects:
    return given_two_subjects_sharing_a_representative_a_card_and_a_request_batch(ledger)


def documents_of(report: dict[str, Any]) -> dict[str, str]:
    """The report as the machine reads it (canonical JSON) and as the subject reads it, in each language."""
    return {"json": canonical_bytes(report).decode()} | {lang: render_access_report(report, lang) for lang in HEADINGS}


def values(*records: dict[str, str]) -> list[str]:
    return [value for record in records for value in record.values()]


def test_the_report_shows_the_subjects_own_data_and_nothing_of_the_other_subject_or_the_representative(
    ledger: ScenarioLedger, subjects: TwoSubjects
) -> None:
    report = build_access_report(ledger, subjects.a, as_of=AFTER_ALL, controller=CONTROLLER)

    for name, text in documents_of(report).items():
        for own in (A_PII["name"], A_PII["phone"], A_DOCUMENT["document_number"], RECIPIENT_RU, "2026-06-08"):
            assert own in text, (name, own)
        assert POWER_OF_ATTORNEY in text, "the report says a representative acted, naming the power of attorney"
        foreign = [str(subjects.b), B_REQUEST, BATCH, *values(B_PII, B_DOCUMENT)]
        foreign += values(REPRESENTATIVE_PII, REPRESENTATIVE_DOCUMENT)
        assert [value for value in foreign if value in text] == [], name
        for employee in ("consultant-17", "dpo-officer-7", "scheduler", "projector"):
            assert employee not in text, (name, employee)


def test_the_json_report_answers_each_question_of_section_5(ledger: ScenarioLedger, subjects: TwoSubjects) -> None:
    report = build_access_report(ledger, subjects.a, as_of=AFTER_ALL, controller=CONTROLLER)

    controller = report["controller"]
    assert (controller["name"], controller["bin"]) == ("ESPERANCE-RK LLP", "220240037922")
    assert (controller["location"], controller["database_country"]) == ("Republic of Kazakhstan", "KZ")
    assert report["processing"]["processed"] is True
    assert report["processing"]["consent_status"] == "withdrawn"
    assert report["consent_history"][0]["purposes"] == ["delivery_and_service", "loyalty", "marketing"]
    assert report["processing_methods"]["means"] == ["automated", "non_automated"]
    assert report["recipients"]["transfers"] == [
        {"at": "2026-05-05T05:00:00.000000Z", "recipient": RECIPIENT_RU, "country": "RU", "cross_border": True,
         "categories": ["contacts", "name"], "purpose": "delivery_and_service"},
    ]  # fmt: skip
    consent_source = report["data_categories"]["sources"][0]
    assert consent_source["collection_method"] == "tablet_sms"
    assert (consent_source["form"]["form_id"], consent_source["store_id"]) == ("loyalty-consent", "store-ALA-3")
    assert consent_source["power_of_attorney_ref"] == POWER_OF_ATTORNEY
    assert [entry["act"] for entry in report["consent_history"]] == [
        "granted", "opted_out", "withdrawal_requested", "withdrawn",
    ]  # fmt: skip
    assert report["consent_history"][2]["effective_on"] == "2026-06-08"
    assert report["blocks"]["blocked_now"] == ["birth"]
    assert report["loyalty_cards"] == [
        {"card_ref": CARD, "status": "blocked", "history": [
            {"act": "linked", "at": "2026-05-04T05:00:00.000000Z", "cause": None, "reason": None},
            {"act": "blocked", "at": "2026-06-08T05:00:00.000000Z", "cause": "ConsentWithdrawn",
             "reason": "consent withdrawn"},
        ]},
    ]  # fmt: skip
    assert [(r["request_id"], r["kind"], r["due_on"], r["status"]) for r in report["requests"]] == [
        (A_REQUESTS[0], "access", "2026-05-28", "open"),
        (A_REQUESTS[1], "rectification", "2026-05-28", "open"),
    ]
    records = report["personal_data"]["records"]
    assert records[0]["values"] == A_PII
    assert records[0]["left_out"] == ["representative_data"]
    assert records[1]["values"] == {"identity_document": A_DOCUMENT}, "the subject's own request: their document"
    assert (records[2]["values"], records[2]["left_out"]) == ({}, ["representative_identity_document"])


def test_as_of_a_past_moment_the_report_shows_the_withdrawal_pending_and_when_it_takes_effect(
    ledger: ScenarioLedger, subjects: TwoSubjects
) -> None:
    report = build_access_report(ledger, subjects.a, as_of=at("2026-06-01"), controller=CONTROLLER)

    assert report["processing"]["consent_status"] == "withdrawal_pending"
    assert report["terms"]["processing"]["withdrawal_effective_on"] == "2026-06-08"
    assert report["terms"]["processing"]["basis"] == "loyalty_programme_duration"
    assert report["loyalty_cards"][0]["status"] == "active"
    for lang, text in documents_of(report).items():
        assert "2026-06-08" in text, lang


def test_the_three_documents_are_in_their_own_language_with_every_code_translated(
    ledger: ScenarioLedger, subjects: TwoSubjects
) -> None:
    documents = documents_of(build_access_report(ledger, subjects.a, as_of=AFTER_ALL, controller=CONTROLLER))

    for lang, heading in HEADINGS.items():
        assert f'<html lang="{lang}">' in documents[lang]
        assert f"<h1>{heading}</h1>" in documents[lang]
        for code in (
            "delivery_and_service",
            "accuracy_in_doubt",
            "withdrawal_requested",
            "tablet_sms",
            "ConsentWithdrawn",
        ):
            assert code not in documents[lang], (lang, code)
    assert len({documents["kk"], documents["ru"], documents["en"]}) == 3
    assert "Ресей Федерациясы" in documents["kk"]
    assert "Российская Федерация" in documents["ru"]
    assert "Russian Federation" in documents["en"]
    assert "Ниеттестік бағдарламасының қолданылу мерзімі" not in documents["kk"], "no consent in force any more"


def test_personal_data_is_escaped_in_the_document(ledger: ScenarioLedger, subjects: TwoSubjects) -> None:
    document = render_access_report(
        build_access_report(ledger, subjects.a, as_of=AFTER_ALL, controller=CONTROLLER), "ru"
    )

    assert "<b>Alpha" not in document
    assert "&lt;b&gt;Alpha &amp; Old&lt;/b&gt;" in document


def test_the_report_id_is_the_hash_of_the_canonical_report_and_any_ledger_instance_rebuilds_it(
    ledger: ScenarioLedger, subjects: TwoSubjects, store_url: str
) -> None:
    report = build_access_report(ledger, subjects.a, as_of=AFTER_ALL, controller=CONTROLLER)
    another_instance = make_ledger(store_url)
    try:
        again = build_access_report(another_instance, subjects.a, as_of=AFTER_ALL, controller=CONTROLLER)
    finally:
        another_instance.close()

    body = {key: value for key, value in report.items() if key != "report_id"}
    assert report["report_id"] == "sha256:" + hashlib.sha256(canonical_bytes(body)).hexdigest()
    assert report_id_of(report) == report["report_id"]
    assert canonical_bytes(again) == canonical_bytes(report)
    later = build_access_report(ledger, subjects.a, as_of=at("2026-06-11"), controller=CONTROLLER)
    assert later["report_id"] != report["report_id"], "the moment reported on is part of the report"


def test_after_erasure_the_report_says_the_data_was_destroyed_and_decrypts_nothing(
    ledger: ScenarioLedger, subjects: TwoSubjects
) -> None:
    before = at("2026-06-10", "11:00")
    ledger.erase_data(subjects.a, ctx("a-erase", "2026-06-11", "dpo"), ErasureGround.CONSENT_WITHDRAWN, "subject")

    after_erasure = build_access_report(ledger, subjects.a, as_of=at("2026-06-11", "12:00"), controller=CONTROLLER)
    as_of_before = build_access_report(ledger, subjects.a, as_of=before, controller=CONTROLLER)

    for report in (after_erasure, as_of_before):  # the key is gone: a report on any moment reads nothing
        assert report["personal_data"] == {"status": "destroyed", "records": []}
        assert report["processing"]["processed"] is False
        assert report["terms"]["storage"]["status"] == "destroyed"
        for name, text in documents_of(report).items():
            assert [value for value in values(A_PII, A_DOCUMENT) if value in text] == [], name
    assert after_erasure["erasures"] == [
        {"at": "2026-06-11T05:00:00.000000Z", "ground": "consent_withdrawn", "requested_by": "subject"}
    ]
    assert "Дербес деректеріңіз жойылды" in render_access_report(after_erasure, "kk")
    b_report = build_access_report(ledger, subjects.b, as_of=at("2026-06-11", "12:00"), controller=CONTROLLER)
    assert b_report["personal_data"]["records"][0]["values"] == B_PII, "the other subject is untouched"


def test_every_kind_of_act_reads_in_every_language_without_a_code_left_untranslated(ledger: ScenarioLedger) -> None:
    subject = uuid4()
    web_form = tablet_consent(
        collection=Collection(CollectionMethod.WEB_CHECKBOX, {"checkbox_form_version": "web-2026.1"}),
        valid_until=date(2026, 5, 31), recipients=frozenset({RECIPIENT_RU}),
    )  # fmt: skip
    ledger.grant_consent(subject, ctx("grant"), web_form, A_PII)
    ledger.opt_out_of_marketing(subject, ctx("out"), [Channel.EMAIL])
    ledger.opt_in_to_marketing(subject, ctx("in"), [Channel.EMAIL])
    ledger.request_withdrawal(subject, ctx("refused", "2026-05-05"), date(2026, 5, 5), unfulfilled_obligations=1)
    ledger.request_withdrawal(subject, ctx("pending", "2026-05-05"), date(2026, 5, 5))
    ledger.refuse_withdrawal(
        subject, ctx("refuse", "2026-05-06"), WithdrawalRefusalReason.LEGAL_RETENTION_DUTY, "tax law"
    )
    blocked = ledger.block_data(subject, ctx("block"), [DataCategory.CONTACTS], BlockGround.SUBJECT_APPLICATION)
    ledger.unblock_data(subject, ctx("unblock"), [DataCategory.CONTACTS], UnblockGround.APPLICATION_RESOLVED)
    ledger.rectify_data(subject, ctx("rectify"), [DataCategory.NAME], {"name": "Synthetic Aigerim Renamed"})
    ledger.link_card(subject, ctx("card"), CARD)
    ledger.block_card(subject, ctx("card-block"), CARD, blocked.event_ids[0], "data blocked")
    ledger.unblock_card(subject, ctx("card-unblock"), CARD, "consent granted again")
    for request_id, kind in (("rq-1", RequestKind.ACCESS), ("rq-2", RequestKind.BLOCKING)):
        ledger.receive_request(
            subject, ctx(f"receive-{request_id}"), request_id=request_id, kind=kind, received_on=date(2026, 5, 4),
            pii={"identity_document": A_DOCUMENT},
        )  # fmt: skip
    ledger.answer_request(subject, ctx("answer"), "rq-1", date(2026, 5, 5), "access-report:sha256:00@x")
    ledger.reject_request(subject, ctx("reject"), "rq-2", "the application was withdrawn")
    ledger.confirm_enforcement(subject, ctx("ack"), "marketing", blocked.event_ids[0], "suppression applied")
    ledger.expire_consent(subject, ctx("expire", "2026-06-01", "scheduler"), date(2026, 6, 1))
    before_erasure = build_access_report(ledger, subject, as_of=at("2026-06-01", "12:00"), controller=CONTROLLER)
    ledger.erase_data(subject, ctx("erase", "2026-06-02", "dpo"), ErasureGround.TERM_EXPIRED, "company")
    erased = build_access_report(ledger, subject, as_of=at("2026-06-02", "12:00"), controller=CONTROLLER)

    acts = [entry["act"] for entry in before_erasure["consent_history"]]
    assert acts == ["granted", "opted_out", "opted_in", "withdrawal_refused", "withdrawal_requested",
                    "withdrawal_refused", "expired"]  # fmt: skip
    assert before_erasure["personal_data"]["records"][1]["values"] == {"name": "Synthetic Aigerim Renamed"}
    assert [r["status"] for r in before_erasure["requests"]] == ["answered", "rejected"]
    codes = ("web_checkbox", "legal_retention_duty", "subject_application", "application_resolved",
             "term_expired", "PersonalDataBlocked", "checkbox_form_version", "unfulfilled_obligation")  # fmt: skip
    for report in (before_erasure, erased):
        for lang in LANGUAGES:
            document = render_access_report(report, lang)
            assert [code for code in codes if code in document] == [], lang


def test_a_subject_the_ledger_knows_nothing_about_has_no_report(ledger: ScenarioLedger) -> None:
    with pytest.raises(UnknownSubjectError):
        build_access_report(ledger, uuid4(), as_of=AFTER_ALL, controller=CONTROLLER)


# --- over HTTP ---------------------------------------------------------------------------------


@pytest.fixture
def clock() -> Clock:
    clock = Clock()
    clock.on("2026-05-04")
    return clock


@pytest.fixture
def api(store_url: str, clock: Clock) -> Iterator[TestClient]:
    with TestClient(create_app(wired=build(http_settings(store_url), clock))) as client:
        yield client


def given_a_subject_with_an_open_access_request(api: TestClient, clock: Clock) -> str:
    """A subject who consented through a representative and filed an access request on 2026-05-22."""
    subject = str(uuid4())
    grant = {
        "command_id": "grant-1",
        "form": {"form_id": "loyalty-consent", "form_version": "2026.1", "text_sha256": "b" * 64, "language": "kk"},
        "purposes": ["loyalty", "delivery_and_service"], "categories": ["name", "contacts"],
        "third_party_transfer": True, "cross_border_countries": ["RU"],
        "collection": {"method": "tablet_sms", "proof": {"sms_verification_id": "sms-42"}, "consultant_id": "k-17"},
        "representative": {"power_of_attorney_ref": POWER_OF_ATTORNEY, "pii": REPRESENTATIVE_PII},
        "pii": A_PII,
    }  # fmt: skip
    assert api.post(f"/v1/subjects/{subject}/consents", json=grant, headers=auth("tablet")).status_code == 201
    clock.on("2026-05-22")
    for request_id, kind in ((A_REQUESTS[0], "access"), (A_REQUESTS[1], "rectification")):
        received = {
            "command_id": f"receive-{request_id}", "subject_id": subject, "request_id": request_id, "kind": kind,
            "received_on": "2026-05-22", "identity_document": A_DOCUMENT, "correlation_id": BATCH,
        }  # fmt: skip
        assert api.post("/v1/requests", json=received, headers=auth("dpo")).status_code == 201
    return subject


def test_reading_a_report_needs_the_dpo_scope_and_a_known_subject(api: TestClient, clock: Clock) -> None:
    subject = given_a_subject_with_an_open_access_request(api, clock)
    url = f"/v1/subjects/{subject}/access-report"

    as_json = api.get(url, headers=auth("dpo"))
    as_html = api.get(url, params={"format": "html", "lang": "kk"}, headers=auth("dpo"))

    assert as_json.status_code == 200
    assert as_json.content == canonical_bytes(as_json.json()), "the body is the canonical JSON the id is taken over"
    assert as_json.json()["report_id"] == report_id_of(as_json.json())
    assert as_html.status_code == 200
    assert as_html.headers["content-type"].startswith("text/html")
    assert HEADINGS["kk"] in as_html.text
    assert api.get(url).status_code == 401
    assert api.get(url, headers=auth("auditor")).status_code == 403
    assert api.get(url, headers=auth("tablet")).status_code == 403
    assert api.get(f"/v1/subjects/{uuid4()}/access-report", headers=auth("dpo")).status_code == 404
    assert api.get(url, params={"lang": "de"}, headers=auth("dpo")).status_code == 422
    assert api.get(url, params={"as_of": "2026-05-23T10:00:00+05:00"}, headers=auth("dpo")).status_code == 422
    assert api.get(url, params={"as_of": "2026-05-01T10:00:00+05:00"}, headers=auth("dpo")).status_code == 404
    for text in (as_json.text, as_html.text):
        assert [value for value in values(REPRESENTATIVE_PII) if value in text] == []


def test_answering_an_access_request_records_the_report_sent_and_the_report_rebuilds_to_the_same_id(
    api: TestClient, clock: Clock
) -> None:
    subject = given_a_subject_with_an_open_access_request(api, clock)
    clock.on("2026-05-26", "11:30")
    url = f"/v1/subjects/{subject}/requests/{A_REQUESTS[0]}/access-report"

    answered = api.post(url, json={"command_id": "answer-1", "lang": "kk"}, headers=auth("dpo"))

    assert answered.status_code == 201, answered.json()
    body = answered.json()
    report_id = body["report"]["report_id"]
    # As of the subject's last act before the answer: the second request, recorded 1 µs after the first.
    last_act = "2026-05-22T05:00:00.000001Z"
    assert body["response_ref"] == f"access-report:{report_id}@{last_act}"
    assert HEADINGS["kk"] in body["html"]
    history = api.get(f"/v1/subjects/{subject}/history", headers=auth("auditor")).json()
    answer = history["events"][-1]
    assert answer["type"].endswith("SubjectRequestAnswered")
    assert answer["id"] == body["answer"]["event_ids"][0]
    assert answer["data"] == {
        "request_id": A_REQUESTS[0],
        "answered_on": "2026-05-26",
        "response_ref": body["response_ref"],
    }
    assert answer["causationid"] == history["events"][1]["id"], "caused by the request it answers"

    clock.on("2026-05-27")
    rebuilt = api.get(f"/v1/subjects/{subject}/access-report", params={"as_of": last_act}, headers=auth("dpo"))
    assert rebuilt.json()["report_id"] == report_id
    assert rebuilt.json() == body["report"]
    assert rebuilt.json()["requests"][0]["status"] == "open", "the report sent does not contain its own answer"
    now_answered = api.get(f"/v1/subjects/{subject}/access-report", headers=auth("dpo")).json()
    assert now_answered["requests"][0]["response_ref"] == body["response_ref"]

    repeat = api.post(url, json={"command_id": "answer-1", "lang": "kk"}, headers=auth("dpo"))
    assert repeat.status_code == 200
    assert (repeat.json()["response_ref"], repeat.json()["answer"]["replayed"]) == (body["response_ref"], True)
    assert repeat.json()["report"] == body["report"]


def test_an_answer_recorded_before_answers_carried_their_requests_digest_is_repeated_as_then(
    ledger: ScenarioLedger, subjects: TwoSubjects
) -> None:
    commands = ledger.commands()
    events, _ = ledger.history(subjects.a)
    as_of = events[-1].timestamp
    report = answers.access_report(commands, subjects.a, as_of)
    ref = f"{answers.RESPONSE_REF_PREFIX}{report['report_id']}@{utc_text(as_of)}"
    # As the route did before: the digest is the derived AnswerSubjectRequest's, not the request's.
    before = replace(ctx("answer-1", "2026-06-10", "dpo"), command_digest="0" * 64)
    recorded = ledger.answer_request(subjects.a, before, A_REQUESTS[0], date(2026, 6, 10), ref)

    repeat = answers.answer_with_access_report(
        commands, subjects.a, A_REQUESTS[0], "answer-1", actor="dpo", now=at("2026-06-11")
    )
    with pytest.raises(RuleViolationError) as other:
        answers.answer_with_access_report(commands, subjects.a, A_REQUESTS[1], "answer-1", actor="dpo", now=AFTER_ALL)

    assert (repeat.outcome.event_ids, repeat.outcome.replayed) == (recorded.event_ids, True)
    assert (repeat.response_ref, repeat.report) == (ref, report)
    assert other.value.rule == "command_id_reused"
    assert len(ledger.history(subjects.a)[0]) == len(events) + 1


def test_only_an_open_access_request_is_answered_with_a_report(api: TestClient, clock: Clock) -> None:
    subject = given_a_subject_with_an_open_access_request(api, clock)

    def answer(request_id: str, command_id: str, who: str = "dpo") -> Any:
        url = f"/v1/subjects/{subject}/requests/{request_id}/access-report"
        return api.post(url, json={"command_id": command_id}, headers=auth(who))

    assert answer(A_REQUESTS[0], "answer-1", "tablet").status_code == 403
    rectification = answer(A_REQUESTS[1], "answer-2")
    unknown = answer("rq-unknown", "answer-3")
    first = answer(A_REQUESTS[0], "answer-4")
    second = answer(A_REQUESTS[0], "answer-5")
    elsewhere = api.post(f"/v1/subjects/{uuid4()}/requests/{A_REQUESTS[0]}/access-report",
                         json={"command_id": "answer-6"}, headers=auth("dpo"))  # fmt: skip

    assert (rectification.status_code, rectification.json()["rule"]) == (409, "not_an_access_request")
    assert (unknown.status_code, unknown.json()["rule"]) == (409, "unknown_request")
    assert first.status_code == 201
    assert (second.status_code, second.json()["rule"]) == (409, "request_not_open")
    assert elsewhere.status_code == 404


# --- the texts ---------------------------------------------------------------------------------

CLOSED_VOCABULARIES: list[tuple[str, type[StrEnum]]] = [
    ("purpose", Purpose), ("category", DataCategory), ("channel", Channel), ("method", CollectionMethod),
    ("block_ground", BlockGround), ("unblock_ground", UnblockGround), ("erasure_ground", ErasureGround),
    ("request_kind", RequestKind), ("refusal", WithdrawalRefusalReason), ("consent_status", ConsentStatus),
    ("language", Language),
]  # fmt: skip


def test_every_text_exists_in_kazakh_russian_and_english_and_none_is_empty() -> None:
    keys = {lang: set(TEXTS[lang]) for lang in LANGUAGES}

    assert LANGUAGES == ("kk", "ru", "en")
    assert keys["kk"] - keys["en"] == set()
    assert keys["ru"] - keys["en"] == set()
    assert keys["en"] - keys["kk"] == set()
    assert keys["en"] - keys["ru"] == set()
    assert [(lang, key) for lang in LANGUAGES for key, text in TEXTS[lang].items() if not text.strip()] == []


def test_every_code_the_report_can_hold_has_a_text() -> None:
    codes = [f"{kind}.{member.value}" for kind, vocabulary in CLOSED_VOCABULARIES for member in vocabulary]
    codes += [f"proof.{name}" for name in PROOF_FIELD.values()]
    codes += [f"operation.{code}" for code in OPERATIONS] + [f"means.{code}" for code in MEANS]
    codes += [f"medium.{code}" for code in STORAGE_MEDIA]
    event_classes = [cls for cls in vars(events).values() if isinstance(cls, type)]
    codes += [
        f"event.{cls.__name__}"
        for cls in event_classes
        if issubclass(cls, events.SubjectEvent) and cls is not events.SubjectEvent
    ]
    codes += [f"requested_by.{who}" for who in ("subject", "representative", "authorised_body", "company")]

    assert len([code for code in codes if code.startswith("event.")]) == 19
    assert [code for code in codes if code not in TEXTS["en"]] == []


def test_every_label_the_template_asks_for_has_a_text() -> None:
    template = (Path(__file__).parents[2] / "services" / "ledger" / "reports" / "templates" / TEMPLATE).read_text()
    labels = set(re.findall(r"""\bt\("([^"]+)"\)""", template))

    assert len(labels) > 50
    assert sorted(labels - TEXTS["en"].keys()) == []


def test_a_language_without_texts_is_refused(ledger: ScenarioLedger, subjects: TwoSubjects) -> None:
    report = build_access_report(ledger, subjects.a, as_of=AFTER_ALL, controller=CONTROLLER)

    with pytest.raises(UnknownLanguageError, match="choose one of kk, ru, en"):
        render_access_report(report, "de")
