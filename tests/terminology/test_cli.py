"""``ipmo terminology`` commands (driven through the sub-app with Typer's runner)."""

import shutil

import pytest
from typer.testing import CliRunner

from ipmo.terminology.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("IPMO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("IPMO_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")


def test_import_dmd_reports_counts(shared_dir):
    fixtures = shared_dir / "peers" / "openprescribing" / "dmd_fixtures"
    result = runner.invoke(
        app, ["import-dmd", str(fixtures / "release_1"),
              "--bnf-mapping", str(fixtures / "bnf_snomed_mapping" / "mapping.xlsx")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "VMP 7, AMP 15, VMPP 14, AMPP 26" in result.output


def test_import_truncated_release_is_one_line_error(shared_dir, tmp_path):
    release = tmp_path / "rel"
    shutil.copytree(shared_dir / "peers/openprescribing/dmd_fixtures/release_1", release)
    vmp = next(release.glob("f_vmp2_*.xml"))
    vmp.write_bytes(vmp.read_bytes()[:3000])
    result = runner.invoke(app, ["import-dmd", str(release)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"{vmp.name}:")
    # nothing half-imported: the VTM file parsed fine, yet no VTM was written
    result = runner.invoke(app, ["search", "paracetamol"])
    assert result.exit_code == 1 and "no concept matches" in result.output


def test_load_dictionary_then_search_prints_a_table():
    result = runner.invoke(app, ["load-dictionary"])
    assert result.exit_code == 0, result.output
    assert "VMP" in result.output and "BNF presentations" in result.output
    result = runner.invoke(app, ["search", "omeprazole", "20mg", "--limit", "3"])
    assert result.exit_code == 0, result.output
    assert "Omeprazole 20mg" in result.output and "Proton pump" in result.output


def test_build_script_with_missing_shared_folder(tmp_path, capsys):
    from build_terminology import main  # scripts/build_terminology.py (development time)

    assert main(["--shared", str(tmp_path / "nope"), "--out", str(tmp_path / "out")]) == 2
    assert "shared data folder not found" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
