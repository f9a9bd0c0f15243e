"""Consultation rows and figures offered to other domains (hooks): one definition of each count."""

from __future__ import annotations

from datetime import date

from ipmo import hooks
from ipmo.pharmacyfirst.models import Consultation, ConsultationItem
from ipmo.store import session_scope


def _consultation(ref: str, org: str, day: date, **kw) -> Consultation:
    base = dict(
        reference=ref,
        kind="clinical-pathway",
        channel="walk-in",
        org_code=org,
        pharmacist="community.pharmacist",
        nhs_number="9990000018",
        consulted_on=day,
        status="completed",
    )
    return Consultation(**(base | kw))


def test_rows_and_figures_count_items_and_outcomes_per_pharmacy_and_month(engine):
    with session_scope(engine) as s:
        supplied = _consultation(
            "PF-1", "FA001", date(2026, 11, 3), outcome="supplied", gateway_passed=True
        )
        supplied.items.append(
            ConsultationItem(name="Nitrofurantoin", supply_type="pgd", outcome="supplied")
        )
        urgent = _consultation(
            "PF-2", "FA001", date(2026, 11, 4), kind="urgent-supply", outcome="supplied"
        )
        urgent.items += [
            ConsultationItem(name="Ramipril", supply_type="emergency-supply", outcome="supplied"),
            ConsultationItem(
                name="Morphine",
                supply_type="emergency-supply",
                outcome="no-supply",
                no_supply_reason="schedule-2-3-controlled-drug",
            ),
        ]
        s.add_all(
            [
                supplied,
                urgent,
                _consultation("PF-3", "FA001", date(2026, 12, 1), outcome="no-supply"),
                _consultation("PF-4", "FA002", date(2026, 11, 5), status="in-progress"),
            ]
        )
    [rows_fn] = hooks.offered("PHARMACY_FIRST_CONSULTATIONS")
    [figures_fn] = hooks.offered("PHARMACY_FIRST_FIGURES")
    with session_scope(engine) as s:
        rows = rows_fn(s, month="2026-11")
        figures = figures_fn(s)
    assert [r["reference"] for r in rows] == ["PF-1", "PF-2", "PF-4"]
    assert "nhs_number" not in rows[0]
    assert figures[("FA001", "2026-11")] == {
        "consultations": 2,
        "completed": 2,
        "pathway_consultations": 1,
        "urgent_supply_consultations": 1,
        "gateway_passed": 1,
        "items_supplied": 2,
        "items_not_supplied": 1,
        "no_supply": 0,
        "referred_on": 0,
        "advice_only": 0,
    }
    assert figures[("FA001", "2026-12")]["no_supply"] == 1
    assert figures[("FA002", "2026-11")]["completed"] == 0
