"""The medication record page: one list, a column per source, discrepancies with actions; a
stale form is refused with a conflict and saves nothing."""

import re

ADA = "9990000018"
GP_CSV = f"""nhs_number,source_kind,source_org_code,name,status,dose_text,authored_on,category
{ADA},gp,A10001,Amlodipine 5mg tablets,active,1 tablet once a day,2025-01-02,repeat
{ADA},gp,A10001,Warfarin 1mg tablets,active,1 tablet once a day,2025-01-02,repeat
"""
HOSP_CSV = f"""nhs_number,source_kind,source_org_code,name,status,dose_text,authored_on,category
{ADA},hospital,RXX,Amlodipine 5mg tablets,active,1 tablet once a day,2025-05-02,inpatient
"""


def upload(client, text, name="gp.csv"):
    return client.post(
        f"/records/patients/{ADA}/sources",
        files={"file": (name, text, "text/csv")},
        data={"as_of": "2025-06-01"},
        follow_redirects=False,
    )


def test_record_page_end_to_end(client_as):
    c = client_as("pcn.pharmacist")
    assert upload(c, GP_CSV).status_code == 303
    assert upload(c, HOSP_CSV, "hosp.csv").status_code == 303
    page = c.get(f"/records/patients/{ADA}", params={"as_of": "2025-06-01"})
    assert page.status_code == 200
    html = page.text
    assert "gp:A10001" in html and "hospital:RXX" in html  # a column per source
    assert "ipmo-flagged" in html and "Omission" in html  # warfarin missing in hospital
    etag = re.search(r'name="etag" value="([^"]+)"', html)[1].replace("&#34;", '"')
    disc = re.search(r'name="discrepancy_id" value="([^"]+)"', html)[1]
    form = {
        "discrepancy_id": disc,
        "action": "confirm_intended",
        "reason": "held on admission",
        "etag": etag,
        "as_of": "2025-06-01",
    }
    done = c.post(f"/records/patients/{ADA}/decisions", data=form, follow_redirects=False)
    assert done.status_code == 303
    after = c.get(done.headers["location"]).text
    assert "Decision recorded" in after and "held on admission" in after
    # the same (now stale) form again: refused with a conflict
    again = c.post(f"/records/patients/{ADA}/decisions", data=form | {"action": "stop"})
    assert again.status_code == 409 and "was not saved" in again.text


def test_bad_upload_and_missing_reason_are_explained(client_as):
    c = client_as("pcn.pharmacist")
    bad = upload(c, "nhs_number,name\n1,x\n")
    assert bad.status_code == 422 and "missing column" in bad.text
    upload(c, GP_CSV)
    upload(c, HOSP_CSV, "hosp.csv")
    html = c.get(f"/records/patients/{ADA}", params={"as_of": "2025-06-01"}).text
    etag = re.search(r'name="etag" value="([^"]+)"', html)[1].replace("&#34;", '"')
    disc = re.search(r'name="discrepancy_id" value="([^"]+)"', html)[1]
    r = c.post(
        f"/records/patients/{ADA}/decisions",
        data={
            "discrepancy_id": disc,
            "action": "stop",
            "reason": "",
            "etag": etag,
            "as_of": "2025-06-01",
        },
    )
    assert r.status_code == 422 and "Enter the reason for your decision" in r.text


def test_view_only_roles_see_no_forms(client_as):
    gp = client_as("gp")
    page = gp.get(f"/records/patients/{ADA}")
    assert page.status_code == 200 and "Record decision" not in page.text
    assert client_as("pcn.pharmacist").get("/records/patients/9990000042").status_code == 403


def test_a_write_goes_back_to_the_record_as_of_the_date_it_was_shown_at(client_as):
    """The form sends back the date the record was shown at; the redirect after the write keeps
    it, so the user sees the record as of the same date."""
    done = upload(client_as("pcn.pharmacist"), GP_CSV)
    assert done.status_code == 303
    assert done.headers["location"] == f"/records/patients/{ADA}?as_of=2025-06-01&notice=ingested"
