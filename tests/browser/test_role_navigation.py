"""Every demo role, signed in, follows each link of its header navigation (issue 14): every page
answers in the NHS.UK layout with the link marked current, and axe finds no serious violation.
Screenshots for a reviewer go to IPMO_SCREENSHOTS (if set), one per role and page."""

import os
from pathlib import Path

import pytest
from tests.browser.conftest import serious_accessibility_violations, sign_in

from ipmo.security.users import DEMO_USERS

pytestmark = pytest.mark.browser


def test_each_role_walks_its_navigation(page, live_server):
    folder = os.environ.get("IPMO_SCREENSHOTS")
    visited = 0
    for username, *_ in DEMO_USERS:
        sign_in(page, live_server, username)
        page.goto(f"{live_server}/patients")  # any page but home: home's cards are its nav
        hrefs = page.locator(".nhsuk-header__navigation-list a").evaluate_all(
            "links => links.map(a => a.getAttribute('href'))"
        )
        for href in hrefs:
            response = page.goto(f"{live_server}{href}")
            assert response is not None and response.status < 400, (username, href)
            current = page.locator(".nhsuk-header__navigation-item--current a")
            assert current.first.get_attribute("href") == href, (username, href)
            assert serious_accessibility_violations(page) == [], (username, href)
            if folder:
                Path(folder).mkdir(parents=True, exist_ok=True)
                name = f"nav-{username}{href.replace('/', '-')}.png"
                page.screenshot(path=str(Path(folder) / name))
            visited += 1
        page.get_by_role("button", name="Sign out").click()
    assert visited >= 2 * len(DEMO_USERS)
