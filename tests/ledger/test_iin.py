"""Checking the IIN a data subject gives us: synthetic numbers only, never a real person's."""

from datetime import date

import pytest

from services.ledger.domain.iin import Iin, InvalidIinError, is_valid_iin, parse_iin

FIRST_WEIGHTS = range(1, 12)
SECOND_WEIGHTS = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)


def remainder(first_eleven: str, weights: tuple[int, ...] | range) -> int:
    """The weighted sum of the first eleven digits, modulo 11."""
    return sum(int(digit) * weight for digit, weight in zip(first_eleven, weights, strict=True)) % 11


def with_check_digit(first_eleven: str) -> str:
    """Append the check digit the IIN rules prescribe."""
    check = remainder(first_eleven, FIRST_WEIGHTS)
    if check == 10:
        check = remainder(first_eleven, SECOND_WEIGHTS)
    assert check != 10, "these eleven digits admit no check digit"
    return first_eleven + str(check)


def synthetic_iin(birth_yymmdd: str, century_and_sex: str, serial: str = "0001") -> str:
    """A made-up IIN with a correct check digit."""
    return with_check_digit(birth_yymmdd + century_and_sex + serial)


def first_eleven_where(birth_yymmdd: str, century_and_sex: str, *, second_gives_ten: bool) -> str:
    """The first eleven digits, over serials 0000-9999, whose first weight set gives 10."""
    for serial in range(10_000):
        first_eleven = f"{birth_yymmdd}{century_and_sex}{serial:04d}"
        if remainder(first_eleven, FIRST_WEIGHTS) == 10 and (
            (remainder(first_eleven, SECOND_WEIGHTS) == 10) is second_gives_ten
        ):
            return first_eleven
    raise AssertionError("no such serial")


MALE_1985 = synthetic_iin("850314", "3")
# The digit zero of scripts a keyboard may type an IIN in; the other nine follow it in Unicode.
OTHER_DIGITS = {"full-width": "\uff10", "arabic-indic": "\u0660", "persian": "\u06f0", "devanagari": "\u0966"}


def typed_in(zero: str, text: str) -> str:
    """`text` with its ASCII digits written in the digits that start at `zero`."""
    return text.translate({ord("0") + n: ord(zero) + n for n in range(10)})


def test_a_man_born_in_1985_has_a_valid_iin() -> None:
    iin = parse_iin(MALE_1985)

    assert iin.value == MALE_1985
    assert iin.birth_date == date(1985, 3, 14)
    assert iin.sex == "male"
    assert is_valid_iin(MALE_1985)


def test_a_woman_born_in_2004_has_a_valid_iin() -> None:
    iin = parse_iin(synthetic_iin("040229", "6"))

    assert iin.birth_date == date(2004, 2, 29)
    assert iin.sex == "female"


def test_when_the_first_weights_give_10_the_second_weights_decide_the_check_digit() -> None:
    first_eleven = first_eleven_where("910720", "4", second_gives_ten=False)
    number = first_eleven + str(remainder(first_eleven, SECOND_WEIGHTS))

    assert parse_iin(number).birth_date == date(1991, 7, 20)
    # The first-weight answer, 10, is not a digit; the last digit of it is not accepted either.
    assert not is_valid_iin(first_eleven + "0")


def test_surrounding_whitespace_is_ignored() -> None:
    assert parse_iin(f"  {MALE_1985}\n") == parse_iin(MALE_1985)


@pytest.mark.parametrize("zero", OTHER_DIGITS.values(), ids=OTHER_DIGITS.keys())
def test_an_iin_typed_in_another_scripts_digits_is_the_same_iin_in_ascii(zero: str) -> None:
    iin = parse_iin(typed_in(zero, MALE_1985))

    assert iin.value == MALE_1985
    assert iin.birth_date == date(1985, 3, 14)
    assert is_valid_iin(typed_in(zero, MALE_1985))


def test_an_iin_copied_with_invisible_direction_marks_is_read_without_them() -> None:
    assert parse_iin(f"\u200f{typed_in(OTHER_DIGITS['arabic-indic'], MALE_1985)}\u200e").value == MALE_1985


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param(
            MALE_1985[:11] + str((int(MALE_1985[11]) + 1) % 10), "digit 12 \\(check digit\\)", id="wrong check digit"
        ),
        pytest.param(MALE_1985[:11], "exactly 12 digits, this one has 11", id="11 digits"),
        pytest.param("", "exactly 12 digits, this one has 0", id="empty"),
        pytest.param(MALE_1985[:5] + "A" + MALE_1985[6:], "digits 0-9 only", id="a letter"),
        pytest.param(MALE_1985[:5] + "\u041e" + MALE_1985[6:], "digits 0-9 only", id="a Cyrillic O for a zero"),
        pytest.param(synthetic_iin("851314", "3"), "digits 1-6 \\(birth date", id="month 13"),
        pytest.param(synthetic_iin("900230", "4"), "digits 1-6 \\(birth date", id="30 February"),
        pytest.param(synthetic_iin("000229", "3"), "digits 1-6 \\(birth date", id="29 February 1900"),
        pytest.param(synthetic_iin("850314", "0"), "digit 7 \\(century", id="century digit 0"),
        pytest.param(synthetic_iin("850314", "7"), "digit 7 \\(century", id="century digit 7"),
        pytest.param(
            first_eleven_where("850314", "3", second_gives_ten=True) + "0",
            "admit no check digit",
            id="both weight sets give 10",
        ),
    ],
)
def test_an_invalid_iin_is_refused_with_the_reason_and_without_echoing_the_number(text: str, reason: str) -> None:
    with pytest.raises(InvalidIinError, match=reason) as refused:
        parse_iin(text)

    assert not is_valid_iin(text)
    assert isinstance(refused.value, ValueError)
    if text:
        assert text not in str(refused.value)


def test_an_iin_shows_only_its_last_four_digits_in_logs() -> None:
    iin = parse_iin(MALE_1985)

    assert str(iin) == "********" + MALE_1985[-4:]
    assert repr(iin) == f"Iin('********{MALE_1985[-4:]}')"
    assert MALE_1985 not in f"{iin} {iin!r} {[iin]}"


def test_an_iin_cannot_be_built_around_an_invalid_number() -> None:
    with pytest.raises(InvalidIinError):
        Iin(MALE_1985[:11])


def test_an_iin_holds_ascii_digits_only_so_each_number_has_one_spelling() -> None:
    with pytest.raises(InvalidIinError, match="digits 0-9 only"):
        Iin(typed_in(OTHER_DIGITS["full-width"], MALE_1985))
