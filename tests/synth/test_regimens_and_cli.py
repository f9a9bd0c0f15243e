"""The shipped regimen table is real dm+d, and the CLI refuses bad input with exit code 2."""

from __future__ import annotations

import csv
from importlib import resources

import nhs_number
import numpy as np
from build_regimens import build, verhoeff_ok
from typer.testing import CliRunner

from ipmo.cli import app
from ipmo.synth.nhs_numbers import synthetic_nhs_numbers


def _shipped():
    with (resources.files("ipmo.synth") / "data" / "regimens.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_shipped_ids_pass_verhoeff_and_bnf_codes_are_presentations():
    rows = _shipped()
    assert len(rows) > 60
    assert all(verhoeff_ok(r["vmp_code"]) for r in rows)
    assert all(verhoeff_ok(r["amp_code"]) for r in rows if r["amp_code"])
    assert all(len(r["bnf_code"]) == 15 for r in rows if r["bnf_code"])


def test_shipped_table_is_reproducible_from_shared(shared_dir):
    assert build(shared_dir) == _shipped()


def test_verhoeff_rejects_float_damaged_id():
    # shared/terminology/README.md: 12816911000001100 was damaged by a float round trip
    assert not verhoeff_ok("12816911000001100")
    assert verhoeff_ok("39695411000001103")  # atorvastatin 10 mg tablets (current VMP id)


def test_nhs_numbers_spill_beyond_the_999_block_when_needed():
    numbers = synthetic_nhs_numbers(910_000, np.random.default_rng(1))
    assert len(set(numbers)) == 910_000
    assert any(n.startswith("998") for n in numbers)
    sample = numbers[::997]
    assert all(nhs_number.is_valid(n) for n in sample)


def test_cli_unknown_size_exits_2(tmp_path, monkeypatch):
    monkeypatch.setenv("IPMO_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["synth", "--size", "huge"])
    assert result.exit_code == 2
    assert "unknown size" in result.output


def test_cli_non_numeric_seed_exits_2(tmp_path, monkeypatch):
    monkeypatch.setenv("IPMO_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["synth", "--size", "tiny", "--seed", "abc"])
    assert result.exit_code == 2
    assert "whole number" in result.output


def test_cli_tiny_prints_realism_report(tmp_path, monkeypatch):
    monkeypatch.setenv("IPMO_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(
        app, ["synth", "--size", "tiny", "--seed", "2", "--quiet", "--as-of", "2026-01-01"]
    )
    assert result.exit_code == 0, result.output
    assert "Realism report" in result.output and "QOF" in result.output
    again = CliRunner().invoke(app, ["synth", "--size", "tiny", "--quiet"])
    assert again.exit_code == 2 and "--replace" in again.output


def test_cli_national_epd_rejects_bad_seed_before_writing(tmp_path, monkeypatch):
    monkeypatch.setenv("IPMO_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(
        app, ["synth", "--size", "national-epd", "--seed", "1.5", "--out", str(tmp_path / "epd")]
    )
    assert result.exit_code == 2
    assert not (tmp_path / "epd").exists()
