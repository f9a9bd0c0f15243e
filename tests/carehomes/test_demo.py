"""The demo ICS gains eMAR administrations with the patterns carehomes/demo.py cites."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from ipmo import hooks
from ipmo.carehomes.demo import populate
from ipmo.carehomes.models import AdministrationRow, BestInterestsDecision
from ipmo.plans import BadScope
from ipmo.store import session_scope
from ipmo.synth import generate

NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)  # the demo is laid out up to this moment
DAY = NOW.date()


def test_demo_emar_patterns_and_a_rerun_adds_nothing(engine):
    generate(engine, size="small", seed=3, as_of=DAY)
    summary = populate(engine, 3, NOW)
    t = AdministrationRow
    with session_scope(engine) as s:
        total = s.scalar(select(func.count()).select_from(t))
        by_outcome = dict(s.execute(select(t.outcome, func.count()).group_by(t.outcome)).all())
        prn = s.scalar(select(func.count()).select_from(t).where(t.prn.is_(True)))
        decisions = s.scalar(select(func.count()).select_from(BestInterestsDecision))
    assert total > 1000 and f"{total:,} eMAR administrations" in summary
    not_given = (total - by_outcome["given"]) / total
    assert 0.02 < not_given < 0.08  # ≈ 3.5% plus the frequent refusers
    assert by_outcome["refused"] > by_outcome["omitted"] > 0
    assert 0.05 < prn / total < 0.4
    assert f"{decisions} best-interests decisions" in summary
    again = populate(engine, 3, NOW)
    assert again.startswith("0 eMAR administrations")

    # the plan metric registry reads the same figures (ICS-wide; a PCN is not a scope for them)
    provider = next(
        p for offered in hooks.offered("PLAN_METRICS") for p in offered if p.prefix == "carehomes"
    )
    with session_scope(engine) as s:
        points = provider.series(s, "missed_doses_pct", None, DAY, 1)
        assert len(points) == 1 and 1.0 < points[0][1] < 10.0
        with pytest.raises(BadScope):
            provider.series(s, "missed_doses_pct", "A10001", DAY, 1)


def test_demo_supplies_returns_and_stop_ordering(engine):
    """The demo's monthly supplies (dispensed EPS prescriptions), returns and destruction give
    waste figures and both stop-ordering rules (demo.py's docstring: 1 regular medicine in 12
    supplied at twice its use; 1 resident in 10 stops using PRN paracetamol)."""
    from ipmo.carehomes.actions import emar_feed, waste_view
    from ipmo.carehomes.models import MedicineWaste
    from ipmo.patients import Patient
    from ipmo.prescriptions.models import Prescription

    generate(engine, size="small", seed=3, as_of=DAY)
    summary = populate(engine, 3, NOW)
    with session_scope(engine) as s:
        supplies = s.scalar(select(func.count()).select_from(Prescription))
        disposals = dict(
            s.execute(
                select(MedicineWaste.disposal, func.count()).group_by(MedicineWaste.disposal)
            ).all()
        )
        homes = sorted(
            set(
                s.scalars(select(Patient.care_home_code).where(Patient.care_home_code.is_not(None)))
            )
        )
    assert supplies > 100 and f"{supplies:,} monthly supplies" in summary
    assert disposals["returned"] > 0 and disposals["destroyed"] > 0
    rules: set[str] = set()
    with session_scope(engine) as s:
        for home in homes:
            view = waste_view(s, emar_feed(home), DAY)
            rules |= {c.rule for c in view.stop}
            assert all(m.home == home for m in view.medicines)
    assert rules == {"supplied-mostly-unused", "prn-not-given-resupplied"}
    assert populate(engine, 3, NOW).endswith("0 monthly supplies; 0 returns or destructions")
