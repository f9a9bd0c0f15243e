"""Store, resolve and publish the One Medication Record.

* ``ingest`` is idempotent (issue 4): the same content again changes nothing; a newer version of
  a source (higher ``meta.versionId``, or a later ``as_of`` when versions are absent) replaces the
  older one; an older one is refused. One source = (patient, organisation, system).
* The reconciled list is versioned by :class:`ReconciledRecord.version` (ETag ``W/"n"``).
  Decisions carry the ETag they were made against (If-Match); a compare-and-set update refuses a
  stale one with :class:`VersionConflict` so concurrent edits are refused, never lost.
* Callers own the transaction (``session_scope`` / the web request): on any error nothing is
  written. Access checks and audit belong to the caller (API / pages) before calling in here,
  except :func:`propose_change`, which other domains call and which audits itself.
* Other domains use two small functions, never the tables: :func:`current_medications` (the
  reconciled current list, e.g. for the Discharge Medicines Service, issue 5) and
  :func:`propose_change` (a pending change from a medication review, issue 6).
* A proposed change is acted on with :func:`accept_change` (applied to the list as amendments,
  :mod:`.amend`) or :func:`reject_change` (with a reason). Both name the version they were made
  against, act once only (a second attempt is :class:`ProposalResolved`, nothing changes), audit
  themselves and tell the proposing domain the outcome (:data:`OUTCOME_HOOKS`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from ipmo import hooks
from ipmo.organisations.models import Organisation
from ipmo.patients.identity import normalise_nhs_number
from ipmo.patients.models import Patient
from ipmo.records import amend
from ipmo.records.adapters.fhir import ORG_KIND_TO_SOURCE, UNKNOWN_KIND
from ipmo.records.canonical import MedItem, NotUsed, SourceDocument
from ipmo.records.models import (
    AmendmentKind,
    DecisionAction,
    ProposalStatus,
    ProposedChange,
    ProposedChangeKind,
    ReconciledRecord,
    ReconciliationDecision,
    RecordAmendment,
    SourceItem,
    SourceList,
)
from ipmo.records.normalise import DictionaryLike, normalise
from ipmo.records.publish import as_json, publish_bundle
from ipmo.records.reconcile import Reconciliation, reconcile
from ipmo.store import insert_if_absent, utcnow


class RecordError(ValueError):
    """Bad request about a record (unknown patient, discrepancy or action); safe to show."""


class PatientNotFound(RecordError):
    pass


class VersionConflict(RecordError):
    """The If-Match version is not the current one: someone else changed the record."""

    def __init__(self, current: int) -> None:
        super().__init__(f"the record has changed (now version {current}); reload and try again")
        self.current = current


class PreconditionRequired(RecordError):
    """A change was sent without the version it was made against (HTTP 428)."""


class ProposalNotFound(RecordError):
    """No proposed change with that id on this patient's record."""


class ProposalResolved(RecordError):
    """The proposed change was already accepted or rejected: acting on it again changes nothing."""

    def __init__(self, change: ProposedChange) -> None:
        when = change.resolved_at.date().isoformat() if change.resolved_at else "earlier"
        super().__init__(
            f"this proposed change was already {change.status} by {change.resolved_by} on "
            f"{when}; nothing was changed"
        )
        self.status = change.status


def etag(version: int) -> str:
    return f'W/"{version}"'


def parse_etag(value: str | None) -> int | None:
    if not value:
        return None
    text = value.strip()
    text = text.removeprefix("W/").strip('"')
    return int(text) if text.isdigit() else None


@dataclass(frozen=True)
class IngestResult:
    action: str  # created | replaced | unchanged
    source_list_id: int
    version: int  # the reconciled record's version afterwards


def _patient(session: Session, nhs_number: str) -> Patient:
    number = normalise_nhs_number(nhs_number)
    patient = session.scalar(select(Patient).where(Patient.nhs_number == number))
    if patient is None:
        raise PatientNotFound("no patient with that NHS number is registered in ipmo")
    return patient


