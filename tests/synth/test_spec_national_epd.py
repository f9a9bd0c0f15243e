"""Spec: the national-EPD generator writes files shaped like the real NHSBSA samples
(fixtures/epd_format: 26-column layout, CRLF, empty fields unquoted, quotes only where needed),
the same bytes for a seed whatever the thread count, and files the EPD ingest accepts."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from ipmo.analytics.ingest.epd import LAYOUTS, detect_layout, ingest_epd
from ipmo.synth.national_epd import generate_national_epd

PRACTICES = 30  # practice 0 is an unidentified prescriber (code ending 998)


@pytest.fixture(scope="module")
def epd(tmp_path_factory):
    return generate_national_epd(tmp_path_factory.mktemp("epd"), seed=5, practices=PRACTICES)


def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode())))


def test_header_is_the_2016_layout_and_ingest_recognises_it(epd):
    assert _rows(epd.path)[0] == LAYOUTS["epd_2016"]
    assert detect_layout(epd.path) == "epd_2016"


def test_every_line_has_26_fields_and_ends_in_crlf_as_the_samples(epd):
    data = epd.path.read_bytes()
    lines = data.split(b"\r\n")
    assert lines[-1] == b""  # the file ends with CRLF
    assert b"\n" not in b"".join(lines)  # no bare LF anywhere
    rows = _rows(epd.path)
    assert len(rows) == epd.raw_rows + 1
    assert {len(r) for r in rows} == {26}


def test_empty_fields_are_unquoted_and_names_with_commas_are_quoted(epd):
    text = epd.path.read_bytes().decode()
    assert '""' not in text  # the samples leave empty fields empty, not ""
    assert ",,,,,," in text  # ADDRESS_1..4, POSTCODE
    quoted = [line for line in text.splitlines() if '"' in line]
    assert quoted, "the profile has names with commas (e.g. Dalteparin 25,000u/ml)"
    name = LAYOUTS["epd_2016"].index("BNF_DESCRIPTION")
    for line in quoted:
        (row,) = csv.reader([line])
        assert "," in row[name]


def test_numbers_are_formatted_as_in_the_samples(epd):
    header, *rows = _rows(epd.path)
    col = {name: i for i, name in enumerate(header)}
    assert rows, "the extract has rows to check"
    for row in rows[:2000]:
        assert row[col["QUANTITY"]].endswith(".0")
        assert row[col["TOTAL_QUANTITY"]].endswith(".0")
        assert float(row[col["TOTAL_QUANTITY"]]) == float(row[col["QUANTITY"]]) * int(
            row[col["ITEMS"]]
        )
        assert len(row[col["NIC"]].split(".")[1]) == 2
        assert len(row[col["ACTUAL_COST"]].split(".")[1]) == 5


def test_each_practice_s_rows_are_together(epd):
    header, *rows = _rows(epd.path)
    practices = [r[header.index("PRACTICE_CODE")] for r in rows]
    runs = [p for i, p in enumerate(practices) if i == 0 or p != practices[i - 1]]
    assert len(runs) == len(set(runs)) == PRACTICES


def test_same_seed_same_bytes_whatever_the_threads_and_another_seed_differs(epd, tmp_path):
    one = generate_national_epd(tmp_path / "one", seed=5, practices=PRACTICES, threads=1)
    three = generate_national_epd(tmp_path / "three", seed=5, practices=PRACTICES, threads=3)
    other = generate_national_epd(tmp_path / "other", seed=6, practices=PRACTICES)
    assert one.path.read_bytes() == three.path.read_bytes() == epd.path.read_bytes()
    assert other.path.read_bytes() != epd.path.read_bytes()


def test_ingest_counts_every_raw_row_and_drops_the_unidentified_practice(epd, tmp_path):
    report = ingest_epd([epd.path], tmp_path / "store")
    assert report.raw_rows == epd.raw_rows
    unidentified = sum(1 for r in _rows(epd.path)[1:] if r[8].endswith("998"))
    assert unidentified > 0
    assert report.dropped_unidentified_rows == unidentified
