"""Care-home actions on patient data: every one access-checked through the policy and audited.

Ingest: each administration's resident must be a patient a principal may see (for care-home
staff the policy's "care-home" relationship: residents of their own home only) AND a resident
of the home the file comes from; anything else refuses the whole batch, nothing written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ipmo import hooks, records, review
from ipmo.carehomes.administrations import Administration, Row
from ipmo.carehomes.evidence import findings_for
from ipmo.carehomes.figures import HomeFigures, home_figures
from ipmo.carehomes.findings import LOOKBACK, Finding
from ipmo.carehomes.ingest import IngestError, IngestResult, check_rows, store_rows
from ipmo.carehomes.models import (
    AdministrationRow,
    BestInterestsDecision,
    CarehomeStaff,
    ImportRow,
    MedicationIncident,
    MedicineWaste,
    Movement,
    StaffTraining,
)
from ipmo.carehomes.movements import (
    ADMITTED,
    FIRST_LOOK,
    HOME,
    KINDS,
    REGISTRATION,
    Change,
    medication_changes,
    registration_changes,
)
from ipmo.carehomes.prn import PrnStatus, prn_status
from ipmo.carehomes.staff import (
    CATEGORIES,
    COMPETENCY,
    HARM,
    TRAINING,
    Competency,
    competencies,
)
from ipmo.carehomes.waste import (
    DISPOSALS,
    LOW_USE_MONTHS,
    MedicineMonth,
    Resident,
    StopCandidate,
    WasteTotal,
    by_home,
    emar_history,
    month_start,
    months_before,
    resident_months,
    stop_ordering,
    totals,
)
from ipmo.carehomes.waste import (
    residents as waste_residents,
)
from ipmo.organisations import Organisation
from ipmo.patients import Admission, MedicationIssue, Observation, Patient
from ipmo.security import ROLES, PatientAccessDenied, Principal
from ipmo.security.access import audit_event, audit_refusal, check_patient_access
from ipmo.security.policy import visible_patients_filter


def ingest_administrations(
    session: Session,
    principal: Principal,
    home_code: str,
    administrations: Sequence[Administration],
    source_format: str,
    now: datetime,
) -> IngestResult:
    """:func:`ingest_rows` for parsed administrations (a FHIR resource, a small batch)."""
    rows = [a.row() for a in administrations]
    return ingest_rows(session, principal, home_code, rows, source_format, now)


def ingest_rows(
    session: Session,
    principal: Principal,
    home_code: str,
    rows: Sequence[Row],
    source_format: str,
    now: datetime,
) -> IngestResult:
    """Store a batch of administrations for one care home; idempotent on (resident, identifier)
    and on (resident, medicine, dose round, outcome).

    Refused as a whole (IngestError, nothing stored): an administration without an NHS number,
    for a patient the principal may not see or who is not a resident of ``home_code`` (the same
    refusal either way, audited), or timed in the future. Each resident is access-checked and
    audited once. A dose of a medicine not on the resident's record is stored and flagged."""
    patient_ids: dict[str, int] = {}
    for nhs in sorted(check_rows(rows, now)):
        try:
            patient = check_patient_access(
                session, principal, nhs, action="carehomes.administrations.write"
            )
        except PatientAccessDenied:
            where = next(f"administration {r[0]}" for r in rows if r[1] == nhs)
            raise IngestError("not a resident you may record for", where) from None
        if patient.care_home_code != home_code:
            where = next(f"administration {r[0]}" for r in rows if r[1] == nhs)
            raise IngestError(f"the resident is not at care home {home_code}", where)
        patient_ids[nhs] = patient.id
    batch = ImportRow(
        care_home_code=home_code,
        source_format=source_format,
        sent_by=principal.username,
        received_at=now.astimezone(UTC).replace(tzinfo=None),
    )
    session.add(batch)
    session.flush()
    return store_rows(session, home_code, rows, patient_ids, batch, now)


