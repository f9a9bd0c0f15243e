"""Small builders shared by the workforce tests (the sample ICS plus CSV text)."""

from __future__ import annotations

import csv
import io

from tests.web_session import sign_in

from ipmo.store import session_scope
from ipmo.synth.sample import seed_sample_ics
from ipmo.workforce.importer import COLUMNS


def seed(engine) -> None:
    with session_scope(engine) as s:
        seed_sample_ics(s)


def row(**values: str) -> dict[str, str]:
    base = {c: "" for c in COLUMNS}
    base.update(
        assignment_number="A1",
        employee_number="E1",
        full_name="Pat Example",
        organisation_code="A10001",
        position_title="Clinical pharmacist",
        staff_role="pharmacist",
        afc_band="7",
        wte="1.0",
        assignment_start="2024-04-01",
    )
    base.update(values)
    return base


def csv_text(*rows: dict[str, str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


class Site:
    """The sample ICS served once per test module, with one signed-in client per demo user.

    For read-only role checks: building the store, the app and a scrypt sign-in per test is
    what made these tests slow. Tests that write use the function-scoped ``client_as``."""

    def __init__(self, tmp_dir, populate=None) -> None:
        from fastapi.testclient import TestClient

        from ipmo.config import Settings
        from ipmo.security.users import seed_demo_users
        from ipmo.store import create_store_engine, init_store
        from ipmo.web.app import create_app

        self.engine = create_store_engine(f"sqlite:///{tmp_dir / 'store.sqlite3'}")
        init_store(self.engine)
        with session_scope(self.engine) as s:
            seed_sample_ics(s)
            seed_demo_users(s)
        if populate is not None:
            populate(self.engine)
        settings = Settings(data_dir=tmp_dir, database_url="sqlite://", secret_key="test-key")
        self.app = create_app(self.engine, settings)
        self._clients: dict = {}
        self._client_cls = TestClient

    def __call__(self, username: str | None):
        from ipmo.security.users import DEMO_PASSWORD

        if username not in self._clients:
            client = self._client_cls(self.app, base_url="http://testserver")
            if username is not None:
                r = sign_in(client, username, DEMO_PASSWORD)
                assert r.status_code == 303, r.text
            self._clients[username] = client
        return self._clients[username]

    def close(self) -> None:
        for c in self._clients.values():
            c.close()
        self.engine.dispose()


LEADER = "Lee Leader"


def leader_and_report() -> tuple[dict[str, str], dict[str, str]]:
    """An ICS chief pharmacist (named, independent prescriber) and a half-time post reporting to
    them: the smallest registry with a line of accountability."""
    return (
        row(
            assignment_number="L1",
            employee_number="E1",
            full_name=LEADER,
            organisation_code="QXX",
            position_title="ICS Chief Pharmacist",
            afc_band="9",
            leadership="Y",
            independent_prescriber="Y",
        ),
        row(
            assignment_number="S1",
            employee_number="E3",
            full_name="Sam Staff",
            organisation_code="A10001",
            wte="0.5",
            reports_to="L1",
        ),
    )
