"""Personal data sealed by a channel with the kit, opened by the ledger: over HTTP as on Kafka, refused clearly."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from typer.testing import CliRunner

from schemas import commands as c
from schemas import kit
from services.cli import app as cli
from services.ledger.adapters.pii.sealing import SealedDataError, SealingKey, opened
from services.ledger.bootstrap import LedgerServices, build
from services.ledger.entrypoints.http.app import create_app
from tests.ledger.conftest import MASTER_TEXT
from tests.ledger.test_http_api import Clock, auth, grant_body, http_settings

KEY = SealingKey.generate()
PUBLIC = KEY.public_base64()
NAME, PHONE, CARD = "Dana Sealingtest", "+7 702 555 44 11", "6001 5550 9090 1177"
REPRESENTATIVE = {"name": "Erlan Sealingtest", "phone": "+7 702 555 44 12"}


def grant(subject: uuid.UUID, command_id: str = "seal-grant-1", **changes: Any) -> dict[str, Any]:
    """A GrantConsent with the subject's and a representative's personal data, in clear."""
    body = grant_body(command_id, type="GrantConsent", subject_id=str(subject), pii={"name": NAME, "phone": PHONE})
    body["representative"] = {"power_of_attorney_ref": "poa-3", "pii": REPRESENTATIVE}
    return body | changes


def as_command(document: dict[str, Any]) -> Any:
    return c.COMMANDS.validate_python(document)


def test_the_kit_seals_each_personal_field_and_the_ledger_opens_exactly_what_was_sealed() -> None:
    subject = uuid.uuid4()
    card = {"type": "LinkLoyaltyCard", "command_id": "seal-card-1", "subject_id": str(subject), "card_number": CARD}

    sealed = kit.sealed_command(grant(subject), PUBLIC)
    again = kit.sealed_command(grant(subject), PUBLIC)
    key, value = kit.command_record(card, PUBLIC)
    opened_grant = opened(as_command(sealed), subject, KEY)
    opened_card = opened(c.COMMANDS.validate_json(value), subject, KEY)

    assert "pii" not in sealed
    assert "pii" not in sealed["representative"]
    assert sealed["sealed_pii"].startswith("sealed.v1.")
    assert sealed["sealed_pii"] != again["sealed_pii"]  # each sealing is fresh: equal data is not recognisable
    assert NAME.encode() not in orjson.dumps(sealed)
    assert (key, CARD.encode() in value, b"sealed_card_number" in value) == (str(subject).encode(), False, True)
    assert opened_grant == as_command(grant(subject))  # the same command as sent in clear
    assert opened_card.card_number == CARD
    assert opened_card.sealed_card_number is None


@pytest.mark.parametrize(
    ("case", "rule"),
    [
        ("sealed to another key", "sealed_data_unreadable"),
        ("not a sealed box", "sealed_data_unreadable"),
        ("no sealing key here", "sealed_data_unreadable"),
        ("sealed for another subject", "sealed_data_mismatch"),
        ("sealed for another field", "sealed_data_mismatch"),
        ("not strings inside", "malformed"),
    ],
)
def test_sealed_data_the_ledger_cannot_take_is_refused_with_its_rule_and_without_its_content(
    case: str, rule: str
) -> None:
    subject, other = uuid.uuid4(), uuid.uuid4()
    document = kit.sealed_command(grant(subject), PUBLIC)
    key: SealingKey | None = KEY
    if case == "sealed to another key":
        document = kit.sealed_command(grant(subject), SealingKey.generate().public_base64())
    elif case == "not a sealed box":
        document["sealed_pii"] = "sealed.v1." + "A" * 120
    elif case == "no sealing key here":
        key = None
    elif case == "sealed for another subject":
        document["sealed_pii"] = kit.sealed_command(grant(other), PUBLIC)["sealed_pii"]
    elif case == "sealed for another field":
        document["sealed_pii"] = document["representative"]["sealed_pii"]
    else:
        document["sealed_pii"] = kit.seal(PUBLIC, subject, "pii", {"name": NAME, "phone": [PHONE]})

    with pytest.raises(SealedDataError) as refused:
        opened(as_command(document), subject, key)

    assert refused.value.rule == rule
    assert refused.value.field == ("pii" if rule == "malformed" else "sealed_pii")
    assert NAME not in str(refused.value)
    assert PHONE not in str(refused.value)


def test_a_field_is_given_in_clear_or_sealed_never_both_and_a_rectification_needs_one() -> None:
    subject = uuid.uuid4()
    both = kit.sealed_command(grant(subject), PUBLIC) | {"pii": {"name": NAME}}
    rectify = {"type": "RectifyPersonalData", "command_id": "r-1", "subject_id": str(subject), "categories": ["name"]}

    with pytest.raises(ValidationError, match="give pii or sealed_pii, not both"):
        as_command(both)
    with pytest.raises(ValidationError, match="give the new values in pii or sealed_pii"):
        as_command(rectify)
    assert as_command(kit.sealed_command(rectify | {"pii": {"name": NAME}}, PUBLIC)).sealed_pii


@pytest.fixture
def wired(tmp_path: Path) -> LedgerServices:
    """A ledger with a sealing key; the app it is served by closes it."""
    return build(
        http_settings(f"sqlite:///{tmp_path / 'ledger.sqlite3'}", ledger_sealing_key=KEY.private_base64()), Clock()
    )


def test_over_http_a_channel_may_seal_too_and_gets_what_the_same_command_in_clear_gets(wired: LedgerServices) -> None:
    subject = uuid.uuid4()
    url = f"/v1/subjects/{subject}"
    card = {"command_id": "seal-card-2", "subject_id": str(subject), "card_number": CARD}
    with TestClient(create_app(wired=wired)) as api:
        public_key = api.get("/v1/commands/public-key")  # no token: public by design
        sealed = api.post(
            f"{url}/consents", json=kit.sealed_command(grant(subject), public_key.text), headers=auth("tablet")
        )
        in_clear = api.post(f"{url}/consents", json=grant(subject), headers=auth("tablet"))
        linked = api.post(f"{url}/cards", json=kit.sealed_command(card | {"type": "LinkLoyaltyCard"}, public_key.text),
                          headers=auth("tablet"))  # fmt: skip
        events, _ = wired.ledger.history(subject)
        stored = wired.ledger.cipher.decrypt(str(subject), str(events[0].pii))

    assert (public_key.status_code, public_key.text) == (200, PUBLIC)
    assert sealed.status_code == 201, sealed.json()
    assert (in_clear.status_code, in_clear.json()["replayed"]) == (200, True)  # one command, sealed or not
    assert linked.status_code == 201, linked.json()
    assert events[1].card_ref == wired.commands.subject_ids.card_ref(CARD)
    assert stored == {"name": NAME, "phone": PHONE, "representative": REPRESENTATIVE}


def test_over_http_sealed_data_is_checked_as_data_in_clear_and_refused_with_a_clear_422(wired: LedgerServices) -> None:
    subject = uuid.uuid4()
    url = f"/v1/subjects/{subject}/consents"
    bad_iin = grant(subject, "seal-iin-1", pii={"name": NAME, "iin": "900101300001"})
    with TestClient(create_app(wired=wired)) as api:
        iin_in_clear = api.post(url, json=bad_iin, headers=auth("tablet"))
        iin_sealed = api.post(url, json=kit.sealed_command(bad_iin, PUBLIC), headers=auth("tablet"))
        other_key = kit.sealed_command(grant(subject, "seal-other-1"), SealingKey.generate().public_base64())
        unreadable = api.post(url, json=other_key, headers=auth("tablet"))
        recorded = wired.ledger.history(subject)[0]

    assert (iin_in_clear.status_code, iin_sealed.status_code) == (422, 422)
    assert iin_sealed.json()["detail"][0]["loc"] == iin_in_clear.json()["detail"][0]["loc"] == ["body", "pii", "iin"]
    assert "900101300001" not in iin_sealed.text
    assert unreadable.status_code == 422
    [detail] = unreadable.json()["detail"]
    assert detail["loc"] == ["body", "sealed_pii"]
    assert detail["msg"].startswith("sealed_data_unreadable: ")
    assert recorded == []


def test_without_a_sealing_key_the_public_key_is_unavailable_and_says_which_setting(tmp_path: Path) -> None:
    wired = build(http_settings(f"sqlite:///{tmp_path / 'ledger.sqlite3'}"), Clock())
    with TestClient(create_app(wired=wired)) as api:
        answer = api.get("/v1/commands/public-key")

    assert answer.status_code == 503
    assert "CONSENT_LEDGER_SEALING_KEY" in answer.text


def test_the_command_line_prints_the_public_key_channels_seal_to(tmp_path: Path) -> None:
    env = {
        "CONSENT_LEDGER_STORE": f"sqlite:///{tmp_path / 'ledger.sqlite3'}",
        "CONSENT_LEDGER_MASTER_KEY": MASTER_TEXT,
        "CONSENT_LEDGER_IDENTITY_SECRET": "identity-secret-for-tests-0123456789",
    }

    printed = CliRunner().invoke(
        cli, ["sealing-public-key"], env=env | {"CONSENT_LEDGER_SEALING_KEY": KEY.private_base64()}
    )
    missing = CliRunner().invoke(cli, ["sealing-public-key"], env=env)

    assert (printed.exit_code, printed.stdout.strip()) == (0, PUBLIC)
    assert missing.exit_code == 1
    assert "CONSENT_LEDGER_SEALING_KEY" in missing.stdout
