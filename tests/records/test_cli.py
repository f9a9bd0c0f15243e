"""``ipmo dose-text`` and ``ipmo records reconcile``: output shape, and bad input → exit 2."""

import json

from typer.testing import CliRunner

from ipmo.cli import app

runner = CliRunner()
NHS = "9434765919"
GP = f"""nhs_number,source_kind,source_org_code,name,status,dose_text,authored_on,category
{NHS},gp,A81001,Amlodipine 5mg tablets,active,1 tablet once a day,2025-01-02,repeat
{NHS},gp,A81001,Omeprazole 20mg gastro-resistant capsules,active,1 capsule daily,2025-01-02,repeat
"""
PHARM = f"""nhs_number,source_kind,source_org_code,name,status,dose_text,authored_on,category
{NHS},pharmacy,FA001,Amlodipine 5mg tablets,active,1 tablet twice a day,2025-05-02,acute
"""


def test_dose_text_single_list_and_jsonl(tmp_path):
    one = tmp_path / "one.json"
    one.write_text(
        '{"doseAndRate":[{"doseQuantity":{"value":1,"unit":"tablet"}}],'
        '"timing":{"repeat":{"frequency":2,"period":1,"periodUnit":"d"}}}'
    )
    r = runner.invoke(app, ["dose-text", str(one)])
    assert r.exit_code == 0 and r.stdout == "1 tablet - twice a day\n"
    lines = tmp_path / "many.jsonl"
    lines.write_text(
        '{"asNeededBoolean": true}\n[{"sequence":1,"asNeededBoolean":true},'
        '{"sequence":2,"timing":{"repeat":{"period":1,"periodUnit":"d"}}}]\n'
    )
    r = runner.invoke(app, ["dose-text", str(lines)])
    assert r.exit_code == 0 and r.stdout.splitlines() == ["as required", "as required, then daily"]


def test_dose_text_must_error_exits_non_zero_with_reason(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"asNeededBoolean": true}\n{"timing":{"repeat":{"period":2,"periodUnit":"d"}}}\n'
    )
    r = runner.invoke(app, ["dose-text", str(bad)])
    assert r.exit_code == 2
    assert r.stdout.splitlines() == ["as required", ""]  # one line out per line in
    assert "line 2" in r.stderr and "period" in r.stderr


def test_records_reconcile_json(tmp_path):
    gp, ph = tmp_path / "gp.csv", tmp_path / "pharmacy.csv"
    gp.write_text(GP)
    ph.write_text(PHARM)
    r = runner.invoke(app, ["records", "reconcile", str(gp), str(ph), "--as-of", "2025-06-01"])
    assert r.exit_code == 0, r.stderr
    body = json.loads(r.stdout)
    assert body["patient"]["nhs_number"] == NHS
    meds = {m["name"]: m for m in body["medications"]}
    assert set(meds) == {"Amlodipine", "Omeprazole"}  # named by VTM via the starter dictionary
    for m in body["medications"]:
        assert {"name", "vtm", "vmp", "dose_text", "status", "sources"} <= set(m)
    kinds = {d["type"] for d in body["discrepancies"]}
    # omeprazole missing at the pharmacy; amlodipine 1 tablet once vs twice a day: the same
    # unit dose more often is a frequency difference (issue 13), not a dose one
    assert kinds == {"omission", "frequency"}
    for d in body["discrepancies"]:
        assert {"type", "medication", "sources", "detail", "severity"} <= set(d)
        assert d["medication"]["name"]


def test_records_reconcile_fhir_and_table(tmp_path):
    gp = tmp_path / "gp.csv"
    gp.write_text(GP)
    r = runner.invoke(
        app, ["records", "reconcile", str(gp), "--as-of", "2025-06-01", "--format", "fhir"]
    )
    assert r.exit_code == 0 and json.loads(r.stdout)["resourceType"] == "Bundle"
    t = runner.invoke(
        app, ["records", "reconcile", str(gp), "--as-of", "2025-06-01", "--format", "table"]
    )
    assert t.exit_code == 0 and "Amlodipine" in t.stdout


def test_records_reconcile_bad_input(tmp_path):
    gp = tmp_path / "gp.csv"
    gp.write_text(GP)
    other = tmp_path / "other.csv"
    other.write_text(PHARM.replace(NHS, "9000000009"))
    broken = tmp_path / "broken.json"
    broken.write_text("{nope")
    cases = [
        ([str(gp), str(other)], "different patients"),
        ([str(broken)], "malformed JSON"),
        ([str(gp), "--as-of", "June"], "not a date"),
        ([str(gp), "--format", "xml"], "--format"),
        ([str(tmp_path / "missing.json")], "cannot read"),
    ]
    for args, words in cases:
        r = runner.invoke(app, ["records", "reconcile", *args])
        assert r.exit_code == 2 and words in r.stderr, (args, r.stderr)