def resident_findings(
    session: Session, principal: Principal, nhs_number: str, as_of: datetime
) -> list[Finding]:
    """The findings over one resident's administrations in the 6 weeks to ``as_of`` (access
    checked and audited), with the home's best-interests decisions and the GP record's dementia
    diagnosis. PRN medicines "on record" are those the eMAR has marked PRN."""
    patient = check_patient_access(session, principal, nhs_number, action="carehomes.findings.read")
    return findings_for(session, [patient.id], as_of)[patient.id]


class BestInterestsError(ValueError):
    """A best-interests decision that cannot be recorded (message names the field)."""


def record_best_interests(
    session: Session,
    principal: Principal,
    nhs_number: str,
    *,
    medicine_code: str,
    medicine_name: str,
    decided_on: date,
    review_by: date,
    participants: str,
    today: date,
) -> BestInterestsDecision:
    """Record a best-interests decision for covert administration of one medicine (NICE SC1
    1.14): made no later than today, to be reviewed after it, naming who took part."""
    if not medicine_code.strip() or not medicine_name.strip():
        raise BestInterestsError("medicine: Choose the medicine the decision covers")
    if decided_on > today:
        raise BestInterestsError(
            "decided_on: The date of the decision must be today or in the past"
        )
    if review_by <= decided_on:
        raise BestInterestsError(
            "review_by: The review date must be after the date of the decision"
        )
    if not participants.strip():
        raise BestInterestsError("participants: Enter who took part in the decision")
    patient = check_patient_access(
        session, principal, nhs_number, action="carehomes.best_interests.write"
    )
    decision = BestInterestsDecision(
        patient_id=patient.id,
        medicine_code=medicine_code.strip(),
        medicine_name=medicine_name.strip()[:255],
        decided_on=decided_on,
        review_by=review_by,
        participants=participants.strip()[:500],
        recorded_by=principal.username,
    )
    session.add(decision)
    session.flush()
    return decision


def emar_feed(home_code: str) -> Principal:
    """The principal a home's eMAR import acts as: care-home staff of that home, so the policy's
    care-home relationship limits it to the home's residents."""
    return Principal(
        0, f"system:emar-import@{home_code}", "eMAR import", ROLES["care-home-staff"], home_code
    )


@dataclass
class ResidentRow:
    nhs_number: str
    name: str
    home_code: str
    home_name: str
    findings: list[Finding]


def residents_overview(
    session: Session, principal: Principal, as_of: datetime, limit: int = 500
) -> list[ResidentRow]:
    """The care-home residents the policy lets the principal see (care-home staff: their own
    home; a PCN pharmacist: residents registered with the PCN's practices, across homes — the
    MOCH caseload), each with their findings; audited as one list entry."""
    living = waste_residents(session, visible_patients_filter(principal, session))
    homes = home_names(session, {r.home for r in living})
    rows = sorted(living, key=lambda r: homes.get(r.home, r.home))[:limit]  # stable: by name
    found = findings_for(session, [r.patient_id for r in rows], as_of)
    audit_event(session, principal, "carehomes.residents.list", detail={"count": len(rows)})
    return [
        ResidentRow(r.nhs_number, r.name, r.home, homes.get(r.home, r.home), found[r.patient_id])
        for r in rows
    ]


def home_names(session: Session, codes: set[str]) -> dict[str, str]:
    """ODS code → the organisation's name (a care home's, a trust's)."""
    query = select(Organisation.ods_code, Organisation.name)
    return dict(session.execute(query.where(Organisation.ods_code.in_(sorted(codes)))).all())


def own_residents(session: Session, principal: Principal) -> list[Resident]:
    """The living residents of the principal's home (its own staff only), for a form's list of
    residents; audited as one list entry."""
    home = _home_of(principal)
    found = waste_residents(session, visible_patients_filter(principal, session))
    audit_event(session, principal, "carehomes.residents.list", detail={"count": len(found)})
    return [r for r in found if r.home == home]