def _record(session: Session, patient_id: int) -> ReconciledRecord:
    """The patient's reconciled record, made at version 1 on first use. Two requests making it at
    once (two users deciding on a record nobody has written yet) get the one row: the insert
    does nothing when the other's is there (found by the load run: a 500 on the unique key)."""
    query = select(ReconciledRecord).where(ReconciledRecord.patient_id == patient_id)
    rec = session.scalar(query)
    if rec is None:
        dialect = session.get_bind().dialect.name
        session.execute(
            insert_if_absent(
                dialect, ReconciledRecord, patient_id=patient_id, version=1, updated_at=utcnow()
            )
        )
        rec = session.scalars(query.execution_options(populate_existing=True)).one()
    return rec


def _bump(session: Session, rec: ReconciledRecord, expected: int | None = None) -> int:
    """Compare-and-set the version (``expected`` = what the writer read)."""
    current = rec.version if expected is None else expected
    result = session.execute(
        update(ReconciledRecord)
        .where(ReconciledRecord.id == rec.id, ReconciledRecord.version == current)
        .values(version=current + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", None) != 1:  # a CursorResult for an UPDATE
        session.refresh(rec)
        raise VersionConflict(rec.version)
    session.refresh(rec)
    return rec.version


def _newer(doc: SourceDocument, existing: SourceList) -> bool | None:
    """True newer, False older, None when it cannot be told (then the new content wins)."""
    a, b = doc.resource_version, existing.resource_version
    if a and b and a.isdigit() and b.isdigit() and a != b:
        return int(a) > int(b)
    if doc.as_of and existing.as_of and doc.as_of != existing.as_of:
        return doc.as_of > existing.as_of
    return None


# What a stored source line keeps of a MedItem: what the source said and its provenance. These
# are read back; the dm+d mapping (vmp, vtm, mapping) is stored for queries but recomputed by
# normalise() on every read.
_KEPT = (
    "name", "status", "code", "code_system", "dose_text", "dosage", "route", "form", "category",
    "authored_on", "last_issued", "end_date", "prescriber_type", "resource_type", "resource_id",
    "resource_version", "status_reason", "date_source", "supply_days", "supply_basis",
)  # fmt: skip
# MedItem fields whose SourceItem column has another name
_COLUMN = {"code": "dmd_code", "vmp": "vmp_code", "vtm": "vtm_code"}
# text a source may send longer than its column holds (empty text is stored as NULL)
_CUT = {"dose_text": 500, "form": 60, "status_reason": 255}


def _row(item: MedItem) -> SourceItem:
    values = {f: getattr(item, f) for f in (*_KEPT, "vmp", "vtm", "mapping")}
    values["name"] = item.name[:255]
    for f, length in _CUT.items():
        values[f] = (values[f] or None) and values[f][:length]
    return SourceItem(**{_COLUMN.get(f, f): value for f, value in values.items()})


NOT_USED = "not-used"  # SourceItem.status of a line kept only to show why it is not used


def _not_used_row(entry: NotUsed) -> SourceItem:
    resource_type, _, resource_id = (entry.resource or "").partition("/")
    return SourceItem(
        name=(entry.name or "(no name)")[:255],
        mapping="unmapped",
        status=NOT_USED,
        status_reason=entry.reason[:255],
        resource_type=resource_type[:40] or None,
        resource_id=resource_id[:100] or None,
    )


def settle_kind(session: Session, doc: SourceDocument) -> None:
    """The organisations table says what an organisation is; it wins over what the content
    suggests (not over what the caller stated). A source whose kind nobody can tell is refused
    and the caller asked to state it (issue 13 item 5)."""
    if doc.kind_reason and doc.kind_reason.startswith("stated"):
        return
    org_kind = session.scalar(
        select(Organisation.kind).where(Organisation.ods_code == doc.source_org_code)
    )
    if org_kind in ORG_KIND_TO_SOURCE:
        doc.source_kind = ORG_KIND_TO_SOURCE[org_kind]
        doc.kind_reason = f"{doc.source_org_code} is a {org_kind} in the organisations table"
    elif doc.source_kind == UNKNOWN_KIND:
        raise RecordError(
            f"cannot tell what kind of source this is ({doc.kind_reason}); state it "
            "(source_kind: gp, pharmacy, hospital or specialist)"
        )


def ingest(session: Session, doc: SourceDocument, *, nhs_number: str | None = None) -> IngestResult:
    """Store one source's list (see module doc for idempotency and versions)."""
    number = doc.nhs_number or nhs_number
    if not number:
        raise RecordError("the source does not identify the patient by NHS number")
    if doc.nhs_number and nhs_number and normalise_nhs_number(nhs_number) != doc.nhs_number:
        raise RecordError("the source is about a different patient than the one addressed")
    settle_kind(session, doc)
    patient = _patient(session, number)
    rec = _record(session, patient.id)
    existing = session.scalar(
        select(SourceList).where(
            SourceList.patient_id == patient.id,
            SourceList.source_org_code == doc.source_org_code,
            SourceList.source_system == doc.source_system,
        )
    )
    if existing is not None:
        if existing.content_hash == doc.content_hash:
            return IngestResult("unchanged", existing.id, rec.version)
        if _newer(doc, existing) is False:
            raise RecordError(
                "an older version of this source was sent; the stored one is newer and is kept"
            )
        existing.items.clear()
        session.flush()
        target, action = existing, "replaced"
    else:
        target = SourceList(patient_id=patient.id, content_hash=doc.content_hash)
        session.add(target)
        action = "created"
    target.source_kind = doc.source_kind
    target.source_org_code = doc.source_org_code
    target.source_system = doc.source_system
    target.resource_id = doc.resource_id
    target.resource_version = doc.resource_version
    target.content_hash = doc.content_hash
    target.as_of = doc.as_of
    target.fhir_version = doc.fhir_version
    target.kind_reason = (doc.kind_reason or None) and doc.kind_reason[:200]
    target.received_at = utcnow()
    target.items.extend(_row(i) for i in doc.items)
    target.items.extend(_not_used_row(n) for n in doc.not_used)
    session.flush()
    return IngestResult(action, target.id, _bump(session, rec))


# a stored line's columns, labelled with the MedItem fields they fill
_ITEM_COLUMNS = tuple(getattr(SourceItem, _COLUMN.get(f, f)).label(f) for f in _KEPT)


def load_sources(session: Session, patient_id: int) -> list[SourceDocument]:
    """A patient's stored sources as :class:`SourceDocument`s (two plain column queries: a
    record read is on the API's hot path, so no ORM objects are built)."""
    lists = session.execute(
        select(
            SourceList.id,
            SourceList.source_kind,
            SourceList.source_org_code,
            SourceList.source_system,
            SourceList.resource_id,
            SourceList.resource_version,
            SourceList.as_of,
            SourceList.fhir_version,
            SourceList.content_hash,
            SourceList.kind_reason,
        )  # fmt: skip
        .where(SourceList.patient_id == patient_id)
        .order_by(SourceList.id)
    ).all()
    if not lists:
        return []
    docs: dict[int, SourceDocument] = {}
    for row in lists:
        docs[row.id] = SourceDocument(
            source_kind=row.source_kind, source_org_code=row.source_org_code,
            source_system=row.source_system, items=[], resource_id=row.resource_id,
            resource_version=row.resource_version, as_of=row.as_of,
            fhir_version=row.fhir_version, content_hash=row.content_hash,
            kind_reason=row.kind_reason,
        )  # fmt: skip
    rows = session.execute(
        select(SourceItem.source_list_id, *_ITEM_COLUMNS)
        .where(SourceItem.source_list_id.in_(list(docs)))
        .order_by(SourceItem.source_list_id, SourceItem.id)
    ).all()
    for list_id, *kept in rows:
        line = dict(zip(_KEPT, kept, strict=True))
        if line["status"] == NOT_USED:
            rid = line["resource_id"]
            resource = f"{line['resource_type']}/{rid}" if rid else None
            reason = line["status_reason"] or "not used"
            docs[list_id].not_used.append(NotUsed(reason, resource, line["name"]))
            continue
        docs[list_id].items.append(MedItem(**line))
    return list(docs.values())


@dataclass
class RecordView:
    nhs_number: str
    version: int
    reconciliation: Reconciliation
    sources: list[SourceDocument]
    decisions: dict[str, dict[str, Any]]  # latest decision per discrepancy id
    proposals: list[dict[str, Any]] = field(default_factory=list)  # pending proposed changes
    resolved: list[dict[str, Any]] = field(default_factory=list)  # accepted / rejected ones
    amendments: list[dict[str, Any]] = field(default_factory=list)  # with their state here

    @property
    def etag(self) -> str:
        return etag(self.version)

    @property
    def open_ids(self) -> set[str]:
        closed = {k for k, d in self.decisions.items() if d["action"] != DecisionAction.NEEDS_GP}
        return {d.id for d in self.reconciliation.discrepancies if d.id not in closed}

    def to_json(self) -> dict[str, Any]:
        body = as_json(
            self.reconciliation, self.nhs_number, decisions=self.decisions, sources=self.sources
        )
        body["version"] = self.version
        body["proposed_changes"] = self.proposals
        body["resolved_changes"] = self.resolved
        body["amendments"] = self.amendments
        open_ids = self.open_ids  # once: each discrepancy id is a hash
        for d in body["discrepancies"]:
            d["open"] = d["id"] in open_ids
        return body

    def fhir(self) -> dict[str, Any]:
        return publish_bundle(
            self.reconciliation, self.nhs_number, open_ids=self.open_ids, version=self.version
        )


def source_list_meta(session: Session, patient_id: int) -> list[tuple[int, datetime]]:
    """``(id, received_at)`` of a patient's stored sources, in :func:`load_sources` order (the
    FHIR source lines are identified and dated by them)."""
    rows = session.execute(
        select(SourceList.id, SourceList.received_at)
        .where(SourceList.patient_id == patient_id)
        .order_by(SourceList.id)
    ).all()
    return [(r.id, r.received_at) for r in rows]


def nhs_number_of_source_list(session: Session, list_id: int) -> str | None:
    """The NHS number of the patient a stored source belongs to (``None``: no such source)."""
    return session.scalar(
        select(Patient.nhs_number)
        .join(SourceList, SourceList.patient_id == Patient.id)
        .where(SourceList.id == list_id)
    )


def get_record(
    session: Session, patient: Patient | str, index_date: date, dictionary: DictionaryLike
) -> RecordView:
    """The patient's record as of ``index_date``; ``patient`` is the row the caller's access
    check already loaded (one query fewer on every read), or an NHS number."""
    if not isinstance(patient, Patient):
        patient = _patient(session, patient)
    rec = session.scalar(
        select(ReconciledRecord)
        .where(ReconciledRecord.patient_id == patient.id)
        .options(selectinload(ReconciledRecord.decisions))
    )
    docs = load_sources(session, patient.id)
    for doc in docs:
        normalise(doc.items, dictionary)
    result = reconcile(docs, index_date)
    decisions: dict[str, dict[str, Any]] = {}
    for d in rec.decisions if rec else []:
        decisions[d.discrepancy_id] = {
            "action": d.action,
            "source": d.source_label,
            "reason": d.reason,
            "by": d.decided_by,
            "at": d.decided_at.isoformat(),
            "version": d.record_version,
        }
    for line in result.lines:  # a "stop" decision on a line's discrepancy stops the line
        for disc in result.discrepancies:
            if (
                disc.key == line.key
                and decisions.get(disc.id, {}).get("action") == DecisionAction.STOP
            ):
                line.status = "stopped"
    amendments: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    resolved: list[dict[str, Any]] = []
    if rec is not None:
        rows = _amendment_rows(session, rec.id)
        states = amend.apply(result, docs, [_amendment(r) for r in rows], dictionary)
        amendments = [
            _amendment_json(r) | {"state": st} for r, st in zip(rows, states, strict=True)
        ]
        for change in _proposals(session, rec.id):
            (pending if change["status"] == ProposalStatus.PENDING else resolved).append(change)
    return RecordView(
        patient.nhs_number,
        rec.version if rec else 1,
        result,
        docs,
        decisions,
        pending,
        resolved,
        amendments,
    )


def decide(
    session: Session,
    nhs_number: str,
    discrepancy_id: str,
    *,
    action: str,
    reason: str,
    decided_by: str,
    if_match: str | None,
    index_date: date,
    dictionary: DictionaryLike,
    source_label: str | None = None,
) -> int:
    """Record a decision on an open discrepancy; returns the new version."""
    if action not in DecisionAction.ALL:
        raise RecordError(f"action must be one of {', '.join(DecisionAction.ALL)}")
    if not reason or not reason.strip():
        raise RecordError("a decision needs a reason")
    expected = parse_etag(if_match)
    if expected is None:
        raise RecordError("If-Match with the record's ETag is required to change it")
    view = get_record(session, nhs_number, index_date, dictionary)
    ids = {d.id: d for d in view.reconciliation.discrepancies}
    if discrepancy_id not in ids:
        raise RecordError("no such discrepancy on this record")
    if action == DecisionAction.CORRECT_SOURCE and source_label not in ids[discrepancy_id].sources:
        raise RecordError("correct_source must name one of the discrepancy's sources")
    patient = _patient(session, nhs_number)
    rec = _record(session, patient.id)
    new_version = _bump(session, rec, expected)
    session.add(
        ReconciliationDecision(
            record_id=rec.id,
            discrepancy_id=discrepancy_id,
            action=action,
            source_label=source_label,
            reason=reason.strip()[:2000],
            decided_by=decided_by[:100],
            record_version=new_version,
        )
    )
    session.flush()
    return new_version


def proposal_json(p: ProposedChange) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": p.id,
        "kind": p.kind,
        "medicine": p.medicine,
        "dmd_code": p.dmd_code,
        "detail": p.detail,
        "status": p.status,
        "origin": p.origin,
        "proposed_by": p.proposed_by,
        "proposed_at": p.proposed_at.isoformat(),
    }
    if p.status != ProposalStatus.PENDING:
        body["resolution"] = {
            "by": p.resolved_by,
            "at": p.resolved_at.isoformat() if p.resolved_at else None,
            "reason": p.resolution_reason,
            "version": p.resolution_version,
        }
    return body


def _proposals(session: Session, record_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(ProposedChange)
        .where(ProposedChange.record_id == record_id)
        .order_by(ProposedChange.id)
    )
    return [proposal_json(p) for p in rows]


def _amendment_rows(session: Session, record_id: int) -> list[RecordAmendment]:
    return list(
        session.scalars(
            select(RecordAmendment)
            .where(RecordAmendment.record_id == record_id)
            .order_by(RecordAmendment.id)
        )
    )


def _amendment(row: RecordAmendment) -> amend.Amendment:
    return amend.Amendment(
        kind=row.kind,
        medicine=row.medicine,
        dmd_code=row.dmd_code,
        dose_text=row.dose_text,
        effective_on=row.effective_on,
        by=row.made_by,
        reason=row.reason,
        proposal_id=row.proposal_id,
    )


def _amendment_json(row: RecordAmendment) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "medicine": row.medicine,
        "dmd_code": row.dmd_code,
        "dose_text": row.dose_text,
        "reason": row.reason,
        "by": row.made_by,
        "effective_on": row.effective_on.isoformat(),
        "version": row.record_version,
        "proposal_id": row.proposal_id,
    }


