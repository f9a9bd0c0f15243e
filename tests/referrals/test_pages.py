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


def _version(html: str) -> int:
    return int(html.split('name="version" value="')[1].split('"')[0])


def test_referral_pages_show_names_with_codes_on_hover(mod, sample_ics):
    import re

    ref = _send(mod)
    page = mod.client("community.pharmacist").get(f"/referrals/{ref}").text
    assert '<abbr title="urgent-repeat-supply">Urgent repeat medicine supply</abbr>' in page
    assert '<abbr title="NHS111">NHS 111 (Example ICS)</abbr>' in page
    assert '<abbr title="FA001">Riverside Pharmacy</abbr>' in page
    assert '<abbr title="received">Opened by the pharmacy</abbr>' in page
    # NHS.UK style dates: "7 December 2026 at 2:05pm", never ISO or "07 Dec"
    assert re.search(r"\d{1,2} [A-Z][a-z]+ \d{4} at \d{1,2}:\d{2}[ap]m", page)
    assert not re.search(r"\d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}", page)
    inbox = mod.client("community.pharmacist").get("/referrals/inbox").text
    assert '<abbr title="NHS111">NHS 111 (Example ICS)</abbr>' in inbox
    assert "Urgent repeat medicine supply" in inbox


def test_confirmation_panels_after_accept_and_outcome(mod, sample_ics):
    ref = _send(mod)
    pharmacist = mod.client("community.pharmacist")
    version = _version(pharmacist.get(f"/referrals/{ref}").text)
    r = pharmacist.post(f"/referrals/{ref}/accept", data={"version": version})
    assert r.url.query == b"done=accepted" or "done=accepted" in str(r.url)
    assert 'class="nhsuk-panel"' in r.text and "Referral accepted" in r.text
    r = pharmacist.post(
        f"/referrals/{ref}/outcome",
        data={
            "version": _version(r.text),
            "outcome": "supplied",
            "note": "7 days",
            "item-1-medicine": "Amlodipine 5mg tablets",
            "item-1-quantity": "7",
            "consent": "yes",
        },
    )
    assert "Outcome recorded" in r.text and "Supplied." in r.text
    # a conflict shows the error, not a confirmation
    stale = pharmacist.post(f"/referrals/{ref}/accept", data={"version": version})
    assert stale.status_code == 409 and 'class="nhsuk-panel"' not in stale.text


def test_sending_from_the_form_confirms_with_the_deadline(mod, sample_ics):
    r = mod.client("gp").post(
        "/referrals/new",
        data={
            "nhs_number": "9990000018",
            "service": "pharmacy-first",
            "summary": "Sore throat, 3 days",
        },
    )
    assert r.status_code == 200 and "Referral sent" in r.text and "to accept it" in r.text


def test_cancelling_asks_first_and_needs_a_reason(mod, sample_ics):
    from .apihelpers import referrals

    ref = _send(mod)
    sender = mod.client("nhs111")
    page = sender.get(f"/referrals/{ref}").text
    assert f'href="/referrals/{ref}/cancel"' in page  # a link to the confirmation step
    confirm = sender.get(f"/referrals/{ref}/cancel")
    assert confirm.status_code == 200
    assert "Are you sure you want to cancel this referral?" in confirm.text
    version = _version(confirm.text)
    r = sender.post(f"/referrals/{ref}/cancel", data={"version": version, "reason": "  "})
    assert r.status_code == 422 and 'href="#reason"' in r.text
    assert [x.status for x in referrals(sample_ics) if x.reference == ref] == ["requested"]
    r = sender.post(
        f"/referrals/{ref}/cancel", data={"version": version, "reason": "GP issued a prescription"}
    )
    assert r.status_code == 200 and "Referral cancelled" in r.text
    assert "GP issued a prescription" in r.text
    (cancelled,) = [x for x in referrals(sample_ics) if x.reference == ref]
    assert (cancelled.status, cancelled.outcome_note) == ("cancelled", "GP issued a prescription")


def test_only_the_referrer_reaches_the_cancel_step(mod, sample_ics):
    ref = _send(mod)
    r = mod.client("community.pharmacist").get(f"/referrals/{ref}/cancel")
    assert r.status_code == 403