def best_interests_decisions(
    session: Session, principal: Principal, nhs_number: str
) -> list[BestInterestsDecision]:
    patient = check_patient_access(
        session, principal, nhs_number, action="carehomes.best_interests.read"
    )
    return list(
        session.scalars(
            select(BestInterestsDecision)
            .where(BestInterestsDecision.patient_id == patient.id)
            .order_by(BestInterestsDecision.decided_on.desc())
        )
    )


def homes_figures(session: Session, principal: Principal, as_of: datetime) -> list[HomeFigures]:
    """Per-home figures (aggregates, small numbers withheld); audited."""
    audit_event(session, principal, "carehomes.homes.view")
    return home_figures(session, as_of)


T = TypeVar("T", CarehomeStaff, StaffTraining, MedicationIncident, MedicineWaste, Movement)


class NotYourHome(PermissionError):
    """The staff register and incidents of a care home are its own staff's to keep."""


class StaffInputError(ValueError):
    """A staff, training or incident record that cannot be accepted (message names the field)."""


def _home_of(principal: Principal) -> str:
    if principal.role.code != "care-home-staff":
        raise NotYourHome("only the care home's own staff keep its staff register and incidents")
    return principal.org_code


def register_staff(
    session: Session, principal: Principal, name: str, job_title: str
) -> CarehomeStaff:
    """Add a member of the principal's care home who administers medicines (audited)."""
    home = _home_of(principal)
    if not name.strip():
        raise StaffInputError("name: Enter the full name")
    if not job_title.strip():
        raise StaffInputError("job_title: Enter the job title")
    member = CarehomeStaff(care_home_code=home, name=name.strip()[:200], job_title=job_title[:100])
    return _kept(session, principal, member, "carehomes.staff.write")


def record_training(
    session: Session,
    principal: Principal,
    staff_id: int,
    kind: str,
    completed_on: date,
    detail: str,
    today: date,
) -> StaffTraining:
    """Training completed or a competency assessment passed (NICE SC1 1.18); audited."""
    home = _home_of(principal)
    member = session.get(CarehomeStaff, staff_id)
    if member is None or member.care_home_code != home:
        raise StaffInputError("staff_id: Select a member of your home's staff")
    _one_of("kind", kind, (TRAINING, COMPETENCY), "training or a competency assessment")
    _not_future("completed_on", completed_on, today)
    record = StaffTraining(staff_id=staff_id, kind=kind, completed_on=completed_on)
    record.detail, record.recorded_by = detail.strip()[:255], principal.username
    return _kept(session, principal, record, "carehomes.training.write")


def staff_competency(session: Session, principal: Principal, today: date) -> list[Competency]:
    """The principal's home's staff with training and competency status on ``today``."""
    home = _home_of(principal)
    audit_event(session, principal, "carehomes.staff.read")
    return competencies(session, [home], today)[home]


def record_incident(
    session: Session,
    principal: Principal,
    *,
    occurred_on: date,
    category: str,
    harm: str,
    description: str,
    today: date,
    nhs_number: str | None = None,
) -> MedicationIncident:
    """A medication incident at the principal's home, with category and harm (NRLS); the
    resident, when named, is access-checked (their own home only) and audited."""
    home = _home_of(principal)
    _one_of("category", category, CATEGORIES, "the category of the incident")
    _one_of("harm", harm, HARM, "the harm the incident caused")
    _not_future("occurred_on", occurred_on, today)
    if not description.strip():
        raise StaffInputError("description: Enter what happened")
    incident = MedicationIncident(care_home_code=home, occurred_on=occurred_on)
    incident.category, incident.harm = category, harm
    incident.description, incident.recorded_by = description.strip()[:1000], principal.username
    if nhs_number:  # the resident, access-checked (their own home only) and audited
        action = "carehomes.incident.write"
        incident.patient_id = check_patient_access(session, principal, nhs_number, action).id
    return _kept(session, principal, incident, "carehomes.incident.write")


def _one_of(field: str, value: str, allowed: Sequence[str], what: str) -> None:
    if value not in allowed:
        raise StaffInputError(f"{field}: Select {what} (one of {', '.join(allowed)})")