def propose_change(
    session: Session,
    principal: Any,
    patient: Patient,
    *,
    kind: str,
    medicine: str | None,
    dmd_code: str | None = None,
    detail: str = "",
    origin: str,
) -> ProposedChange:
    """Attach a *pending* change (stop/start/switch/dose change) to the patient's record and audit
    it (issue 6: "Interventions become proposed changes on the One Medication Record and are
    audited"). The reconciled list itself is not changed; the record version is bumped because
    what the record shows has changed (a writer holding the old ETag must reload)."""
    from ipmo.security.access import audit_event

    if kind not in ProposedChangeKind.ALL:
        raise RecordError(f"a proposed change must be one of {', '.join(ProposedChangeKind.ALL)}")
    if not (medicine and medicine.strip()) and not (dmd_code and dmd_code.strip()):
        raise RecordError(f"a proposed {kind.replace('_', ' ')} must name the medicine")
    rec = _record(session, patient.id)
    change = ProposedChange(
        record_id=rec.id,
        kind=kind,
        medicine=(medicine or "").strip()[:255] or None,
        dmd_code=(dmd_code or "").strip()[:20] or None,
        detail=(detail or "")[:2000],
        origin=origin[:60],
        proposed_by=principal.username[:100],
    )
    session.add(change)
    session.flush()
    version = _bump(session, rec)
    audit_event(
        session,
        principal,
        "record.propose_change",
        patient,
        detail={"proposal_id": change.id, "kind": kind, "origin": origin, "version": version},
    )
    return change


