"""The views read from the store: registered patients come from Patient rows rolled up through
Organisation.parent_code; organograms are generated from the registry."""

from __future__ import annotations

from datetime import date
from xml.etree import ElementTree

import pytest

from ipmo.store import session_scope
from ipmo.workforce.importer import import_assignments
from ipmo.workforce.organogram import ics_organogram, leadership_organogram
from ipmo.workforce.staffing import named_posts, summary

from .helpers import csv_text, row, seed

SVG = "{http://www.w3.org/2000/svg}"


def _texts(svg: str) -> list[str]:
    return [t.text or "" for t in ElementTree.fromstring(svg).iter(f"{SVG}text")]


def _fill(engine):
    seed(engine)
    text = csv_text(
        row(
            assignment_number="L1",
            employee_number="E1",
            full_name="Lee Leader",
            organisation_code="QXX",
            position_title="ICS Chief Pharmacist",
            afc_band="9",
            leadership="Y",
            independent_prescriber="Y",
        ),
        row(
            assignment_number="L2",
            employee_number="E2",
            full_name="Pat Pcn",
            organisation_code="U10001",
            position_title="PCN Lead Pharmacist",
            reports_to="L1",
            leadership="Y",
        ),
        row(
            assignment_number="S1",
            employee_number="E3",
            full_name="Sam Staff",
            organisation_code="A10001",
            wte="0.5",
            reports_to="L2",
        ),
        row(
            assignment_number="V1",
            employee_number="",
            full_name="",
            organisation_code="A20001",
            wte="0.8",
            reports_to="L2",
        ),
    )
    with session_scope(engine) as s:
        import_assignments(s, text)
    return engine


@pytest.fixture
def registry(engine):
    return _fill(engine)


@pytest.fixture
def registry_any(any_engine):
    return _fill(any_engine)


def test_summary_by_pcn_from_the_store(registry_any):
    with session_scope(registry_any) as s:
        data = summary(s, by="pcn", on=date(2026, 1, 1))
    rows = {r["key"]: r for r in data["rows"]}
    # the sample ICS registers 3 patients under Riverside PCN (A10001 ×2, A10002 ×1)
    assert rows["U10001"]["patients"] == 3
    assert rows["U10001"]["in_post_wte"] == 1.5
    assert rows["U10001"]["wte_per_10k"] == pytest.approx(1.5 / 3 * 10_000, rel=1e-3)
    assert rows["U20001"]["vacant_wte"] == 0.8 and rows["U20001"]["in_post_wte"] == 0
    assert data["total"]["in_post_wte"] == 2.5
    assert "Lee Leader" not in str(data)  # aggregates carry no names


def test_named_posts_carry_names(registry):
    with session_scope(registry) as s:
        people = {p["assignment_number"]: p for p in named_posts(s)}
    assert people["L1"]["name"] == "Lee Leader" and people["V1"]["name"] is None


def test_ics_organogram_shows_the_hierarchy_and_pharmacy_wte(registry):
    with session_scope(registry) as s:
        svg = ics_organogram(s, on=date(2026, 1, 1))
    texts = _texts(svg)
    for expected in (
        "Example Integrated Care",
        "North Place",
        "Riverside PCN",
        "Riverside Medical Centre",
        "Community pharmacies",
        "Pharmacy: 0.0 WTE, 0.8 vacant",
        "Pharmacy: 0.5 WTE",
    ):
        assert any(expected in t for t in texts), expected
    assert "Lee Leader" not in svg


def test_leadership_organogram_follows_reports_to_and_hides_names_unless_asked(registry):
    with session_scope(registry) as s:
        anonymous = leadership_organogram(s, on=date(2026, 1, 1))
        named = leadership_organogram(s, show_names=True, on=date(2026, 1, 1))
    root = ElementTree.fromstring(anonymous)
    boxes = [g for g in root.iter(f"{SVG}g")]
    assert len(boxes) == 2  # the two leadership posts; staff are counted into their leader
    assert any("team: 2 post(s), 1.3 WTE" in t for t in _texts(anonymous))
    assert "Lee Leader" not in anonymous and "Pat Pcn" not in anonymous
    assert "Lee Leader" in named and "Pat Pcn" in named
    # the PCN lead sits below the ICS chief pharmacist
    ys = {t.text: float(t.get("y")) for t in root.iter(f"{SVG}text")}
    assert ys["PCN Lead Pharmacist"] > ys["ICS Chief Pharmacist"]