def _not_future(field: str, when: date, today: date) -> None:
    if when > today:
        raise StaffInputError(f"{field}: The date must be today or in the past")


def _own_resident(session: Session, principal: Principal, nhs_number: str, action: str) -> Patient:
    """A resident of the principal's own home (access-checked and audited under ``action``); a
    resident of another home is refused like any unrelated patient, and audited."""
    patient = check_patient_access(session, principal, nhs_number, action=action)
    if patient.care_home_code != principal.org_code:
        audit_refusal(session, principal, action, nhs_number)
        raise PatientAccessDenied(nhs_number)
    return patient


def _kept(session: Session, principal: Principal, row: T, action: str) -> T:
    """Store a home's record and audit it under ``action`` with its id."""
    session.add(row)
    session.flush()
    audit_event(session, principal, action, detail={"id": row.id})
    return row


# --- medicines returned or destroyed (issue 17: waste), and the waste figures -----------------


class WasteInputError(ValueError):
    """A waste record that cannot be accepted (message starts with the field's name)."""


class WasteConflict(ValueError):
    """The home's reference was used before for a different waste record."""


WASTE_FIELDS = ("nhs_number", "medicine_code", "medicine_name", "quantity", "unit", "disposal")


def record_waste(
    session: Session,
    principal: Principal,
    nhs_number: str,
    *,
    medicine_code: str,
    medicine_name: str,
    quantity: float,
    unit: str,
    disposal: str,
    disposed_on: date,
    reason: str,
    key: str,
    today: date,
) -> tuple[MedicineWaste, bool]:
    """Record medicines of one resident returned to the pharmacy or destroyed by the principal's
    home (its own staff only; the resident access-checked: a resident of another home is refused
    like any unrelated patient, and audited). Returns the record and whether it is new: the same
    ``key`` with the same content again is the same record; with other content it is refused
    (:class:`WasteConflict`). A medicine the GP record has not shown in a year is kept and flagged
    ``not_on_record``. Bad input raises :class:`WasteInputError` naming the field; nothing is
    written."""
    home = _home_of(principal)
    code, name, unit, reason, key = (
        medicine_code.strip(),
        medicine_name.strip(),
        unit.strip(),
        reason.strip(),
        key.strip(),
    )
    if not code:
        raise WasteInputError("medicine_code: Enter the medicine's dm+d code")
    if not code.isdigit() or len(code) > 20:
        raise WasteInputError("medicine_code: The dm+d code must be digits only")
    if not name:
        raise WasteInputError("medicine_name: Enter the medicine's name")
    if not quantity > 0 or quantity > 100_000:
        raise WasteInputError("quantity: Enter a quantity more than 0")
    if not unit:
        raise WasteInputError("unit: Enter the unit, for example tablet or mL")
    if disposal not in DISPOSALS:
        raise WasteInputError("disposal: Select returned to the pharmacy or destroyed")
    if disposed_on > today:
        raise WasteInputError("disposed_on: The date must be today or in the past")
    if not reason:
        raise WasteInputError("reason: Enter why the medicine was returned or destroyed")
    if not key:
        raise WasteInputError("key: Enter the home's reference for this record")
    patient = _own_resident(session, principal, nhs_number, "carehomes.waste.write")
    fields = {
        "medicine_code": code,
        "medicine_name": name[:255],
        "quantity": float(quantity),
        "unit": unit[:30],
        "disposal": disposal,
        "disposed_on": disposed_on,
        "reason": reason[:255],
    }
    earlier = session.scalar(
        select(MedicineWaste).where(
            MedicineWaste.care_home_code == home, MedicineWaste.idempotency_key == key[:100]
        )
    )
    if earlier is not None:
        same = earlier.patient_id == patient.id and all(
            getattr(earlier, f) == v for f, v in fields.items()
        )
        if not same:
            raise WasteConflict(f"key: reference {key} was used for another record")
        return earlier, False
    since = disposed_on - timedelta(days=365)
    on_record = session.scalar(
        select(func.count())
        .select_from(MedicationIssue)
        .where(MedicationIssue.patient_id == patient.id, MedicationIssue.issue_date >= since)
        .where(
            (MedicationIssue.dmd_code == code)
            | (MedicationIssue.vmp_code == code)
            | (MedicationIssue.vtm_code == code)
        )
    )
    row = MedicineWaste(
        care_home_code=home,
        patient_id=patient.id,
        idempotency_key=key[:100],
        not_on_record=not on_record,
        recorded_by=principal.username,
        **fields,
    )
    return _kept(session, principal, row, "carehomes.waste.write"), True


