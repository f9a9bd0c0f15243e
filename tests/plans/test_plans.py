"""Plans tied to live metrics: the metric registry, validation, progress and the report."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from ipmo.plans import metrics
from ipmo.plans.models import Objective, Plan
from ipmo.plans.report import render_html
from ipmo.plans.service import PlanError, create_plan, plan_view
from ipmo.store import session_scope
from ipmo.synth.sample import seed_sample_ics
from ipmo.workforce.importer import COLUMNS, import_assignments

# A fixed day, late in its month, so the month-end series points fall where the comments say
# (date.today() made this file fail on days 1-14 of every month).
TODAY = date(2026, 6, 24)


def _csv(*rows):
    lines = [",".join(COLUMNS)]
    for r in rows:
        lines.append(",".join(r.get(c, "") for c in COLUMNS))
    return "\n".join(lines) + "\n"


def _post(number, org, employee="", wte="1.0", start=None, ip="N"):
    start = start or (TODAY - timedelta(days=400)).isoformat()
    return {
        "assignment_number": number,
        "employee_number": employee,
        "full_name": "N" + employee if employee else "",
        "organisation_code": org,
        "position_title": "Pharmacist",
        "staff_role": "pharmacist",
        "wte": wte,
        "assignment_start": start,
        "independent_prescriber": ip,
    }


def _seed(engine):
    with session_scope(engine) as s:
        seed_sample_ics(s)
        import_assignments(
            s,
            _csv(
                _post("A", "A10001", "E1", ip="Y"),
                _post("B", "A20001", "E2", start=(TODAY - timedelta(days=45)).isoformat()),
                _post("C", "A10002", ""),
            ),
        )
    return engine


def plan_data(**objective):
    o = {
        "title": "More pharmacists",
        "owner": "Lead",
        "metric": "workforce.in_post_wte",
        "target": 5,
        "direction": "up",
        "baseline_date": (TODAY - timedelta(days=200)).isoformat(),
        "target_date": (TODAY + timedelta(days=200)).isoformat(),
    }
    o.update(objective)
    return {
        "title": "Plan",
        "owner": "Chief",
        "start_date": (TODAY - timedelta(days=200)).isoformat(),
        "end_date": (TODAY + timedelta(days=200)).isoformat(),
        "objectives": [o],
        "stakeholders": [{"name": "LPC", "engagement": "collaborate"}],
    }


@pytest.fixture
def store(engine):
    return _seed(engine)


def test_the_workforce_metric_series_moves_with_the_registry(store):
    with session_scope(store) as s:
        points = metrics.series(s, "workforce.in_post_wte", on=TODAY, months=3)
    assert len(points) == 3 and points[-1][0] == TODAY
    # B started 45 days ago: two months ago only A was in post
    assert points[0][1] == 1.0 and points[-1][1] == 2.0


def test_a_plan_takes_its_baseline_from_live_data_and_computes_progress(store):
    with session_scope(store) as s:
        plan = create_plan(s, plan_data(), on=TODAY)
        view = plan_view(s, plan.id, on=TODAY)
    [o] = view["objectives"]
    assert o["baseline"] == 1.0  # in post 200 days ago
    assert o["current"] == 2.0
    assert o["progress"] == pytest.approx(0.25)  # 1 of the 4 WTE wanted
    assert o["rag"] == "red"  # half the time gone, a quarter of the way
    assert view["stakeholders"][0]["engagement"] == "collaborate"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"metric": "workforce.happiness"}, "objective 1: unknown metric 'workforce.happiness'"),
        (
            {"metric": "astrology.stars"},
            "objective 1: unknown metric 'astrology.stars' (known kinds",
        ),
        ({"metric": "analytics.no_such_measure"}, "unknown metric 'analytics.no_such_measure'"),
        ({"metric": "services.contraception.vibes"}, "unknown metric"),
        ({"target": 0.5}, "objective 1: direction is up but target 0.5 is not above baseline 1"),
        ({"scope": "A10001"}, "scope 'A10001' must be a PCN, place or ICB code"),
        ({"target_date": "2000-01-01"}, "target_date must be after baseline_date"),
    ],
)
def test_bad_objectives_are_refused_and_nothing_is_written(store, change, message):
    with pytest.raises(PlanError) as err, session_scope(store) as s:
        create_plan(s, plan_data(**change), on=TODAY)
    assert message in str(err.value)
    with session_scope(store) as s:
        assert s.scalar(select(func.count(Plan.id))) == 0
        assert s.scalar(select(func.count(Objective.id))) == 0


def test_known_analytics_and_review_ids_resolve(store):
    with session_scope(store) as s:
        assert metrics.resolve(s, "analytics.environmental_inhalers")[2].source
        assert metrics.resolve(s, "workforce.wte_per_10k")[2].better == "up"
        ids = {m.id for m in metrics.catalogue(s)}
    assert {"workforce.ip_coverage", "services.pharmacy-first.no_supply_share"} <= ids


def test_plan_on_a_page_html(store):
    with session_scope(store) as s:
        plan = create_plan(s, plan_data(), on=TODAY)
        s.flush()
        view = plan_view(s, plan.id, on=TODAY)
    html = render_html(view)
    assert "More pharmacists" in html and 'data-rag="red"' in html
    assert "<svg" in html and "polyline" in html and "target 5" in html


def test_plans_store_on_both_engines(any_engine):
    _seed(any_engine)
    with session_scope(any_engine) as s:
        data = plan_data()
        data["objectives"][0]["pdsa"] = [
            {
                "title": "Cycle 1",
                "started_on": "2026-01-05",
                "plan": "p",
                "do": "d",
                "study": "s",
                "act": "a",
            }
        ]
        plan_id = create_plan(s, data, on=TODAY).id
    with session_scope(any_engine) as s:
        view = plan_view(s, plan_id, on=TODAY)
    assert view["objectives"][0]["pdsa"][0]["act"] == "a"
    assert view["objectives"][0]["current"] == 2.0


def test_a_percentage_metric_is_compared_like_with_like(store, monkeypatch):
    """Issue 14: an objective "on track" compared a fraction (0.48) with a 15% target. The
    analytics measures that are fractions come in percent, their unit is stored with the
    objective, a target that is not a percentage is refused, and a metric whose unit changed
    is not compared with the objective's numbers."""
    with session_scope(store) as s:
        inhalers = metrics.resolve(s, "analytics.environmental_inhalers")[2]
        assert inhalers.unit == "%"
        assert metrics.resolve(s, "analytics.opioidper1000")[2].unit == ""
        with pytest.raises(PlanError, match="target 150 is not a percentage"):
            create_plan(s, plan_data(metric="workforce.vacancy_rate", direction="down",
                                     baseline=40, target=150), on=TODAY)  # fmt: skip
    with session_scope(store) as s:
        plan = create_plan(
            s,
            plan_data(metric="workforce.vacancy_rate", direction="down", baseline=40, target=15),
            on=TODAY,
        )
        plan_id = plan.id
        assert plan.objectives[0].unit == "%"
    from ipmo.workforce import metrics as workforce_metrics

    monkeypatch.setitem(
        workforce_metrics.WORKFORCE,
        "vacancy_rate",
        workforce_metrics._Figure("Vacancy fraction", "", "down", lambda r: r.vacancy_rate),
    )
    with session_scope(store) as s:
        [o] = plan_view(s, plan_id, on=TODAY)["objectives"]
    assert o["current"] is None and o["rag"] == "grey"
    assert "now measured in plain numbers, the objective in %" in o["unit_note"]
