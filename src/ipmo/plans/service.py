"""Create and read plans: validation (metric ids, dates, directions) and the live progress view.

A plan can be loaded from a JSON document (``ipmo plan load``; layout in ``plans/README.md``) or
built by the API/pages one objective at a time; both go through :func:`add_objective`, so an
unknown metric id is refused the same way everywhere, before anything is written.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ipmo.plans import metrics
from ipmo.plans.models import Objective, PdsaCycle, Plan, Stakeholder
from ipmo.plans.progress import check_objective, elapsed, progress, rag

ENGAGEMENT = ("inform", "consult", "involve", "collaborate", "empower")  # IAP2 spectrum


class PlanError(ValueError):
    """Bad plan input; the message names the field or objective and is safe to show."""


class PlanNotFound(PlanError):
    """No such plan, or no such objective in the plan (HTTP 404 in the API)."""


def _date(value: Any, what: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise PlanError(f"{what} {value!r} is not a date (YYYY-MM-DD)") from None


def _text(data: dict, key: str, where: str) -> str:
    value = (_optional_text(data, key, where) or "").strip()
    if not value:
        raise PlanError(f"{where}: {key} is required")
    return value


def _optional_text(data: dict, key: str, where: str) -> str | None:
    """A text field: a string (numbers are taken as written); an object or a list is refused
    with the field's name (it reached the database and failed there, a 500)."""
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise PlanError(f"{where}: {key} must be text")


def create_plan(session: Session, data: dict, on: date | None = None) -> Plan:
    """A plan with its objectives, PDSA cycles and stakeholders, all validated first.

    ``on`` is the day the live baselines are read for (today unless a caller, such as a test,
    states the day)."""
    plan = Plan(
        title=_text(data, "title", "plan"),
        owner=_text(data, "owner", "plan"),
        purpose=_optional_text(data, "purpose", "plan"),
        start_date=_date(data.get("start_date"), "plan start_date"),
        end_date=_date(data.get("end_date"), "plan end_date"),
    )
    if plan.end_date <= plan.start_date:
        raise PlanError("plan: end_date must be after start_date")
    session.add(plan)
    session.flush()
    for i, obj in enumerate(_items(data, "objectives", "plan"), start=1):
        try:
            objective = add_objective(session, plan, obj, on=on)
            for cycle in _items(obj, "pdsa", "objective"):
                add_cycle(session, objective, cycle)
        except PlanError as exc:
            raise PlanError(f"objective {i}: {exc}") from None
    for i, sh in enumerate(_items(data, "stakeholders", "plan"), start=1):
        try:
            add_stakeholder(session, plan, sh)
        except PlanError as exc:
            raise PlanError(f"stakeholder {i}: {exc}") from None
    session.flush()
    return plan


def add_objective(session: Session, plan: Plan, data: dict, on: date | None = None) -> Objective:
    metric_id = _text(data, "metric", "objective")
    scope = (_optional_text(data, "scope", "objective") or "").strip() or None
    try:
        _p, _n, metric = metrics.resolve(session, metric_id)
    except metrics.MetricError as exc:
        raise PlanError(str(exc)) from None
    baseline_date = _date(data.get("baseline_date") or plan.start_date, "baseline_date")
    target_date = _date(data.get("target_date") or plan.end_date, "target_date")
    if target_date <= baseline_date:
        raise PlanError("target_date must be after baseline_date")
    direction = str(data.get("direction") or metric.better)
    try:
        live = metrics.series(session, metric_id, scope, on=on or date.today(), months=36)
    except metrics.MetricError as exc:
        raise PlanError(str(exc)) from None
    if data.get("baseline") is None:
        before = [v for d, v in live if d <= baseline_date] or [v for _d, v in live]
        if not before:
            raise PlanError(f"no data for {metric_id} yet: give a baseline")
        baseline = before[-1]
    else:
        baseline = _number(data["baseline"], "baseline")
    target = _number(data.get("target"), "target")
    if metric.unit.strip() == "%":
        for what, value in (("baseline", baseline), ("target", target)):
            if not 0 <= value <= 100:
                raise PlanError(
                    f"{what} {value:g} is not a percentage: {metric_id} is measured in percent "
                    "(0 to 100; write 15 for 15%)"
                )
    try:
        check_objective(baseline, target, direction)
    except ValueError as exc:
        raise PlanError(str(exc)) from None
    objective = Objective(
        plan=plan,
        title=_text(data, "title", "objective"),
        owner=_text(data, "owner", "objective"),
        metric_id=metric_id,
        scope=scope,
        baseline=baseline,
        baseline_date=baseline_date,
        target=target,
        target_date=target_date,
        direction=direction,
        unit=metric.unit,
    )
    session.add(objective)
    session.flush()
    return objective


def _items(data: dict, key: str, where: str) -> list[dict]:
    """A list of objects (objectives, PDSA cycles, stakeholders), or a refusal naming it."""
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise PlanError(f"{where}: {key} must be a list of objects")
    return value


