"""The append-only, hash-chained audit log of patient-data access.

Each entry's hash is SHA-256 over the previous entry's hash and the entry's own canonical JSON, so
changing or removing any entry breaks the chain from that point; the head row (newest seq + hash)
also catches a truncated tail. Appending first *updates* the head row, which takes the write lock
on both SQLite and PostgreSQL, so concurrent writers get consecutive sequence numbers (the lock is
held until the appender's transaction ends, so the chain is serialised across processes too).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ipmo.security.models import AuditEvent, AuditHead
from ipmo.store import utcnow

GENESIS = "0" * 64
_BUMP = (
    update(AuditHead)
    .where(AuditHead.id == 1)
    .values(seq=AuditHead.seq + 1)
    .returning(AuditHead.seq, AuditHead.hash)
)
_HEAD = select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)
_NEW_HEAD = insert(AuditHead.__table__)
_INSERT = insert(AuditEvent.__table__)
_SET_HASH = (
    update(AuditHead.__table__)
    .where(AuditHead.__table__.c.id == 1)
    .values(hash=bindparam("new_hash"))
)


_HASHED = (
    "seq",
    "at",
    "username",
    "role_code",
    "org_code",
    "action",
    "outcome",
    "patient_nhs_number",
    "reason",
    "detail",
)


def _canonical(e: Mapping[str, Any]) -> str:
    return json.dumps(
        {
            "seq": e["seq"],
            "at": e["at"].isoformat(timespec="microseconds"),
            "username": e["username"],
            "role": e["role_code"],
            "org": e["org_code"],
            "action": e["action"],
            "outcome": e["outcome"],
            "patient": e["patient_nhs_number"],
            "reason": e["reason"],
            "detail": e["detail"],
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )


def _digest(prev_hash: str, entry: Mapping[str, Any]) -> str:
    """The entry's hash; ``entry`` has the AuditEvent column names as keys."""
    return hashlib.sha256((prev_hash + _canonical(entry)).encode()).hexdigest()


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
) -> int:
    """Add one entry to the chain inside the session's transaction (committed with it); return
    its sequence number.

    Three statements on the session's connection: bump the head (``UPDATE … RETURNING``, which
    also takes the write lock until commit), insert the entry, store the new head hash. Core
    statements, not an ORM flush: the caller's pending objects are left to its own flush."""
    conn = session.connection()
    head = conn.execute(_BUMP).first()
    if head is None:
        # first entry ever: create the head; if another writer just did, bump theirs instead
        try:
            with session.begin_nested():  # a savepoint (emitted by session.connection())
                session.connection().execute(_NEW_HEAD, {"id": 1, "seq": 1, "hash": GENESIS})
            head = conn.execute(_HEAD).one()
        except IntegrityError:
            head = conn.execute(_BUMP).one()
    row = {
        "seq": head.seq,
        "at": at or utcnow(),
        "username": username,
        "role_code": role_code,
        "org_code": org_code,
        "action": action,
        "outcome": outcome,
        "patient_nhs_number": patient_nhs_number,
        "reason": reason,
        "detail": detail,
        "prev_hash": head.hash,
    }
    row["hash"] = _digest(head.hash, row)
    conn.execute(_INSERT, row)
    conn.execute(_SET_HASH, {"new_hash": row["hash"]})
    return row["seq"]


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
        if _digest(event.prev_hash, {f: getattr(event, f) for f in _HASHED}) != event.hash:
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
