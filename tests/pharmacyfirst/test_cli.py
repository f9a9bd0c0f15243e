"""``ipmo pharmacyfirst pathways`` and ``deliver`` (queued Update Records to a MESH folder)."""

from __future__ import annotations

from typer.testing import CliRunner

from ipmo.cli import app
from ipmo.fhir.update_record import write_itk_file


def test_pathways_in_force_on_a_day_and_before_the_service():
    runner = CliRunner()
    shown = runner.invoke(app, ["pharmacyfirst", "pathways", "--on", "2026-11-18"])
    assert shown.exit_code == 0, shown.output
    assert "uti" in shown.output and "2024-01-31" in shown.output
    early = runner.invoke(app, ["pharmacyfirst", "pathways", "--on", "2023-06-01"])
    assert early.exit_code != 0


def test_an_itk_file_is_written_once_per_key(tmp_path):
    first = write_itk_file(tmp_path, "A10002", "pharmacy-first/PF-1", {"resourceType": "Bundle"})
    again = write_itk_file(tmp_path, "A10002", "pharmacy-first/PF-1", {"changed": True})
    assert first == again and "Bundle" in first.read_text()
    assert first.parent == tmp_path / "A10002" / "out"