def _number(value: Any, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise PlanError(f"{what} is not a number") from None
    if not math.isfinite(number):  # inf/nan cannot be stored as JSON or compared
        raise PlanError(f"{what} is not a finite number")
    return number


def add_cycle(session: Session, objective: Objective, data: dict) -> PdsaCycle:
    started = _date(data.get("started_on"), "PDSA started_on")
    ended = _date(data["ended_on"], "PDSA ended_on") if data.get("ended_on") else None
    if ended is not None and ended < started:
        raise PlanError("PDSA ended_on is before started_on")
    cycle = PdsaCycle(
        objective_id=objective.id,
        title=_text(data, "title", "PDSA cycle"),
        started_on=started,
        ended_on=ended,
        plan_note=_optional_text(data, "plan", "PDSA cycle") or "",
        do_note=_optional_text(data, "do", "PDSA cycle") or "",
        study_note=_optional_text(data, "study", "PDSA cycle") or "",
        act_note=_optional_text(data, "act", "PDSA cycle") or "",
    )
    session.add(cycle)
    session.flush()
    session.refresh(objective)
    return cycle


def add_stakeholder(session: Session, plan: Plan, data: dict) -> Stakeholder:
    engagement = str(data.get("engagement") or "").strip()
    if engagement not in ENGAGEMENT:
        raise PlanError(f"engagement must be one of {', '.join(ENGAGEMENT)}")
    last = _date(data["last_engaged"], "last_engaged") if data.get("last_engaged") else None
    sh = Stakeholder(
        plan_id=plan.id,
        name=_text(data, "name", "stakeholder"),
        organisation=_optional_text(data, "organisation", "stakeholder"),
        interest=_optional_text(data, "interest", "stakeholder"),
        engagement=engagement,
        last_engaged=last,
        notes=_optional_text(data, "notes", "stakeholder"),
    )
    session.add(sh)
    session.flush()
    session.refresh(plan)
    return sh


def get_plan(session: Session, plan_id: int) -> Plan:
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise PlanNotFound(f"no plan with id {plan_id}")
    return plan


def objective_in(session: Session, plan_id: int, objective_id: int) -> Objective:
    objective = session.get(Objective, objective_id)
    if objective is None or objective.plan_id != plan_id:
        raise PlanNotFound(f"no objective {objective_id} in plan {plan_id}")
    return objective


def list_plans(session: Session) -> list[dict]:
    return [
        {
            "id": p.id,
            "title": p.title,
            "owner": p.owner,
            "objectives": len(p.objectives),
            "start_date": p.start_date.isoformat(),
            "end_date": p.end_date.isoformat(),
        }
        for p in session.scalars(select(Plan).order_by(Plan.id))
    ]


def objective_view(session: Session, o: Objective, on: date, months: int = 12) -> dict:
    """The objective with its live series, current value, progress and RAG status."""
    try:
        _p, _n, metric = metrics.resolve(session, o.metric_id)
        points = metrics.series(session, o.metric_id, o.scope, on=on, months=months)
    except metrics.MetricError:
        # the providing domain was removed after the objective was saved: show it as no data
        metric = metrics.Metric(o.metric_id, o.metric_id, "", o.direction, "unavailable")
        points = []
    unit_changed = o.unit is not None and metric.unit != o.unit and metric.source != "unavailable"
    if unit_changed:
        points = []  # a value in another unit is not compared with the baseline and target
    current = points[-1][1] if points else None
    return {
        "id": o.id,
        "title": o.title,
        "owner": o.owner,
        "metric": {
            "id": metric.id,
            "title": metric.title,
            "unit": metric.unit,
            "source": metric.source,
        },
        "unit": o.unit,
        "unit_note": (
            f"the metric is now measured in {metric.unit.strip() or 'plain numbers'}, the "
            f"objective in {o.unit.strip() or 'plain numbers'}: set a new baseline and target"
        )
        if unit_changed
        else None,
        "scope": o.scope,
        "baseline": o.baseline,
        "baseline_date": o.baseline_date.isoformat(),
        "target": o.target,
        "target_date": o.target_date.isoformat(),
        "direction": o.direction,
        "current": current,
        "progress": None if current is None else round(progress(o.baseline, o.target, current), 3),
        "time_elapsed": round(elapsed(o.baseline_date, o.target_date, on), 3),
        "rag": rag(o.baseline, o.target, o.direction, current, o.baseline_date, o.target_date, on),
        "series": [{"date": d.isoformat(), "value": v} for d, v in points],
        "pdsa": [
            {
                "id": c.id,
                "title": c.title,
                "started_on": c.started_on.isoformat(),
                "ended_on": c.ended_on.isoformat() if c.ended_on else None,
                "plan": c.plan_note,
                "do": c.do_note,
                "study": c.study_note,
                "act": c.act_note,
            }
            for c in o.cycles
        ],
    }


def plan_view(session: Session, plan_id: int, on: date | None = None) -> dict:
    plan = get_plan(session, plan_id)
    on = on or date.today()
    objectives = [objective_view(session, o, on) for o in plan.objectives]
    counts = {
        k: sum(1 for o in objectives if o["rag"] == k) for k in ("green", "amber", "red", "grey")
    }
    return {
        "id": plan.id,
        "title": plan.title,
        "owner": plan.owner,
        "purpose": plan.purpose,
        "start_date": plan.start_date.isoformat(),
        "end_date": plan.end_date.isoformat(),
        "on": on.isoformat(),
        "rag_counts": counts,
        "objectives": objectives,
        "stakeholders": [
            {
                "id": s.id,
                "name": s.name,
                "organisation": s.organisation,
                "interest": s.interest,
                "engagement": s.engagement,
                "last_engaged": s.last_engaged.isoformat() if s.last_engaged else None,
                "notes": s.notes,
            }
            for s in plan.stakeholders
        ],
    }
