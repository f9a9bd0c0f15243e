"""Care-home actions on patient data: every one access-checked through the policy and audited.

Ingest: each administration's resident must be a patient a principal may see (for care-home
staff the policy's "care-home" relationship: residents of their own home only) AND a resident
of the home the file comes from; anything else refuses the whole batch, nothing written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ipmo.carehomes.administrations import Administration
from ipmo.carehomes.findings import Finding, all_findings
from ipmo.carehomes.models import AdministrationRow
from ipmo.patients import MedicationIssue, Patient
from ipmo.security import ROLES, PatientAccessDenied, Principal
from ipmo.security.access import check_patient_access

# a clock a few minutes ahead on the home's tablet is not a future dose; more is (ipmo's choice)
FUTURE_TOLERANCE = timedelta(minutes=5)
# "on the record": issued by the GP practice within the last year (ipmo's choice; the One
# Medication Record's current list would be better once every resident has one)
ON_RECORD_WINDOW = timedelta(days=365)


class IngestError(ValueError):
    """A batch that cannot be accepted; ``where`` names the administration."""

    def __init__(self, message: str, where: str | None = None) -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where


@dataclass
class IngestResult:
    added: int = 0
    unchanged: int = 0
    not_on_record: list[str] = field(default_factory=list)  # administration identifiers


def _naive_utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(tzinfo=None)


def _on_record_codes(session: Session, patient_id: int, as_of: datetime) -> set[str]:
    since = (as_of - ON_RECORD_WINDOW).date()
    rows = session.execute(
        select(MedicationIssue.dmd_code, MedicationIssue.vmp_code, MedicationIssue.vtm_code).where(
            MedicationIssue.patient_id == patient_id, MedicationIssue.issue_date >= since
        )
    )
    return {c for row in rows for c in row if c}


def ingest_administrations(
    session: Session,
    principal: Principal,
    home_code: str,
    administrations: Sequence[Administration],
    source_format: str,
    now: datetime,
) -> IngestResult:
    """Store a batch of administrations for one care home; idempotent on (resident, identifier).

    Refused as a whole (IngestError / PatientAccessDenied, nothing stored): an administration
    without an NHS number, for a patient the principal may not see or who is not a resident of
    ``home_code``, or timed in the future. A dose of a medicine not on the resident's record is
    stored and flagged."""
    patients: dict[str, Patient] = {}
    for adm in administrations:
        where = f"administration {adm.identifier}"
        if adm.nhs_number is None:
            raise IngestError("no NHS number for the resident (subject.identifier)", where)
        if adm.at > now + FUTURE_TOLERANCE or (
            adm.scheduled_at is not None and adm.scheduled_at > now + timedelta(days=1)
        ):
            raise IngestError("timed in the future", where)
        if adm.nhs_number not in patients:
            try:
                patient = check_patient_access(
                    session, principal, adm.nhs_number, action="carehomes.administrations.write"
                )
            except PatientAccessDenied:
                raise IngestError("not a resident you may record for", where) from None
            if patient.care_home_code != home_code:
                raise IngestError(f"the resident is not at care home {home_code}", where)
            patients[adm.nhs_number] = patient
    result = IngestResult()
    on_record: dict[int, set[str]] = {}
    for adm in administrations:
        patient = patients[adm.nhs_number or ""]
        exists = session.scalar(
            select(AdministrationRow.id).where(
                AdministrationRow.patient_id == patient.id,
                AdministrationRow.identifier == adm.identifier,
            )
        )
        if exists is not None:
            result.unchanged += 1
            continue
        if patient.id not in on_record:
            on_record[patient.id] = _on_record_codes(session, patient.id, now)
        flagged = adm.medicine_code not in on_record[patient.id]
        if flagged:
            result.not_on_record.append(adm.identifier)
        session.add(
            AdministrationRow(
                patient_id=patient.id,
                care_home_code=home_code,
                identifier=adm.identifier,
                medicine_code=adm.medicine_code,
                medicine_name=adm.medicine_name,
                outcome=adm.outcome,
                at=_naive_utc(adm.at),
                scheduled_at=_naive_utc(adm.scheduled_at) if adm.scheduled_at else None,
                reason=adm.reason,
                dose_value=adm.dose_value,
                dose_unit=adm.dose_unit,
                route=adm.route,
                prn=adm.prn,
                covert=adm.covert,
                not_on_record=flagged,
                source_format=source_format,
            )
        )
        session.flush()  # a duplicate identifier within one batch is then seen as unchanged
        result.added += 1
    return result


def _as_administration(row: AdministrationRow, nhs_number: str) -> Administration:
    return Administration(
        identifier=row.identifier,
        nhs_number=nhs_number,
        medicine_code=row.medicine_code,
        medicine_name=row.medicine_name,
        outcome=row.outcome,
        at=row.at.replace(tzinfo=UTC),
        scheduled_at=row.scheduled_at.replace(tzinfo=UTC) if row.scheduled_at else None,
        reason=row.reason,
        dose_value=row.dose_value,
        dose_unit=row.dose_unit,
        route=row.route,
        prn=row.prn,
        covert=row.covert,
    )


def resident_findings(
    session: Session,
    principal: Principal,
    nhs_number: str,
    as_of: datetime,
    best_interests_for: set[str] | None = None,
) -> list[Finding]:
    """The findings over one resident's administrations in the 28 days to ``as_of`` (access
    checked and audited). PRN medicines "on record" are those the eMAR has marked PRN."""
    patient = check_patient_access(session, principal, nhs_number, action="carehomes.findings.read")
    since = _naive_utc(as_of) - timedelta(days=28)
    rows = session.scalars(
        select(AdministrationRow)
        .where(AdministrationRow.patient_id == patient.id, AdministrationRow.at > since)
        .order_by(AdministrationRow.at)
    ).all()
    admins = [_as_administration(r, patient.nhs_number) for r in rows]
    first_prn = session.execute(
        select(
            AdministrationRow.medicine_code, AdministrationRow.medicine_name, AdministrationRow.at
        )
        .where(AdministrationRow.patient_id == patient.id, AdministrationRow.prn.is_(True))
        .order_by(AdministrationRow.at)
    ).all()
    prn_on_record: dict[str, tuple[str, date]] = {}
    for code, name, at in first_prn:
        prn_on_record.setdefault(code, (name, at.date()))
    return all_findings(admins, as_of, prn_on_record, best_interests_for)


def emar_feed(home_code: str) -> Principal:
    """The principal a home's eMAR import acts as: care-home staff of that home, so the policy's
    care-home relationship limits it to the home's residents."""
    return Principal(
        0, f"system:emar-import@{home_code}", "eMAR import", ROLES["care-home-staff"], home_code
    )
