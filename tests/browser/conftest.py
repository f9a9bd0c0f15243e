"""Browser fixtures: a real ipmo server on a free loopback port and Debian's headless Chromium.

Playwright drives the system Chromium (``/usr/bin/chromium``, or ``IPMO_CHROMIUM``); it never
downloads a browser. Without Chromium these tests skip locally and fail in CI.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str | None:
    return (
        os.environ.get("IPMO_CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )


@pytest.fixture(scope="session")
def browser():
    path = _chromium()
    if not path:
        if os.environ.get("CI"):
            pytest.fail("Chromium is required in CI (apt-get install chromium)")
        pytest.skip("no Chromium on this machine (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(engine, settings, clock=None):
    """Serve ``engine``'s store with uvicorn in a thread; yields the base URL. ``clock``
    replaces the app's clock (``app.state.clock``) for a test that needs a fixed today."""
    import uvicorn

    from ipmo.web.app import create_app

    port = _free_port()
    app = create_app(engine, settings)
    if clock is not None:
        app.state.clock = clock
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 15
    while not server.started:
        if time.time() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live_server(sample_ics, app_settings, app_clock):
    """The sample ICS served on a free loopback port (its clock ``app_clock`` if set); yields
    the base URL."""
    with serving(sample_ics, app_settings, clock=app_clock) as url:
        yield url


@pytest.fixture
def page(browser):
    context = browser.new_context()
    p = context.new_page()
    yield p
    context.close()


def sign_in(page, base_url: str, username: str) -> None:
    from ipmo.security.users import DEMO_PASSWORD

    page.goto(f"{base_url}/sign-in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/")


ALWAYS_OPEN = {d: [["00:00", "23:59"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def send_111_referral(
    page,
    base_url: str,
    engine,
    nhs_number: str,
    service: str,
    summary: str,
    patient_name: str = "",
    birth_date: tuple[str, str, str] | None = None,
):
    """NHS 111 refers a patient to Riverside Pharmacy (FA001, opened whatever the clock says),
    giving the name and date of birth the caller gave, if any; the page is left on the sent
    referral."""
    import re

    from sqlalchemy import update

    from ipmo.organisations.models import Organisation
    from ipmo.store import session_scope

    with session_scope(engine) as s:
        s.execute(
            update(Organisation)
            .where(Organisation.ods_code == "FA001")
            .values(opening_hours=ALWAYS_OPEN)
        )
    sign_in(page, base_url, "nhs111")
    page.get_by_role("link", name="Send a referral").click()
    page.get_by_label("NHS number").fill(nhs_number)
    if patient_name:
        page.get_by_label("Patient's full name (optional)").fill(patient_name)
    if birth_date:
        for part, value in zip(("day", "month", "year"), birth_date, strict=True):
            page.locator(f"#birth_date-{part}").fill(value)
    page.get_by_label("Service").select_option(service)
    page.get_by_label("Clinical summary").fill(summary)
    page.get_by_label(re.compile("^Reason for referring")).fill("NHS 111 caller")
    page.get_by_role("button", name="Send referral").click()


def serious_accessibility_violations(page) -> list[str]:
    """axe-core (shipped inside axe-playwright-python) violations of impact serious/critical."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']}: {v['help']}"
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]


ARTEFACTS = Path(__file__).resolve().parents[2] / "test-artefacts" / "journeys"

DUPLICATE_IDS = """() => {
  const seen = {};
  for (const el of document.querySelectorAll('[id]')) seen[el.id] = (seen[el.id] || 0) + 1;
  return Object.keys(seen).filter(id => seen[id] > 1);
}"""


def accessibility_problems(page) -> list[str]:
    """Every axe-core violation, whatever its impact (WCAG 2.1 A/AA and best practice), and every
    id used twice on the page (axe 4.12 no longer runs its duplicate-id rules by default)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    found = [
        f"{v['id']} ({v.get('impact')}): {v['help']} at "
        + ", ".join(str(n["target"]) for n in v["nodes"][:3])
        for v in results.response["violations"]
    ]
    found += [f"duplicate id: {i}" for i in page.evaluate(DUPLICATE_IDS)]
    return found


class Journey:
    """One role's walk through the app: each step is checked with axe and for duplicate ids,
    and photographed to ``test-artefacts/journeys/<role>/<nn>-<step>.png`` for a reviewer."""

    def __init__(self, page, role: str) -> None:
        self.page, self.role, self.steps = page, role, 0
        self.folder = ARTEFACTS / role
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()

    def step(self, name: str) -> None:
        self.steps += 1
        self.page.screenshot(path=str(self.folder / f"{self.steps:02d}-{name}.png"), full_page=True)
        problems = accessibility_problems(self.page)
        assert problems == [], f"{self.role} / {name} ({self.page.url}): {problems}"


def seed_worklist_patient(engine, today) -> None:
    """Ada Smith (a care-home resident) given naproxen with apixaban a week ago, and the SMR
    worklist rebuilt: she tops it with PINCER-D (an NSAID with an anticoagulant)."""
    from datetime import timedelta

    from sqlalchemy import select

    from ipmo.patients.models import MedicationIssue, Patient
    from ipmo.review import service
    from ipmo.store import session_scope

    with session_scope(engine) as s:
        ada = s.scalar(select(Patient).where(Patient.nhs_number == "9990000018"))
        for name in ("Naproxen 500mg tablets", "Apixaban 5mg tablets"):
            s.add(
                MedicationIssue(
                    patient_id=ada.id,
                    dmd_code="0",
                    name=name,
                    issue_date=today - timedelta(days=7),
                    issue_type="repeat",
                )
            )
    service.run(engine, today)
