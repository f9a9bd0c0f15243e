"""Disclosure control: small counts withheld, others rounded (disclosure.py constants)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ipmo.disclosure import ROUNDING_MULTIPLE, SUPPRESSION_THRESHOLD, disclose


def test_counts_at_or_below_threshold_are_withheld():
    assert [disclose(n) for n in range(SUPPRESSION_THRESHOLD + 1)] == [None] * 8
    assert disclose(None) is None


def test_counts_above_threshold_are_rounded_to_the_multiple():
    assert (disclose(8), disclose(12), disclose(13), disclose(1003)) == (10, 10, 15, 1005)


@given(st.integers(min_value=SUPPRESSION_THRESHOLD + 1, max_value=10**9))
def test_published_counts_are_multiples_within_half_a_step(count):
    shown = disclose(count)
    assert shown % ROUNDING_MULTIPLE == 0
    assert abs(shown - count) <= ROUNDING_MULTIPLE / 2
    assert shown > SUPPRESSION_THRESHOLD
