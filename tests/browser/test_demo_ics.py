"""The README's first command, end to end: ``ipmo demo`` prepares a demo ICS (here the ``tiny``
size, same code path) and its referral stream works in a real browser — the community pharmacist's
inbox holds the demo stream, NHS 111 refers, the pharmacy accepts and records the outcome, the
referrer sees it; the referrer's list shows the stream's outcomes too."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select, update
from tests.browser.conftest import serious_accessibility_violations, serving, sign_in

from ipmo.organisations.models import Organisation
from ipmo.referrals.models import Referral
from ipmo.store import session_scope
from ipmo.synth.sizes import DEMO_CODES
from ipmo.web.paging import PER_PAGE

pytestmark = pytest.mark.browser
ALWAYS = {d: [["00:00", "00:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@pytest.fixture(scope="module")
def demo_ics(tmp_path_factory):
    from ipmo.config import Settings
    from ipmo.demo.setup import prepare_demo
    from ipmo.store import create_store_engine, init_store

    root = tmp_path_factory.mktemp("demo")
    settings = Settings(
        data_dir=root, database_url=f"sqlite:///{root / 'ipmo.sqlite3'}", secret_key="test-key"
    )
    engine = create_store_engine(settings.database_url)
    init_store(engine)
    with pytest.MonkeyPatch.context() as mp:  # the analytics hook writes under IPMO_DATA_DIR
        mp.setenv("IPMO_DATA_DIR", str(root))
        info = prepare_demo(engine, settings, size="tiny", seed=1, say=lambda *_: None)
    assert info["size"] == "tiny"
    yield engine, settings
    engine.dispose()


def _count(engine, *where) -> int:
    with session_scope(engine) as s:
        return s.scalar(select(func.count()).select_from(Referral).where(*where))


def test_demo_stream_reaches_the_inbox_and_a_new_referral_goes_round_the_loop(page, demo_ics):
    engine, settings = demo_ics
    pharmacy, nhs111 = DEMO_CODES.pharmacy, DEMO_CODES.nhs111
    stream = _count(engine, Referral.target_org_code == pharmacy)
    assert stream > 0, "the demo stream sends the demo pharmacy referrals"
    with session_scope(engine) as s:  # open whatever the clock says
        s.execute(
            update(Organisation)
            .where(Organisation.ods_code == pharmacy)
            .values(opening_hours=ALWAYS)
        )
        nhs_number = s.scalar(
            select(Referral.nhs_number).where(Referral.nhs_number.is_not(None)).limit(1)
        )
        done = s.scalar(
            select(Referral.reference).where(
                Referral.sender_org_code == nhs111, Referral.status == "completed"
            )
        )
    with serving(engine, settings) as base:
        sign_in(page, base, "community.pharmacist")
        page.get_by_role("link", name="Referral inbox").click()
        assert page.locator("tbody tr").count() == min(stream, PER_PAGE)  # paged
        assert serious_accessibility_violations(page) == []
        page.get_by_role("button", name="Sign out").click()

        sign_in(page, base, "nhs111")
        page.get_by_role("link", name="Send a referral").click()
        page.get_by_label("NHS number").fill(nhs_number)
        page.get_by_label("Service").select_option("urgent-repeat-supply")
        page.get_by_label("Pharmacy the patient chose (optional)").select_option(pharmacy)
        page.get_by_label("Clinical summary").fill("Ran out of ramipril")
        page.get_by_label(re.compile("^Reason for referring")).fill("NHS 111 caller")
        page.get_by_role("button", name="Send referral").click()
        assert page.locator("#referral-status").inner_text().startswith("Sent")
        reference = page.locator(".nhsuk-caption-l").inner_text().removeprefix("Referral ")
        page.goto(f"{base}/referrals")  # paged: the count says how many there are in all
        assert re.match(
            r"(Showing 1 to 50 of [\d,]+|\d+) referrals", page.locator("#list-count").inner_text()
        )
        page.goto(f"{base}/referrals/{done}")  # an outcome from the demo stream
        assert page.locator("#referral-outcome").inner_text().strip()
        page.get_by_role("button", name="Sign out").click()

        sign_in(page, base, "community.pharmacist")
        page.get_by_role("link", name="Referral inbox").click()
        page.get_by_role("link", name=reference).click()
        page.get_by_role("button", name="Accept referral").click()
        page.get_by_label("Supplied", exact=True).check()
        page.get_by_label("Medicine 1").fill("Ramipril 5mg capsules")
        page.get_by_label("Quantity").first.fill("7")
        page.locator("#consent").check()  # the patient consented
        page.get_by_label("Notes for the referrer and GP").fill("Supplied 7 days")
        page.get_by_role("button", name="Record outcome").click()
        assert page.locator("#referral-status").inner_text().startswith("Completed")
        page.get_by_role("button", name="Sign out").click()

        sign_in(page, base, "nhs111")
        page.get_by_role("link", name="Track referrals").click()
        page.get_by_role("link", name=reference).click()
        outcome = page.locator("#referral-outcome").inner_text()
        assert outcome.startswith("Supplied") and "Supplied 7 days" in outcome