def test_inbox_and_list_page_with_honest_counts(mod, sample_ics):
    import re

    refs = [_send(mod) for _ in range(55)]
    pharmacist = mod.client("community.pharmacist")
    first = pharmacist.get("/referrals/inbox").text
    assert "Showing 1 to 50 of 55 referrals" in first
    second = pharmacist.get("/referrals/inbox?page=2").text
    assert "Showing 51 to 55 of 55 referrals" in second
    shown = re.findall(r'href="/referrals/(R-[A-Z0-9]+)"', first + second)
    assert sorted(shown) == sorted(refs)  # every referral on exactly one page
    sender = mod.client("nhs111").get("/referrals?page=2").text
    assert "Showing 51 to 55 of 55 referrals" in sender
    assert 'aria-label="Page 1"' in sender or "page=1" in sender


def test_the_sender_gives_the_callers_name_and_birth_date_and_sees_them_on_its_copy(
    mod, sample_ics
):
    """NHS 111 has no relationship with the caller: its copy shows what it typed, not the record."""
    r = mod.client("nhs111").post(
        "/referrals/new",
        data={
            "nhs_number": "9990000018",
            "patient_name": "  Ada   Smith ",
            "birth_date[day]": "7",
            "birth_date[month]": "3",
            "birth_date[year]": "1950",
            "service": "pharmacy-first",
            "summary": "Sore throat, 3 days",
            "no_relationship_reason": "NHS 111 caller",
        },
    )
    assert r.status_code == 200 and "Referral sent" in r.text
    assert "Ada Smith" in r.text and "7 March 1950" in r.text


def test_an_impossible_or_future_birth_date_is_refused_and_what_was_typed_kept(mod, sample_ics):
    before = mod.client("nhs111").get("/referrals").text.count("R-")
    base = {
        "nhs_number": "9990000018",
        "patient_name": "Ada Smith",
        "service": "pharmacy-first",
        "summary": "Sore throat",
        "no_relationship_reason": "NHS 111 caller",
    }
    for (day, month, year), expected, part in (
        (("31", "2", "1950"), "Date of birth must be a real date", "day"),
        (("7", "3", "50"), "Year must include 4 numbers", "year"),
        (("7", "3", "2999"), "Date of birth must be today or in the past", "day"),
    ):
        data = base | {"birth_date[day]": day, "birth_date[month]": month, "birth_date[year]": year}
        r = mod.client("nhs111").post("/referrals/new", data=data)
        assert r.status_code == 422, (day, month, year)
        assert expected in r.text and f'href="#birth_date-{part}"' in r.text
        assert f'value="{year}"' in r.text and 'value="Ada Smith"' in r.text
    assert mod.client("nhs111").get("/referrals").text.count("R-") == before


def test_the_overdue_flag_follows_the_app_clock(mod, sample_ics):
    """The referral page, the inbox and the API say the referral is overdue once the app's
    clock is past the accept-by time, and not a minute before it."""
    from datetime import timedelta

    from sqlalchemy import select

    from ipmo.referrals.models import Referral
    from ipmo.store import session_scope, utcnow

    ref = _send(mod)
    with session_scope(sample_ics) as s:
        accept_by = s.scalar(select(Referral.accept_by).where(Referral.reference == ref))
    pharmacist = mod.client("community.pharmacist")
    try:
        mod.app.state.clock = lambda: accept_by - timedelta(minutes=1)
        assert "(overdue)" not in pharmacist.get(f"/referrals/{ref}").text
        assert "(overdue)" not in pharmacist.get("/referrals/inbox").text
        assert pharmacist.get(f"/api/referrals/{ref}").json()["overdue"] is False
        assert pharmacist.get("/api/referrals?overdue=true").json() == []
        mod.app.state.clock = lambda: accept_by + timedelta(minutes=1)
        assert "(overdue)" in pharmacist.get(f"/referrals/{ref}").text
        assert "(overdue)" in pharmacist.get("/referrals/inbox").text
        assert pharmacist.get(f"/api/referrals/{ref}").json()["overdue"] is True
        listed = pharmacist.get("/api/referrals?overdue=true").json()
        assert [r["reference"] for r in listed] == [ref] and listed[0]["overdue"] is True
    finally:
        mod.app.state.clock = utcnow
