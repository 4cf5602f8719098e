"""One person, one subject id: a phone, IIN or card number is the same number in whatever digits it was typed.

Synthetic numbers only. A keyboard set to Arabic, Persian, Hindi or full-width input writes the same
number with other code points; read literally, each spelling would be another "person", and a
withdrawal or erasure under one id would leave the others consenting.
"""

from __future__ import annotations

import pytest

from services.ledger.application.identity import Identifier, SubjectIds, normalise
from tests.ledger.test_iin import synthetic_iin

# The digit zero of each script; the other nine follow it in Unicode.
SCRIPTS = {
    "ascii": "0",
    "full-width": "\uff10",
    "arabic-indic": "\u0660",
    "persian": "\u06f0",
    "devanagari": "\u0966",
    "bengali": "\u09e6",
    "mathematical-bold": "\U0001d7ce",
}
PHONE = "+7 701 000 00 42"
CARD = "6001 0000 0000 0042"
IIN = synthetic_iin("850314", "3", "0042")
IDS = SubjectIds(b"identity-secret-for-tests-0123456789")


def written_in(script: str, text: str) -> str:
    """`text` with its ASCII digits written in the digits of `script`."""
    zero = ord(SCRIPTS[script])
    return text.translate({ord("0") + n: zero + n for n in range(10)})


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_phone_typed_in_any_script_gives_the_one_subject_id_of_its_ascii_spelling(script: str) -> None:
    phone = written_in(script, PHONE)

    assert IDS.subject_id(Identifier.PHONE, phone) == IDS.subject_id(Identifier.PHONE, PHONE)
    assert normalise(Identifier.PHONE, phone) == "77010000042"


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_phone_with_the_domestic_8_prefix_is_the_same_person_in_any_script(script: str) -> None:
    assert IDS.subject_id(Identifier.PHONE, written_in(script, "8 701 000-00-42")) == IDS.subject_id(
        Identifier.PHONE, PHONE
    )


@pytest.mark.parametrize("script", SCRIPTS)
def test_an_iin_typed_in_any_script_gives_the_one_subject_id_of_its_ascii_spelling(script: str) -> None:
    iin = written_in(script, IIN)

    assert IDS.subject_id(Identifier.IIN, iin) == IDS.subject_id(Identifier.IIN, IIN)
    assert normalise(Identifier.IIN, iin) == IIN


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_card_number_typed_in_any_script_gives_one_card_reference_and_one_subject_id(script: str) -> None:
    card = written_in(script, CARD)

    assert IDS.card_ref(card) == IDS.card_ref(CARD)
    assert IDS.subject_id(Identifier.CARD, card) == IDS.subject_id(Identifier.CARD, CARD)


def test_full_width_separators_and_invisible_direction_marks_are_dropped_like_ascii_spaces() -> None:
    # As a phone number copied out of right-to-left text arrives: marks around it, full-width plus and brackets.
    digits = written_in("arabic-indic", "7|701|000|00|42").split("|")
    copied = "\u200e\uff0b{} \uff08{}\uff09\u00a0{}\u2011{}\u2011{}\u200f".format(*digits)

    assert IDS.subject_id(Identifier.PHONE, copied) == IDS.subject_id(Identifier.PHONE, PHONE)


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        pytest.param(Identifier.PHONE, "+7 701 000 00 42 ext 5", id="phone with letters"),
        pytest.param(Identifier.PHONE, "+7 701 000 00 42+", id="phone with a second plus"),
        pytest.param(Identifier.PHONE, " - ", id="phone without digits"),
        pytest.param(Identifier.CARD, "6001-0000-0000-004X", id="card with a letter"),
        pytest.param(Identifier.CARD, "+6001 0000 0000 0042", id="card with a plus"),
        pytest.param(Identifier.CARD, "6001\u00bd", id="card with a vulgar fraction"),
        pytest.param(Identifier.IIN, IIN[:6] + " " + IIN[6:], id="iin with a space inside"),
    ],
)
def test_anything_but_digits_and_separators_is_refused_without_repeating_the_value(
    kind: Identifier, value: str
) -> None:
    with pytest.raises(ValueError, match=kind.value.upper() if kind is Identifier.IIN else kind.value) as refused:
        IDS.subject_id(kind, value)

    assert value.strip() not in str(refused.value)
    assert "0042" not in str(refused.value)