# A domain that proposes changes hears the outcome: origin "<prefix>:<ref>" → the function its
# hooks.py offers under PROPOSAL_OUTCOMES[<prefix>] (ipmo.hooks), called as fn(session, ref,
# status=…, reason=…, by=…, at=…) inside the same transaction (so an accepted review intervention
# is marked applied, or rejected with the reason, atomically).
OUTCOME_HOOKS = "PROPOSAL_OUTCOMES"


def _notify_origin(session: Session, change: ProposedChange) -> None:
    prefix, _, ref = change.origin.partition(":")
    hook = hooks.offered_map(OUTCOME_HOOKS).get(prefix)
    if hook is None or not ref:
        return
    hook(
        session,
        ref,
        status=change.status,
        reason=change.resolution_reason,
        by=change.resolved_by,
        at=change.resolved_at,
    )


def _pending_proposal(
    session: Session, patient: Patient, proposal_id: int
) -> tuple[ReconciledRecord, ProposedChange]:
    row = session.execute(
        select(ProposedChange, ReconciledRecord)
        .join(ReconciledRecord, ReconciledRecord.id == ProposedChange.record_id)
        .where(ProposedChange.id == proposal_id, ReconciledRecord.patient_id == patient.id)
    ).first()
    if row is None:
        raise ProposalNotFound("no proposed change with that id on this patient's record")
    change, rec = row
    if change.status != ProposalStatus.PENDING:
        raise ProposalResolved(change)
    return rec, change