@dataclass
class WasteView:
    months: list[str]  # the complete months shown, oldest first, then the current one
    homes: dict[str, str]  # code → name
    medicines: list[MedicineMonth]  # per home, medicine and month
    totals: dict[str, dict[str, WasteTotal]]  # home | pcn | ics → name → total
    stop: list[StopCandidate]
    records: list[tuple[str, MedicineWaste]]  # (NHS number, record), newest first
    residents: list[Resident]  # whom the figures cover (names for the form and the lists)


def waste_view(session: Session, principal: Principal, as_of: date) -> WasteView:
    """Waste over the two complete months before ``as_of`` and the current month to it, for the
    residents the policy lets the principal see (a home's staff: their home; a MOCH / PCN
    pharmacist: the caseload across homes); the stop-ordering candidates; the home's records.
    Audited as one ``carehomes.waste.read`` entry."""
    residents = waste_residents(session, visible_patients_filter(principal, session))
    months = months_before(as_of, LOW_USE_MONTHS)
    first, end = month_start(months[0]), as_of + timedelta(days=1)
    cells = resident_months(session, residents, first, end)
    ids = [r.patient_id for r in residents]
    stop = stop_ordering(cells, residents, emar_history(session, ids, as_of), as_of)
    nhs_of = {r.patient_id: r.nhs_number for r in residents}
    records = session.scalars(
        select(MedicineWaste)
        .where(MedicineWaste.patient_id.in_(ids), MedicineWaste.disposed_on >= first)
        .order_by(MedicineWaste.disposed_on.desc(), MedicineWaste.id.desc())
    ).all()
    homes = home_names(session, {r.home for r in residents})
    audit_event(session, principal, "carehomes.waste.read", detail={"residents": len(residents)})
    return WasteView(
        [*months, f"{as_of.year:04d}-{as_of.month:02d}"],
        homes,
        by_home(cells.values()),
        totals(cells, residents),
        stop,
        [(nhs_of[r.patient_id], r) for r in records],
        residents,
    )


# --- residents' admissions, discharges and deaths; their medicines changed since the last
# hospital discharge or structured medication review; open reviews and referrals (item 1) ------

MOVEMENTS_DAYS = 90  # how far back the movements list looks (ipmo's: a quarter)


def registration_feed(home_code: str) -> Principal:
    """The principal the registration feed acts as at one home: care-home staff of that home,
    so the policy's care-home relationship limits it to the home's residents."""
    return Principal(
        0, f"system:registration@{home_code}", "Registration data", ROLES["care-home-staff"],
        home_code,
    )  # fmt: skip


