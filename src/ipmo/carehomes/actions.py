"""Care-home actions on patient data: every one access-checked through the policy and audited.

Ingest: each administration's resident must be a patient a principal may see (for care-home
staff the policy's "care-home" relationship: residents of their own home only) AND a resident
of the home the file comes from; anything else refuses the whole batch, nothing written.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ipmo.carehomes.administrations import ROW_FIELDS, Administration, Row
from ipmo.carehomes.findings import Finding, all_findings
from ipmo.carehomes.ingest import IngestError, IngestResult, check_rows, store_rows
from ipmo.carehomes.models import AdministrationRow, ImportRow
from ipmo.security import ROLES, PatientAccessDenied, Principal
from ipmo.security.access import check_patient_access


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
    session: Session,
    principal: Principal,
    nhs_number: str,
    as_of: datetime,
    best_interests_for: set[str] | None = None,
) -> list[Finding]:
    """The findings over one resident's administrations in the 28 days to ``as_of`` (access
    checked and audited). PRN medicines "on record" are those the eMAR has marked PRN."""
    patient = check_patient_access(session, principal, nhs_number, action="carehomes.findings.read")
    since = as_of.astimezone(UTC).replace(tzinfo=None) - timedelta(days=28)
    stored = [c for c in ROW_FIELDS if c != "nhs_number"]
    rows = session.execute(
        select(*(getattr(AdministrationRow, c) for c in stored))
        .where(
            AdministrationRow.patient_id == patient.id,
            # the round index finds the window; a dose is never given a day before its round
            AdministrationRow.dose_round > since - timedelta(days=1),
            AdministrationRow.at > since,
        )
        .order_by(AdministrationRow.at)
    ).all()
    admins = [Administration.from_row((r[0], patient.nhs_number, *r[1:])) for r in rows]
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
