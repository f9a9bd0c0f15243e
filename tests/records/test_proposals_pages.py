"""The record page: proposed changes with Accept / Reject (reason required) for record writers
only; a stale or repeated form changes nothing and says why; the review page shows the outcome."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

ADA = "9990000018"
NOON = datetime(2026, 6, 15, 12)  # the app's clock (UTC): the record's today
TODAY = NOON.date()
AUTHORED = (TODAY - timedelta(days=60)).isoformat()
GP = f"""nhs_number,source_kind,source_org_code,name,status,dose_text,authored_on,category
{ADA},gp,A10001,Ibuprofen 400mg tablets,active,1 tablet three times a day,{AUTHORED},repeat
{ADA},gp,A10001,Amlodipine 5mg tablets,active,1 tablet once a day,{AUTHORED},repeat
"""
PAGE = f"/records/patients/{ADA}"


@pytest.fixture
def app_clock():
    return lambda: NOON


def _propose(c, *interventions) -> list[int]:
    r = c.post(
        f"{PAGE}/sources", files={"file": ("gp.csv", GP, "text/csv")}, follow_redirects=False
    )
    assert r.status_code == 303
    review = {
        "review_date": TODAY.isoformat(),
        "interventions": list(interventions),
        "shared_decision": "agreed with Ada",
    }
    r = c.post(f"/api/review/patients/{ADA}/reviews", json=review)
    assert r.status_code == 201, r.text
    return [p["id"] for p in c.get(f"/api/records/patients/{ADA}").json()["proposed_changes"]]


def _etag(html: str) -> str:
    return re.search(r'name="etag" value="([^"]+)"', html)[1].replace("&#34;", '"')


def _row(html: str, name: str) -> str:
    return next(r for r in re.findall(r"<tr class=.*?</tr>", html, re.S) if name in r)


STOP = {"kind": "stop", "medicine": "Ibuprofen 400mg tablets", "detail": "GI risk"}


def test_accepting_on_the_page_changes_the_list(client_as):
    c = client_as("pcn.pharmacist")
    [pid] = _propose(c, STOP)
    html = c.get(PAGE).text
    assert f'id="p-{pid}"' in html and "Accept change" in html and "Reject change" in html
    form = {"etag": _etag(html), "as_of": ""}
    done = c.post(f"{PAGE}/proposed-changes/{pid}/accept", data=form, follow_redirects=False)
    assert done.status_code == 303
    after = c.get(done.headers["location"]).text
    assert "Proposed change accepted" in after and f'id="p-{pid}"' not in after
    row = _row(after, "Ibuprofen")
    assert "stopped" in row and "Stopped on 2026-06-15" in row and "GI risk" in row
    assert "Proposed changes acted on" in after and "accepted" in _row(after, "pcn.pharmacist,")
    # the same form again: nothing changes, and the page says why
    again = c.post(f"{PAGE}/proposed-changes/{pid}/accept", data=form)
    assert again.status_code == 409 and "already accepted" in again.text


def test_a_stale_form_is_refused(client_as):
    c = client_as("pcn.pharmacist")
    first, second = _propose(c, STOP, {"kind": "start", "medicine": "Paracetamol 500mg tablets"})
    etag = _etag(c.get(PAGE).text)
    ok = c.post(f"{PAGE}/proposed-changes/{first}/accept", data={"etag": etag})
    assert ok.status_code == 200  # followed the redirect
    stale = c.post(f"{PAGE}/proposed-changes/{second}/accept", data={"etag": etag})
    assert stale.status_code == 409 and "was not accepted" in stale.text
    assert f'id="p-{second}"' in stale.text  # still pending


def test_rejecting_on_the_page_needs_a_reason_and_the_reviewer_sees_it(client_as):
    c = client_as("pcn.pharmacist")
    [pid] = _propose(c, STOP)
    etag = _etag(c.get(PAGE).text)
    url = f"{PAGE}/proposed-changes/{pid}/reject"
    blank = c.post(url, data={"etag": etag, "reason": ""})
    assert blank.status_code == 422 and "needs a reason" in blank.text
    done = c.post(url, data={"etag": etag, "reason": "Only ibuprofen helps"})
    assert done.status_code == 200 and "Proposed change rejected" in done.text
    assert "Only ibuprofen helps" in _row(done.text, "rejected")
    assert "current" in _row(done.text, "Ibuprofen 400mg")
    review = c.get(f"/review/patients/{ADA}").text
    assert "rejected by pcn.pharmacist" in review and "Only ibuprofen helps" in review


def test_the_form_asks_for_what_the_change_needs(client_as):
    c = client_as("pcn.pharmacist")
    dose, switch = _propose(
        c,
        {"kind": "dose_change", "medicine": "Amlodipine 5mg tablets"},
        {"kind": "switch", "medicine": "Ibuprofen 400mg tablets"},
    )
    html = c.get(PAGE).text
    assert f'for="dose-{dose}">New dose' in html and f'id="to-{dose}"' not in html
    assert f'for="to-{switch}">Medicine to switch to' in html
    etag = _etag(html)
    missing = c.post(f"{PAGE}/proposed-changes/{dose}/accept", data={"etag": etag})
    assert missing.status_code == 422 and "needs the new dose" in missing.text
    ok = c.post(
        f"{PAGE}/proposed-changes/{dose}/accept",
        data={"etag": etag, "dose_text": "2 tablets once a day"},
    )
    assert ok.status_code == 200 and "2 tablets once a day" in _row(ok.text, "Amlodipine")


def test_readers_without_the_write_activity_see_no_buttons(client_as):
    pharmacist = client_as("pcn.pharmacist")
    [pid] = _propose(pharmacist, STOP)
    gp = client_as("gp")  # sees the record, cannot write it (no record.reconcile)
    html = gp.get(PAGE).text
    assert f'id="p-{pid}"' in html and "Accept change" not in html
    refused = gp.post(f"{PAGE}/proposed-changes/{pid}/accept", data={"etag": 'W/"1"'})
    assert refused.status_code == 403
