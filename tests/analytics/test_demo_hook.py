from ipmo.analytics import demo


def test_demo_hook_ingests_months_of_prescribing(tmp_path, monkeypatch):
    monkeypatch.setenv("IPMO_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(demo, "DEMO_PRACTICES", 6)
    monkeypatch.setattr(demo, "DEMO_MONTHS", ("2025_01", "2025_02"))
    report = demo.populate(None, 7)
    assert report.startswith("IngestReport(files=2")
    written = sorted(p.name for p in (tmp_path / "analytics" / "prescribing").glob("*.parquet"))
    assert written == ["2025-01.parquet", "2025-02.parquet"]
