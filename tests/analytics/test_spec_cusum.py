"""Spec: CUSUM alerts reproduce OpenPrescribing's alert_test_cases.txt (fixtures/README.md §6).

Inputs are divided by 100, the call is cusum(data, window_size=3, sensitivity=5), and the change
word is delta_words(to × 100, from × 100) for the alert run ending in the latest month.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ipmo.analytics.reports.cusum import cusum, delta_words, last_alert_change

CASES = Path(__file__).resolve().parents[2].parent / "shared/peers/openprescribing/fixtures"
CASES = CASES / "alerts_cusum/alert_test_cases.txt"


def _columns(line: str) -> list[str]:
    return [line[i : i + 4].strip() for i in range(0, len(line), 4)]


def _cases():
    lines = CASES.read_text().splitlines()
    out = []
    for i, line in enumerate(lines):
        if line.startswith("# "):
            values = [float(v) / 100 if v else None for v in _columns(lines[i + 1])]
            marks = _columns(lines[i + 2])
            marks += [""] * (len(values) - len(marks))
            out.append(pytest.param(values, marks[: len(values)], lines[i + 3], id=line[2:60]))
    return out


def test_fixture_has_all_cases():
    assert len(_cases()) == 25


@pytest.mark.parametrize(("values", "marks", "word"), _cases())
def test_cusum_alerts_and_change_word(values, marks, word):
    result = cusum(values, window_size=3, sensitivity=5)
    got = ["u" if u else "d" if d else "" for u, d in zip(result.up, result.down, strict=True)]
    assert got == marks
    start, end = last_alert_change(values, result)
    assert delta_words(end * 100, start * 100) == word


def test_delta_words_bands():
    assert [delta_words(x, 0) for x in (0, 5, 15, 25, 35)] == [
        "not at all", "slightly", "moderately", "considerably", "massively",
    ]  # fmt: skip
