"""Plan use cases: the one place the plans domain's adapters change a plan, and where a change
is audited, it is audited here (``api.py`` and ``pages.py`` are thin adapters over these, as in
referrals and records: the API and the pages write the same audit entries).

Every use case runs in the caller's unit of work. Errors are the service's:
:class:`~ipmo.plans.service.PlanNotFound` (no such plan, or no such objective in it) and
:class:`~ipmo.plans.service.PlanError` (bad input, the message safe to show). Reading a plan
(``service.plan_view``, ``service.list_plans``) needs no use case: plans hold no patient data.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from ipmo.plans import service
from ipmo.plans.models import Objective, PdsaCycle, Plan, Stakeholder
from ipmo.security.access import audit_event
from ipmo.security.principal import Principal


def create(session: Session, principal: Principal, data: dict, *, on: date) -> Plan:
    """A plan with its objectives, PDSA cycles and stakeholders (layout in plans/README.md);
    ``on``: today (an objective's baseline is read from its metric up to then)."""
    plan = service.create_plan(session, data, on=on)
    audit_event(session, principal, "plan.create", detail={"plan": plan.id})
    return plan


def add_objective(
    session: Session, principal: Principal, plan_id: int, data: dict, *, on: date
) -> Objective:
    objective = service.add_objective(session, service.get_plan(session, plan_id), data, on=on)
    audit_event(session, principal, "plan.objective.create", detail={"plan": plan_id})
    return objective


def add_cycle(session: Session, plan_id: int, objective_id: int, data: dict) -> PdsaCycle:
    objective = service.objective_in(session, plan_id, objective_id)
    return service.add_cycle(session, objective, data)


def add_stakeholder(session: Session, plan_id: int, data: dict) -> Stakeholder:
    return service.add_stakeholder(session, service.get_plan(session, plan_id), data)
