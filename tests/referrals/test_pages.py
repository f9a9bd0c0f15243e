"""Referral pages without a browser: forms, errors a person can act on, access refusals."""

from __future__ import annotations

from .apihelpers import message, post


def _send(mod) -> str:
    r = post(mod.client("nhs111"), message(receiver="FA001"))
    return r.json()["entry"][1]["resource"]["identifier"][0]["value"]


def test_nav_entries_follow_the_role(mod, sample_ics):
    home = mod.client("nhs111").get("/").text
    assert "Send a referral" in home and "Track referrals" in home
    assert "Referral inbox" in mod.client("community.pharmacist").get("/").text
    assert "Send a referral" not in mod.client("analyst").get("/").text


def test_send_form_shows_a_clear_error_and_stores_nothing(mod, sample_ics):
    r = mod.client("nhs111").post(
        "/referrals/new", data={"nhs_number": "9990000019", "service": "pharmacy-first"}
    )
    assert r.status_code == 422
    assert "There is a problem" in r.text and "Modulus 11" in r.text
    assert "Referral R-" not in mod.client("nhs111").get("/referrals").text


def test_a_stale_accept_form_shows_the_conflict(mod, sample_ics):
    ref = _send(mod)
    pharmacist = mod.client("community.pharmacist")
    page = pharmacist.get(f"/referrals/{ref}")
    assert "Accept referral" in page.text
    version = int(page.text.split('name="version" value="')[1].split('"')[0])
    ok = pharmacist.post(f"/referrals/{ref}/accept", data={"version": version})
    assert ok.status_code == 200 and "accepted" in ok.text  # followed the redirect
    stale = pharmacist.post(f"/referrals/{ref}/accept", data={"version": version})
    assert stale.status_code == 409 and "There is a problem" in stale.text
    assert "has changed since you opened it" in stale.text


def test_organisations_not_involved_get_a_refusal_page(mod, sample_ics):
    ref = _send(mod)
    r = mod.client("hospital.pharmacist").get(f"/referrals/{ref}", headers={"accept": "text/html"})
    assert r.status_code == 403 and "not involved" in r.text
    assert ref not in mod.client("hospital.pharmacist").get("/referrals").text
