"""Verhoeff check digit and the float-damage repair rule (SNOMED CT TIG 6.3; shared README)."""

from hypothesis import given
from hypothesis import strategies as st

from ipmo.terminology.verhoeff import (
    check_digit,
    is_uk_extension,
    is_valid_sctid,
    repair_candidates,
    verhoeff_ok,
)


def test_known_sctids_pass():
    # Myocardial infarction, hypertensive disorder, and dm+d ids from the OpenPrescribing fixture.
    for code in ("22298006", "38341003", "347208002", "22480211000001104", "318338001"):
        assert verhoeff_ok(code), code


def test_readme_damaged_examples_fail():
    # ../shared/terminology/README.md, "Data quality": both fail the check digit.
    assert not verhoeff_ok("12816911000001100")
    assert not verhoeff_ok("10054111000001108")


def test_non_digits_and_bad_shapes_are_invalid():
    assert not verhoeff_ok("")
    assert not verhoeff_ok("12a4")
    assert not is_valid_sctid("00298006")  # leading zero
    assert not is_valid_sctid("12345")  # too short


@given(st.integers(min_value=10**4, max_value=10**17))
def test_appended_check_digit_always_passes(n):
    body = str(n)
    assert verhoeff_ok(body + str(check_digit(body)))


@given(st.integers(min_value=10**4, max_value=10**17), st.data())
def test_any_single_digit_error_is_caught(n, data):
    body = str(n)
    code = body + str(check_digit(body))
    i = data.draw(st.integers(0, len(code) - 1))
    new = data.draw(st.sampled_from([d for d in "0123456789" if d != code[i]]))
    assert not verhoeff_ok(code[:i] + new + code[i + 1 :])


def test_repair_finds_the_one_float_equal_candidate():
    (fixed,) = repair_candidates("10054111000001108")
    assert fixed != "10054111000001108"
    assert verhoeff_ok(fixed) and is_uk_extension(fixed)
    assert float(int(fixed)) == float(10054111000001108)


def test_repair_of_small_id_finds_nothing():
    # Below 2**53 a float holds the id exactly, so nothing else shares its float value.
    assert repair_candidates("347208003") == []