def record_registration_changes(session: Session, today: date) -> dict[str, int]:
    """Record the admissions, discharges and deaths the registration data shows at every home
    since the last look (:func:`movements.registration_changes`); audited once per home with
    its counts. Returns the counts by kind."""
    homes = set(
        session.scalars(select(Patient.care_home_code).where(Patient.care_home_code.is_not(None)))
    ) | set(session.scalars(select(Movement.care_home_code)))
    counts = dict.fromkeys(KINDS, 0)
    for home in sorted(h for h in homes if h):
        principal = registration_feed(home)
        registered: dict[int, date | None] = {
            pid: died
            for pid, died in session.execute(
                select(Patient.id, Patient.date_of_death)
                .where(Patient.care_home_code == home)
                .where(visible_patients_filter(principal, session))
            )
        }
        held = session.execute(
            select(Movement.patient_id, Movement.kind, Movement.source, Movement.moved_on)
            .where(Movement.care_home_code == home)
            .order_by(Movement.id)  # the latest recorded is what we last knew
        ).all()
        latest = {pid: (kind, source) for pid, kind, source, _on in held}
        known = {(pid, kind, on) for pid, kind, _source, on in held}
        changes = [c for c in registration_changes(registered, latest, today) if c not in known]
        for pid, kind, on in changes:
            first = not held and kind == ADMITTED  # already there when we first looked
            session.add(
                Movement(
                    care_home_code=home, patient_id=pid, kind=kind, moved_on=on,
                    source=FIRST_LOOK if first else REGISTRATION, detail="",
                    recorded_by=principal.username,
                )
            )  # fmt: skip
            counts[kind] += 1
        if changes:
            by_kind = {k: sum(1 for c in changes if c[1] == k) for k in KINDS}
            audit_event(session, principal, "carehomes.movements.registration", detail=by_kind)
    session.flush()
    return counts


def record_movement(
    session: Session,
    principal: Principal,
    nhs_number: str,
    *,
    kind: str,
    moved_on: date,
    detail: str,
    today: date,
) -> tuple[Movement, bool]:
    """A resident admitted to, discharged from or died at the principal's home, as its staff
    record it (their own home's residents only; another home's refused like any unrelated
    patient, audited). The same movement again is the same record (returns it, not new)."""
    _home_of(principal)
    _one_of("kind", kind, KINDS, "admitted, discharged or died")
    _not_future("moved_on", moved_on, today)
    patient = _own_resident(session, principal, nhs_number, "carehomes.movements.write")
    same = session.scalar(
        select(Movement).where(
            Movement.patient_id == patient.id,
            Movement.care_home_code == principal.org_code,
            Movement.kind == kind,
            Movement.moved_on == moved_on,
        )
    )
    if same is not None:
        return same, False
    row = Movement(care_home_code=principal.org_code, patient_id=patient.id, kind=kind)
    row.moved_on, row.source, row.detail = moved_on, HOME, detail.strip()[:255]
    row.recorded_by = principal.username
    return _kept(session, principal, row, "carehomes.movements.write"), True


@dataclass(frozen=True)
class MovementRow:
    on: date
    kind: str  # admitted | discharged | died | hospital admission | hospital discharge
    source: str  # home | registration | hospital
    home: str
    nhs_number: str | None  # None: a former resident the user may no longer see
    name: str
    detail: str


def movements_view(
    session: Session, principal: Principal, today: date, days: int = MOVEMENTS_DAYS
) -> list[MovementRow]:
    """Admissions, discharges and deaths at the homes in the ``days`` to ``today``, and the
    residents' hospital stays, newest first. A home's staff: their home's movements, a former
    resident now elsewhere without their name (never a resident of another home); anyone else:
    the residents the policy lets them see. Audited as one ``carehomes.movements.read``."""
    since = today - timedelta(days=days)
    query = select(Movement).where(Movement.moved_on > since, Movement.moved_on <= today)
    query = query.where(Movement.source != FIRST_LOOK)
    staff = principal.role.code == "care-home-staff"
    if staff:
        query = query.where(Movement.care_home_code == principal.org_code)
    rows = list(session.scalars(query))
    who = select(
        Patient.id, Patient.nhs_number, Patient.given_name, Patient.family_name,
        Patient.care_home_code,
    )  # fmt: skip
    moved_or_resident = or_(
        Patient.id.in_({r.patient_id for r in rows}), Patient.care_home_code.is_not(None)
    )
    people = {
        pid: (nhs, f"{given} {family}", home)
        for pid, nhs, given, family, home in session.execute(
            who.where(moved_or_resident, visible_patients_filter(principal, session))
        )
    }
    out = []
    for r in rows:
        if r.patient_id not in people and not staff:
            continue  # a movement of a patient this user may not see
        nhs, name, _ = people.get(r.patient_id, (None, "A former resident", None))
        out.append(MovementRow(r.moved_on, r.kind, r.source, r.care_home_code, nhs, name, r.detail))
    residents = {pid: p for pid, p in people.items() if p[2] is not None}
    stays = session.scalars(
        select(Admission).where(
            Admission.patient_id.in_(residents),
            or_(
                Admission.admitted_on.between(since + timedelta(days=1), today),
                Admission.discharged_on.between(since + timedelta(days=1), today),
            ),
        )
    ).all()
    trusts = home_names(session, {stay.trust_code for stay in stays})  # ODS code → name
    for stay in stays:
        nhs, name, home = residents[stay.patient_id]
        for kind, on in (
            ("hospital admission", stay.admitted_on),
            ("hospital discharge", stay.discharged_on),
        ):
            if on is not None and since < on <= today:
                trust = trusts.get(stay.trust_code, stay.trust_code)
                out.append(MovementRow(on, kind, "hospital", home or "", nhs, name, trust))
    audit_event(session, principal, "carehomes.movements.read", detail={"count": len(out)})
    return sorted(out, key=lambda m: (m.on, m.name), reverse=True)


