"""``ipmo carehomes ingest`` and the findings API on the sample ICS (Oak Lodge VM001: Ada)."""

from typer.testing import CliRunner

from ipmo.cli import app

runner = CliRunner()
ADA = "9990000018"  # resident of VM001
BERT = "9990000026"  # not in a care home
HEADER = "administration_id,nhs_number,medicine_code,medicine_name,outcome,at\n"
ROWS = "".join(
    f"r{i},{ADA},222,Sertraline 50mg tablets,refused,2026-03-1{i}T08:00:00Z\n" for i in (1, 2, 3)
)


def test_cli_ingest_twice_then_refuses_bad_files(cli_store, tmp_path):
    f = tmp_path / "oak.csv"
    f.write_text(HEADER + ROWS)
    r = runner.invoke(app, ["carehomes", "ingest", str(f), "--home", "VM001"])
    assert r.exit_code == 0, r.output
    assert "3 added, 0 already held, 3 flagged" in r.output
    r = runner.invoke(app, ["carehomes", "ingest", str(f), "--home", "VM001"])
    assert "0 added, 3 already held" in r.output
    f.write_text(HEADER + f"x1,{BERT},222,Sertraline,given,2026-03-11T08:00:00Z\n")
    r = runner.invoke(app, ["carehomes", "ingest", str(f), "--home", "VM001"])
    assert r.exit_code == 2
    assert "oak.csv: administration x1: not a resident" in r.output
    f.write_text(HEADER.strip() + ",room\n")
    r = runner.invoke(app, ["carehomes", "ingest", str(f), "--home", "VM001"])
    assert r.exit_code == 2
    assert "oak.csv row 1: unknown column(s): room" in r.output


def test_api_findings_for_own_home_only(client_as, sample_ics):
    from datetime import UTC, datetime

    from ipmo.carehomes.actions import emar_feed, ingest_administrations
    from ipmo.carehomes.administrations import from_csv
    from ipmo.store import session_scope

    with session_scope(sample_ics) as s:
        admins = from_csv(HEADER + ROWS, "oak.csv")
        now = datetime(2026, 3, 15, tzinfo=UTC)
        ingest_administrations(s, emar_feed("VM001"), "VM001", admins, "csv", now)
    staff = client_as("carehome")
    url = f"/api/carehomes/residents/{ADA}/findings?as_of=2026-03-15T00:00:00Z"
    r = staff.get(url)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [f["rule"] for f in body["findings"]] == ["repeated-refusals-or-omissions"]
    assert body["findings"][0]["evidence"] == ["r1", "r2", "r3"]
    assert staff.get(f"/api/carehomes/residents/{BERT}/findings").status_code == 403
    assert (
        staff.get(f"/api/carehomes/residents/{ADA}/findings?as_of=2026-03-15T00:00:00").status_code
        == 422
    )
    # without as_of: now by the app's clock (UTC), the same findings on 15 March, none in June
    staff.app.state.clock = lambda: datetime(2026, 3, 15)
    default = staff.get(f"/api/carehomes/residents/{ADA}/findings").json()
    assert default == body
    staff.app.state.clock = lambda: datetime(2026, 6, 15)
    later = staff.get(f"/api/carehomes/residents/{ADA}/findings").json()
    assert later["as_of"].startswith("2026-06-15") and later["findings"] == []


def test_staff_page_lists_only_own_home_and_resident_page_is_gated(client_as):
    staff = client_as("carehome")
    r = staff.get("/carehomes")
    assert r.status_code == 200
    assert f"/carehomes/residents/{ADA}" in r.text
    assert BERT not in r.text
    assert staff.get(f"/carehomes/residents/{ADA}").status_code == 200
    assert staff.get(f"/carehomes/residents/{BERT}").status_code == 403
