import pytest

from ipmo.patients.identity import InvalidNhsNumber, is_synthetic, normalise_nhs_number


def test_valid_numbers_are_normalised_to_ten_digits():
    assert normalise_nhs_number("999 000 0018") == "9990000018"
    assert normalise_nhs_number("999-000-0018") == "9990000018"


@pytest.mark.parametrize(
    "bad, reason",
    [
        ("9990000019", "Modulus 11"),
        ("12345", "10 digits"),
        ("99900000AB", "10 digits"),
        ("", "10 digits"),
    ],
)
def test_invalid_numbers_are_refused_with_a_reason(bad, reason):
    with pytest.raises(InvalidNhsNumber, match=reason):
        normalise_nhs_number(bad)


def test_synthetic_numbers_come_from_the_never_issued_range():
    assert is_synthetic("9990000018") and is_synthetic("9980000000")
    assert not is_synthetic("4857773456")