@dataclass
class ChangesSince:
    name: str  # the resident's, for the page's heading
    today: date
    since: date | None  # the later of the last hospital discharge and the last SMR
    because: str | None  # "hospital discharge" | "structured medication review"
    changes: list[Change] | None  # None: the resident has no One Medication Record
    open_reviews: list[dict]  # the review domain's interventions awaiting an outcome (Tasks)
    open_referrals: list[dict]  # the referrals domain's open referrals the user is party to
    prn: list[PrnStatus]  # the eMAR's medicines of the 6 weeks: PRN by prescription or eMAR


def changes_since(
    session: Session, principal: Principal, nhs_number: str, today: date
) -> ChangesSince:
    """One resident's medicines changed since their last hospital discharge or their last
    structured medication review, whichever is later (the GP record's SMR codes: the review
    domain's ``smr`` code set), from the One Medication Record's current list on that day and
    today (``records.current_medications``); their open review actions and referrals through
    those domains' hooks. Access-checked and audited (``carehomes.changes.read``)."""
    patient = check_patient_access(session, principal, nhs_number, action="carehomes.changes.read")
    discharged = session.scalar(
        select(func.max(Admission.discharged_on)).where(
            Admission.patient_id == patient.id, Admission.discharged_on <= today
        )
    )
    reviewed = session.scalar(
        select(func.max(Observation.effective_date)).where(
            Observation.patient_id == patient.id,
            Observation.effective_date <= today,
            (Observation.kind == "smr")
            | Observation.snomed_code.in_(sorted(review.codelist("smr"))),
        )
    )
    found = [
        (d, why)
        for d, why in (
            (discharged, "hospital discharge"),
            (reviewed, "structured medication review"),
        )
        if d
    ]
    since, because = max(found) if found else (None, None)
    now = records.current_medications(session, patient.id, today)
    changes = None
    if since is not None and now is not None:
        then = records.current_medications(session, patient.id, since) or []
        changes = medication_changes(then, now)
    t = AdministrationRow
    emar = {
        code: (name, bool(marked))
        for code, name, marked in session.execute(
            select(t.medicine_code, func.min(t.medicine_name), func.max(t.prn))
            .where(t.patient_id == patient.id)
            .where(t.dose_round > datetime(today.year, today.month, today.day) - LOOKBACK)
            .group_by(t.medicine_code)
        )
    }
    number = patient.nhs_number
    open_reviews = [
        t
        for tasks in hooks.offered("FHIR_TASKS")
        for t in tasks(session, principal, number)
        if t.get("status") in ("requested", "received", "accepted", "in-progress", "ready")
    ]
    referrals = [
        r
        for offered in hooks.offered("OPEN_REFERRALS")
        for r in offered(session, principal, number)
    ]
    name = f"{patient.given_name} {patient.family_name}"
    prn = prn_status(emar, now)
    return ChangesSince(name, today, since, because, changes, open_reviews, referrals, prn)