def _resolve(
    session: Session, change: ProposedChange, status: str, by: str, reason: str | None, version: int
) -> None:
    """Compare-and-set pending → ``status``. Runs after the version bump, which already
    serialises writers, so losing here means a writer skipped the version check: fail loudly
    (not a ``RecordError``) so the request is rolled back rather than half-written."""
    result = session.execute(
        update(ProposedChange)
        .where(ProposedChange.id == change.id, ProposedChange.status == ProposalStatus.PENDING)
        .values(
            status=status,
            resolved_by=by,
            resolved_at=utcnow(),
            resolution_reason=reason,
            resolution_version=version,
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", None) != 1:  # a CursorResult for an UPDATE
        raise RuntimeError(f"proposed change {change.id} was resolved concurrently")
    session.refresh(change)


def _required_version(if_match: str | None) -> int:
    expected = parse_etag(if_match)
    if expected is None:
        raise PreconditionRequired("If-Match with the record's ETag is required to change it")
    return expected


def _announce(
    session: Session,
    principal: Any,
    patient: Patient,
    change: ProposedChange,
    version: int,
    **detail: Any,
) -> None:
    """After a proposed change is accepted or rejected: the proposing domain is told, and the
    act audited (``record.proposal.accept`` / ``.reject``)."""
    from ipmo.security.access import audit_event

    _notify_origin(session, change)
    accepted = change.status == ProposalStatus.ACCEPTED
    action = "record.proposal.accept" if accepted else "record.proposal.reject"
    about = {"proposal_id": change.id, "kind": change.kind, "origin": change.origin}
    audit_event(session, principal, action, patient, about | {"version": version} | detail)


@dataclass(frozen=True)
class Acceptance:
    """What the pharmacist gives when accepting a proposed change: the new dose (required for a
    dose change, optional for a start or switch), what a switch starts (name and/or dm+d code),
    and a note (the amendments' reason; else the proposal's own detail)."""

    dose_text: str | None = None
    switch_to: str | None = None
    switch_to_code: str | None = None
    note: str = ""


def _plan(
    change: ProposedChange, how: Acceptance, *, on: date, by: str, reason: str
) -> list[amend.Amendment]:
    """The amendments that carry out a proposed change (a switch is a stop and a start)."""
    dose = (how.dose_text or "").strip()[:500] or None
    medicine, code = change.medicine, change.dmd_code

    def amendment(
        kind: str, name: str | None, dmd: str | None, text: str | None
    ) -> amend.Amendment:
        return amend.Amendment(kind, name, dmd, text, on, by, reason, change.id)

    if change.kind == ProposedChangeKind.STOP:
        return [amendment(AmendmentKind.STOP, medicine, code, None)]
    if change.kind == ProposedChangeKind.START:
        return [amendment(AmendmentKind.START, medicine, code, dose)]
    if change.kind == ProposedChangeKind.DOSE_CHANGE:
        return [amendment(AmendmentKind.DOSE_CHANGE, medicine, code, dose)]
    if change.kind == ProposedChangeKind.SWITCH:
        target = (how.switch_to or "").strip()[:255] or None
        target_code = (how.switch_to_code or "").strip()[:20] or None
        if not target and not target_code:
            raise RecordError("accepting a switch needs the medicine to switch to")
        return [
            amendment(AmendmentKind.STOP, medicine, code, None),
            amendment(AmendmentKind.START, target, target_code, dose),
        ]
    raise RecordError(f"a proposed {change.kind!r} cannot be applied to the list")


def accept_change(
    session: Session,
    principal: Any,
    patient: Patient,
    proposal_id: int,
    how: Acceptance,
    *,
    if_match: str | None,
    on: date,
    dictionary: DictionaryLike,
) -> ProposedChange:
    """Apply a pending proposed change to the reconciled list from ``on`` (amendments, see
    :mod:`.amend`): a new record version (If-Match checked), the proposal marked accepted, the
    proposing domain told, one audit entry. Everything is checked before the first write: a
    refusal leaves nothing written."""
    rec, change = _pending_proposal(session, patient, proposal_id)
    expected = _required_version(if_match)
    by = principal.username[:100]
    note = (how.note or "").strip()
    plan = _plan(change, how, on=on, by=by, reason=(note or change.detail or "")[:2000])
    view = get_record(session, patient, on, dictionary)
    result = view.reconciliation
    if len(plan) == 2:
        keys = {amend.key_of(a.medicine, a.dmd_code, result, dictionary) for a in plan}
        if len(keys) == 1:
            raise RecordError("a switch must be to a different medicine")
    try:
        for a in plan:
            amend.check(a, result, dictionary)
    except amend.AmendmentError as exc:
        raise RecordError(str(exc)) from None
    version = _bump(session, rec, expected)
    _resolve(session, change, ProposalStatus.ACCEPTED, by, note or None, version)
    session.add_all(
        RecordAmendment(
            record_id=rec.id,
            kind=a.kind,
            medicine=(a.medicine or None) and a.medicine[:255],
            dmd_code=a.dmd_code,
            dose_text=a.dose_text,
            reason=a.reason,
            made_by=by,
            effective_on=on,
            record_version=version,
            proposal_id=change.id,
        )
        for a in plan
    )
    session.flush()
    _announce(session, principal, patient, change, version, amendments=[a.kind for a in plan])
    return change


def reject_change(
    session: Session,
    principal: Any,
    patient: Patient,
    proposal_id: int,
    *,
    if_match: str | None,
    reason: str,
) -> ProposedChange:
    """Decline a pending proposed change with a reason (shown to the proposer): the list is not
    changed, the record version is bumped (the pending list changed), one audit entry."""
    rec, change = _pending_proposal(session, patient, proposal_id)
    if not reason or not reason.strip():
        raise RecordError("rejecting a proposed change needs a reason")
    expected = _required_version(if_match)
    version = _bump(session, rec, expected)
    by = principal.username[:100]
    _resolve(session, change, ProposalStatus.REJECTED, by, reason.strip()[:2000], version)
    _announce(session, principal, patient, change, version)
    return change


@dataclass(frozen=True)
class CurrentMedication:
    """One line of the reconciled current list, as other domains need it."""

    name: str
    dmd_code: str | None  # the VMP when mapped, else the first source's own code
    dose_text: str | None
    codes: tuple[str, ...] = ()  # every code the line is known by: sources' own, VMP, VTM
    # when required ("PRN"): the dosage's asNeeded of the line's chosen source, else of any
    # source with a structured dosage; None when no source gives one
    as_needed: bool | None = None
    # the reconciliation's match key (``normalise.match_key``: VTM, else VMP, else the name):
    # two lines with the same key are the same medicine, as the record itself decides
    key: str = ""


def current_medications(
    session: Session, patient_id: int, as_of: date, dictionary: DictionaryLike | None = None
) -> list[CurrentMedication] | None:
    """The patient's reconciled *current* medicines at ``as_of`` (FCI current rule, stop
    decisions applied), or ``None`` when the patient has no One Medication Record (no source
    lists) so the caller can fall back to what it used before. No access check or audit here:
    the caller has already checked its own access to the patient."""
    has_sources = session.scalar(
        select(SourceList.id).where(SourceList.patient_id == patient_id).limit(1)
    )
    patient = session.get(Patient, patient_id)
    if has_sources is None or patient is None:
        return None
    if dictionary is None:
        from ipmo.records.terminology import default_dictionary

        dictionary = default_dictionary()
    view = get_record(session, patient, as_of, dictionary)
    out = []
    for line in view.reconciliation.lines:
        if line.status == "stopped":
            continue
        items = [i for group in line.by_source.values() for i in group]
        # the product as a source names it ("Ramipril 5mg capsules"), not the bare VTM name
        chosen = next((i for i in items if i.dose_text == line.dose_text), items[0])
        code = line.vmp or chosen.code or next((i.code for i in items if i.code), None)
        codes = dict.fromkeys(c for c in (*(i.code for i in items), line.vmp, line.vtm) if c)
        dosed = [i for i in (chosen, *items) if i.dosage]
        as_needed = dosed[0].as_needed if dosed else None
        out.append(
            CurrentMedication(chosen.name, code, line.dose_text, tuple(codes), as_needed, line.key)
        )
    return out
