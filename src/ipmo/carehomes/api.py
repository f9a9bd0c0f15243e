"""JSON API for care homes: a resident's findings from their eMAR administrations.

Access through the policy (``check_patient_access`` inside the action: care-home staff see only
their own home's residents) and audited.
"""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, HTTPException, Path, Query, Response

from ipmo.carehomes import actions
from ipmo.carehomes.actions import resident_findings
from ipmo.carehomes.schemas import (
    Created,
    FindingOut,
    IncidentIn,
    MedicineMonthOut,
    ResidentFindings,
    StaffIn,
    TrainingIn,
    WasteFigures,
    WasteIn,
    WasteRecorded,
    WasteRecordOut,
    WasteTotalOut,
)
from ipmo.carehomes.staff import Competency
from ipmo.security import Activity
from ipmo.web.deps import Caller, Today, app_now, caller
from ipmo.web.params import DB_INT_MAX

router = APIRouter(tags=["carehomes"])
# every route: a signed-in user who may view records (the actions narrow it), one unit of work
USER = caller(Activity.RECORD_VIEW)


@router.get("/api/carehomes/residents/{nhs_number}/findings", response_model=ResidentFindings)
def findings(
    nhs_number: str,
    as_of: datetime | None = Query(None, description="ISO date-time with zone; default now"),
    c: Caller = USER,
) -> ResidentFindings:
    when = as_of or app_now(c.request)
    if when.tzinfo is None:
        raise HTTPException(422, "as_of needs a time zone (e.g. 2026-03-15T20:00:00Z)")
    found = resident_findings(c.session, c.principal, nhs_number, when)
    return ResidentFindings(
        as_of=when.isoformat(),
        findings=[FindingOut.model_validate(f, from_attributes=True) for f in found],
    )


# --- the home's staff register, training and competency, and medication incidents (NICE SC1
# 1.18 and 1.5); only the home's own staff (403 otherwise), each write audited


@router.get("/api/carehomes/staff", response_model=list[Competency])
def staff(today: Today, c: Caller = USER) -> list[Competency]:
    return actions.staff_competency(c.session, c.principal, today)


@router.post("/api/carehomes/staff", response_model=Created, status_code=201)
def add_staff(
    body: StaffIn,
    c: Caller = USER,
) -> Created:
    return Created(id=actions.register_staff(c.session, c.principal, body.name, body.job_title).id)


@router.post("/api/carehomes/staff/{staff_id}/training", response_model=Created, status_code=201)
def add_training(
    staff_id: int = Path(ge=1, le=DB_INT_MAX),
    *,
    body: TrainingIn,
    today: Today,
    c: Caller = USER,
) -> Created:
    record = actions.record_training(
        c.session, c.principal, staff_id, body.kind, body.completed_on, body.detail, today
    )
    return Created(id=record.id)


@router.post("/api/carehomes/incidents", response_model=Created, status_code=201)
def add_incident(
    body: IncidentIn,
    today: Today,
    c: Caller = USER,
) -> Created:
    fields = body.model_dump()
    return Created(id=actions.record_incident(c.session, c.principal, today=today, **fields).id)


# --- medicines returned or destroyed, and waste (issue 17): the home's own staff record; the
# figures cover the residents the policy lets the user see (a home; the MOCH caseload)


@router.post("/api/carehomes/waste", response_model=WasteRecorded)
def add_waste(
    body: WasteIn,
    response: Response,
    today: Today,
    c: Caller = USER,
) -> WasteRecorded:
    """201 with a new record; 200 when the same record (same ``key``, same content) was sent
    before; 409 when the key was used for another record; 422 bad input (nothing written)."""
    fields = body.model_dump()
    row, created = actions.record_waste(
        c.session, c.principal, fields.pop("nhs_number"), today=today, **fields
    )
    response.status_code = 201 if created else 200
    return WasteRecorded(id=row.id, created=created, not_on_record=row.not_on_record)


@router.get("/api/carehomes/waste", response_model=WasteFigures)
def waste(
    today: Today,
    as_of: date | None = Query(None, description="the day the figures run to; default today"),
    c: Caller = USER,
) -> WasteFigures:
    """Supplied vs administered vs returned/destroyed per home, medicine and month (the two
    complete months before ``as_of`` and its own month), cost at dm+d prices, totals by home,
    PCN and ICS, the stop-ordering candidates and the records of returns and destruction."""
    day = as_of or today
    if day > today:
        raise HTTPException(422, "as_of cannot be in the future")
    view = actions.waste_view(c.session, c.principal, day)
    return WasteFigures(
        as_of=day,
        months=view.months,
        medicines=[
            MedicineMonthOut(
                home=m.home,
                medicine=m.medicine,
                name=m.name,
                month=m.month,
                supplied=m.supplied,
                administered=m.administered,
                returned=m.returned,
                destroyed=m.destroyed,
                unit=m.unit,
                price_pence_per_unit=m.price_pence,
                cost_pounds=None if m.cost_pence is None else round(m.cost_pence / 100, 2),
                supplies=m.supplies,
            )
            for m in view.medicines
        ],
        totals=[
            WasteTotalOut(
                level=level,
                code=code,
                wasted_items=t.wasted_items,
                cost_pounds=t.cost_pounds,
                unpriced_items=t.unpriced_items,
            )
            for level, by_code in view.totals.items()
            for code, t in sorted(by_code.items())
        ],
        stop_ordering=view.stop,
        records=[
            WasteRecordOut(
                id=r.id,
                nhs_number=nhs,
                home=r.care_home_code,
                medicine_code=r.medicine_code,
                medicine_name=r.medicine_name,
                quantity=r.quantity,
                unit=r.unit,
                disposal=r.disposal,
                disposed_on=r.disposed_on,
                reason=r.reason,
                key=r.idempotency_key,
                not_on_record=r.not_on_record,
            )
            for nhs, r in view.records
        ],
    )
