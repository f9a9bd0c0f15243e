"""PRN ("when required") from the prescription — the One Medication Record's dosage asNeeded —
falling back to the eMAR's flag, with every disagreement flagged (NICE SC1 1.8, 1.12). The
app's clock is fixed: no test reads today."""

from datetime import UTC, date, datetime

from sqlalchemy import select
from tests.carehomes.test_movements import ADA, carer  # noqa: F401 - the fixture

from ipmo.carehomes.actions import emar_feed, ingest_rows
from ipmo.carehomes.administrations import csv_rows
from ipmo.carehomes.prn import prn_status
from ipmo.patients import Patient
from ipmo.records import current_medications
from ipmo.records.adapters import from_csv
from ipmo.records.service import ingest
from ipmo.store import session_scope


class Line:
    def __init__(self, as_needed: bool | None, *codes: str) -> None:
        self.as_needed, self.codes = as_needed, codes


def _status(emar_prn: bool, line: Line | None):
    [found] = prn_status({"111": ("Paracetamol", emar_prn)}, [line] if line else [])
    return found.prn, found.disagree


def test_nice_sc1_prn_from_the_prescription_over_the_emar_flag():
    """The prescription decides; where the eMAR says otherwise it is flagged."""
    assert _status(emar_prn=False, line=Line(True, "111")) == (True, True)
    assert _status(emar_prn=True, line=Line(False, "vmp", "111")) == (False, True)
    assert _status(emar_prn=True, line=Line(True, "111")) == (True, False)
    assert _status(emar_prn=False, line=Line(False, "111")) == (False, False)


def test_nice_sc1_prn_falls_back_to_the_emar_flag_without_a_structured_dosage():
    assert _status(emar_prn=True, line=None) == (True, False)  # not on the record
    assert _status(emar_prn=True, line=Line(None, "111")) == (True, False)  # no dosage
    assert _status(emar_prn=False, line=Line(True, "other")) == (False, False)  # another code


GP = """nhs_number,source_kind,source_org_code,name,status,dose_text,authored_on,category,dmd_code
9990000018,gp,A10001,Paracetamol 500mg tablets,active,2 tablets when required,2026-01-02,repeat,111
9990000018,gp,A10001,Sertraline 50mg tablets,active,1 tablet once a day,2026-01-02,repeat,777
9990000018,gp,A10001,Amlodipine 5mg tablets,active,1 tablet once a day,2026-01-02,repeat,900151
"""
EMAR = """administration_id,nhs_number,medicine_code,medicine_name,outcome,at,prn
p1,9990000018,111,Paracetamol 500mg tablets,given,2026-11-14T08:00:00+00:00,N
s1,9990000018,777,Sertraline 50mg tablets,given,2026-11-14T08:00:00+00:00,Y
n1,9990000018,555,Senna 7.5mg tablets,given,2026-11-14T20:00:00+00:00,Y
a1,9990000018,900151,Amlodipine 5mg tablets,given,2026-11-14T08:00:00+00:00,N
"""


def test_the_record_gives_each_current_medicine_its_as_needed(carer, sample_ics):  # noqa: F811
    with session_scope(sample_ics) as s:
        ingest(s, from_csv(GP))
        ada = s.scalar(select(Patient.id).where(Patient.nhs_number == ADA))
        lines = current_medications(s, ada, date(2026, 11, 16))
    assert {m.dmd_code: m.as_needed for m in lines} == {"111": True, "777": False, "900151": False}


def test_resident_page_flags_prn_disagreements(carer, sample_ics):  # noqa: F811
    with session_scope(sample_ics) as s:
        ingest(s, from_csv(GP))
        now = datetime(2026, 11, 16, 12, tzinfo=UTC)
        ingest_rows(s, emar_feed("VM001"), "VM001", csv_rows(EMAR), "csv", now)
    page = carer.get(f"/carehomes/residents/{ADA}").text
    table = page.split('id="prn"')[1].split("</table>")[0]
    rows = {r.split("</td>")[0].rsplit(">", 1)[-1]: r for r in table.split("<tr")[2:]}
    assert set(rows) == {
        "Paracetamol 500mg tablets",
        "Sertraline 50mg tablets",
        "Senna 7.5mg tablets",
    }
    assert "Prescription and eMAR disagree" in rows["Paracetamol 500mg tablets"]
    assert "Prescription and eMAR disagree" in rows["Sertraline 50mg tablets"]
    assert "Not on record" in rows["Senna 7.5mg tablets"]
    assert "disagree" not in rows["Senna 7.5mg tablets"]  # the eMAR's flag, nothing to compare
