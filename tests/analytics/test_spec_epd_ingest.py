"""Spec: EPD ingest (fixtures/README.md §4): both layouts, aggregation, unidentified prescribers."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from ipmo.analytics.ingest.epd import LAYOUTS, IngestError, detect_layout, ingest_epd


def _epd(shared_dir: Path) -> Path:
    return shared_dir / "peers/openprescribing/fixtures/epd_format"


def _rows(root: Path) -> list[dict]:
    rel = duckdb.sql(f"SELECT * FROM read_parquet('{root}/prescribing/*.parquet') ORDER BY ALL")
    return [dict(zip(rel.columns, row, strict=True)) for row in rel.fetchall()]


def _to_snomed_layout(source: Path, target: Path) -> None:
    """Rewrite an old-layout file with the SNOMED-layout header and a trailing SNOMED_CODE."""
    with source.open(newline="") as fin, target.open("w", newline="") as fout:
        reader, writer = csv.reader(fin), csv.writer(fout)
        next(reader)
        writer.writerow(LAYOUTS["epd_snomed"])
        for row in reader:
            writer.writerow([row[0].replace("_", ""), *row[1:], "322236009"])


def test_old_layout_aggregates_to_nine_rows_and_merges_pack_sizes(shared_dir, tmp_path):
    report = ingest_epd([_epd(shared_dir) / "EPD_201601.csv"], tmp_path)
    rows = _rows(tmp_path)
    assert report.rows == len(rows) == 9
    merged = [r for r in rows if (r["practice"], r["bnf_code"]) == ("P92042", "0202010B0AAABAB")]
    assert merged[0]["quantity"] == 1288
    assert merged[0]["items"] == 69


def test_old_layout_matches_expected_aggregated_file(shared_dir, tmp_path):
    ingest_epd([_epd(shared_dir) / "EPD_201601.csv"], tmp_path)
    got = {(r["practice"], r["bnf_code"]): r for r in _rows(tmp_path)}
    with (_epd(shared_dir) / "EPD_201601_expected_aggregated.csv").open() as handle:
        expected = list(csv.DictReader(handle))
    assert len(expected) == len(got)
    for row in expected:
        mine = got[(row["practice"], row["bnf_code"])]
        assert mine["items"] == int(row["items"])
        assert mine["quantity"] == pytest.approx(float(row["quantity"]))
        assert mine["actual_cost"] == pytest.approx(float(row["actual_cost"]))
        assert mine["net_cost"] == pytest.approx(float(row["net_cost"]))
        assert str(mine["month"]) == row["month"]


def test_unidentified_prescriber_998_is_dropped(shared_dir, tmp_path):
    report = ingest_epd([_epd(shared_dir) / "EPD_201601.csv"], tmp_path)
    assert report.dropped_unidentified_rows == 1
    assert not [r for r in _rows(tmp_path) if r["practice"].endswith("998")]
    practices = duckdb.sql(f"SELECT practice FROM '{tmp_path}/practices.parquet'").fetchall()
    assert ("Q58998",) not in practices


def test_e2e_month_has_5324_aggregated_rows(shared_dir, tmp_path):
    report = ingest_epd([_epd(shared_dir) / "epd_201709_e2e_4practices.csv"], tmp_path)
    assert (report.raw_rows, report.rows) == (10027, 5324)


def test_snomed_layout_gives_the_same_aggregate(shared_dir, tmp_path):
    snomed = tmp_path / "EPD_SNOMED_201601.csv"
    _to_snomed_layout(_epd(shared_dir) / "EPD_201601.csv", snomed)
    assert detect_layout(snomed) == "epd_snomed"
    ingest_epd([snomed], tmp_path / "new")
    ingest_epd([_epd(shared_dir) / "EPD_201601.csv"], tmp_path / "old")
    assert _rows(tmp_path / "new") == _rows(tmp_path / "old")


def test_unknown_column_is_refused_naming_the_file(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(",".join([*LAYOUTS["epd_2016"], "EXTRA"]) + "\n")
    with pytest.raises(IngestError, match=r"bad\.csv.*unknown columns EXTRA"):
        ingest_epd([bad], tmp_path / "out")
    assert not (tmp_path / "out" / "prescribing").exists()


def test_malformed_number_is_refused_naming_the_row_and_nothing_is_written(shared_dir, tmp_path):
    lines = (_epd(shared_dir) / "EPD_201601.csv").read_text().splitlines()
    lines[3] = lines[3].replace(",1.0,2,2.0,", ",1.0,two,2.0,")  # ITEMS of the 4th line
    bad = tmp_path / "EPD_bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    good = _epd(shared_dir) / "epd_201709_e2e_4practices.csv"
    with pytest.raises(IngestError, match=r"EPD_bad\.csv, row 4"):
        ingest_epd([good, bad], tmp_path / "out")
    out = tmp_path / "out"
    assert not list(out.rglob("*.parquet")) and not list(out.rglob("*.tmp"))


def test_bad_year_month_is_refused_naming_the_row(shared_dir, tmp_path):
    lines = (_epd(shared_dir) / "EPD_201601.csv").read_text().splitlines()
    lines[5] = lines[5].replace("2016_01", "2016-13", 1)
    bad = tmp_path / "EPD_month.csv"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(IngestError, match=r"EPD_month\.csv, row 6: YEAR_MONTH"):
        ingest_epd([bad], tmp_path / "out")


def test_same_month_in_two_files_is_refused(shared_dir, tmp_path):
    path = _epd(shared_dir) / "EPD_201601.csv"
    with pytest.raises(IngestError, match="2016-01"):
        ingest_epd([path, path], tmp_path)


def test_empty_required_number_is_refused_naming_the_row_and_column(shared_dir, tmp_path):
    lines = (_epd(shared_dir) / "EPD_201601.csv").read_text().splitlines()
    assert ",1.0,2,2.0," in lines[3]
    lines[3] = lines[3].replace(",1.0,2,2.0,", ",1.0,,2.0,")  # ITEMS of the 4th line is empty
    bad = tmp_path / "EPD_empty.csv"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(IngestError, match=r"EPD_empty\.csv, row 4: a required number \(ITEMS\)"):
        ingest_epd([bad], tmp_path / "out")
    assert not list((tmp_path / "out").rglob("*.parquet"))


def test_empty_practice_code_is_refused_naming_the_row(shared_dir, tmp_path):
    lines = (_epd(shared_dir) / "EPD_201601.csv").read_text().splitlines()
    assert ",P92042," in lines[2]
    lines[2] = lines[2].replace(",P92042,", ",,", 1)
    bad = tmp_path / "EPD_nopractice.csv"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(IngestError, match=r"EPD_nopractice\.csv, row 3: missing practice"):
        ingest_epd([bad], tmp_path / "out")
    ingest_epd([_epd(shared_dir) / "EPD_201601.csv"], tmp_path / "good")  # the unchanged file
    assert list((tmp_path / "good").rglob("*.parquet"))


def test_practice_attributes_and_names_come_from_the_file(shared_dir, tmp_path):
    """Practice name, place (PCO_CODE[:3]), ICB and region, and presentation names, as given."""
    ingest_epd([_epd(shared_dir) / "EPD_201601.csv"], tmp_path)
    practices = duckdb.sql(f"SELECT * FROM '{tmp_path}/practices.parquet' ORDER BY 1").fetchall()
    assert ("P92042", "DR CHAN", None, "02H", "Q46", "Y54") in practices
    names = dict(duckdb.sql(f"SELECT * FROM '{tmp_path}/presentations.parquet'").fetchall())
    assert names["0202010B0AAABAB"] == "Bendroflumethiazide_Tab 2.5mg"
    row = [r for r in _rows(tmp_path) if r["bnf_code"] == "0202010B0AAABAB"][0]
    assert row["bnf_name"] == "Bendroflumethiazide_Tab 2.5mg"
