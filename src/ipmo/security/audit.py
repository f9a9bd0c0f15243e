"""The append-only, hash-chained audit log of patient-data access.

Each entry's hash is SHA-256 over the previous entry's hash and the entry's own canonical JSON, so
changing or removing any entry breaks the chain from that point; the head row (newest seq + hash)
also catches a truncated tail. Appending first *updates* the head row, which takes the write lock
on both SQLite and PostgreSQL, so concurrent writers get consecutive sequence numbers.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ipmo.security.models import AuditEvent, AuditHead
from ipmo.store import utcnow

GENESIS = "0" * 64


def _canonical(e: AuditEvent) -> str:
    return json.dumps(
        {
            "seq": e.seq,
            "at": e.at.isoformat(timespec="microseconds"),
            "username": e.username,
            "role": e.role_code,
            "org": e.org_code,
            "action": e.action,
            "outcome": e.outcome,
            "patient": e.patient_nhs_number,
            "reason": e.reason,
            "detail": e.detail,
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )


def _digest(prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256((prev_hash + _canonical(event)).encode()).hexdigest()


def append(
    session: Session,
    *,
    username: str,
    role_code: str,
    org_code: str,
    action: str,
    outcome: str = "permitted",
    patient_nhs_number: str | None = None,
    reason: str | None = None,
    detail: dict | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    bumped = session.execute(
        update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq + 1)
    ).rowcount
    if not bumped:
        # first entry ever: create the head; if another writer just did, bump theirs instead
        try:
            with session.begin_nested():
                session.add(AuditHead(id=1, seq=1, hash=GENESIS))
        except IntegrityError:
            session.execute(
                update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq + 1)
            )
    head = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).one()
    event = AuditEvent(
        seq=head.seq,
        at=at or utcnow(),
        username=username,
        role_code=role_code,
        org_code=org_code,
        action=action,
        outcome=outcome,
        patient_nhs_number=patient_nhs_number,
        reason=reason,
        detail=detail,
        prev_hash=head.hash,
    )
    event.hash = _digest(head.hash, event)
    session.add(event)
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=event.hash))
    session.flush()
    return event


@dataclass
class VerifyResult:
    ok: bool
    entries: int
    problem: str | None = None


def verify(session: Session) -> VerifyResult:
    """Walk the chain; report the first entry that was edited, removed or re-ordered."""
    expected_prev = GENESIS
    expected_seq = 1
    count = 0
    for event in session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).yield_per(5000):
        if event.seq != expected_seq:
            return VerifyResult(
                False, count, f"entry {expected_seq} is missing (next is {event.seq})"
            )
        if event.prev_hash != expected_prev:
            return VerifyResult(
                False, count, f"entry {event.seq} does not follow entry {event.seq - 1}"
            )
        if _digest(event.prev_hash, event) != event.hash:
            return VerifyResult(False, count, f"entry {event.seq} was altered")
        expected_prev = event.hash
        expected_seq += 1
        count += 1
    head = session.get(AuditHead, 1)
    if head is None:
        return VerifyResult(count == 0, count, None if count == 0 else "audit head is missing")
    if head.seq != count or head.hash != expected_prev:
        return VerifyResult(False, count, f"the newest entries were removed (head says {head.seq})")
    return VerifyResult(True, count)
