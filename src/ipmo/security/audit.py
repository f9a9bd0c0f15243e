"""The append-only, MAC-chained audit log of patient-data access.

**Keyed chains.** Each entry's MAC is HMAC-SHA256(key, previous MAC + the entry's canonical JSON).
The key lives outside the database (``IPMO_AUDIT_KEY``, else ``audit.key`` generated once in the
data folder, like ``IPMO_SECRET_KEY``), so someone who can write the database can delete or edit
entries but cannot forge MACs for what they wrote: an edited entry, and every entry "re-hashed"
after it, fails verification.

**Signed checkpoints outside the store.** A chain alone cannot show that its newest entries were
cut off and its head row rewound, or that everything was deleted. So the newest (seq, MAC) of each
chain is appended, HMAC-signed, to a checkpoint file outside the database
(``IPMO_AUDIT_CHECKPOINTS``, default ``audit-checkpoints.jsonl`` in the data folder): by each
process every
``IPMO_AUDIT_CHECKPOINT_EVERY`` (1000) committed entries and at exit, and by ``ipmo audit verify``
after a clean run. ``verify`` requires every checkpointed entry to still be there with the same MAC,
and every line of the file to carry a valid signature (so a line cannot be hidden by editing the
store it names): one checkpoint file per key.

**Several chains, written at commit** (docs/decisions/0008). Entries are spread over a few
independent chains (``audit_head`` has one row per chain; ``IPMO_AUDIT_CHAINS``, default 8 on
PostgreSQL, 1 on SQLite where writers are serialised by the database anyway). :func:`append` only
*queues* the entry on the session; it is written in the session's own transaction just before it
commits (a ``before_commit`` hook), so the chain's head row is locked for the commit only, not for
the whole request, and is still committed together with — and before the response to — the work it
records. On PostgreSQL the writer takes any chain nobody holds (``FOR UPDATE SKIP LOCKED``). On
SQLite a writer that finds the database locked waits (busy timeout) and, if this is the
transaction's first write, rolls back its empty transaction and tries again: a lock wait does not
become an error.

**Refusals survive a rollback.** An entry with ``outcome="refused"`` (or ``durable=True``) is
recorded even when the caller's transaction rolls back: if the session ends without committing,
its durable entries are written and committed in a separate transaction as it ends (before the
exception that rolled it back reaches the web layer). So a use case can simply::

    audit.append(session, ..., outcome="refused")
    raise Forbidden(...)            # the business transaction rolls back; the refusal stays

:func:`append_committed` writes one entry in its own transaction at once (on SQLite: only while the
caller's transaction holds no write lock, else it waits for it). :func:`flush` writes queued entries
now (and holds the chain until the transaction ends), for a caller that must read its entries back.
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import hmac
import json
import logging
import os
import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, event, insert, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, SessionTransaction

from ipmo.config import audit_checkpoints, audit_key, resolve_data_dir
from ipmo.security.models import AuditEvent, AuditHead
from ipmo.store import insert_if_absent, utcnow

log = logging.getLogger(__name__)

GENESIS = "0" * 64
_EVENTS = AuditEvent.__table__
_HEADS = AuditHead.__table__
_INSERT = insert(_EVENTS)
_SET_MAC = text("UPDATE audit_head SET mac = :mac WHERE id = :chain")
_BUMP = text("UPDATE audit_head SET seq = seq + :n WHERE id = :chain RETURNING id, seq, mac")
# PostgreSQL: bump any chain no other transaction holds (queue-table idiom); none if all are busy
_BUMP_FREE = text(
    "UPDATE audit_head SET seq = seq + :n WHERE id = ("
    " SELECT id FROM audit_head WHERE id < :k ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED"
    ") RETURNING id, seq, mac"
)

# session.info keys
_PENDING = "ipmo.audit.pending"  # [(entry, durable)] not yet committed
_WRITTEN = "ipmo.audit.written"  # how many of them are written in the open transaction
_HELD = "ipmo.audit.chain"  # the chain this transaction has locked
_TIPS = "ipmo.audit.tips"  # {chain: (seq, mac)} written by the open transaction
# {id(savepoint): how many entries were queued when it began}; dropped with the root transaction
_MARKS = "ipmo.audit.savepoints"

_SQLITE_RETRIES = 6


# ---------------------------------------------------------------- key, chains, checkpoint file


@dataclass(frozen=True)
class Keeping:
    """Where the audit key and checkpoints come from (resolved from the environment)."""

    key: bytes
    checkpoints: Path
    chains: int | None  # None: the default for the database
    checkpoint_every: int


_KEEPING: dict[tuple[str | None, ...], Keeping] = {}


def keeping() -> Keeping:
    env = tuple(
        os.environ.get(v)
        for v in (
            "IPMO_DATA_DIR",
            "IPMO_AUDIT_KEY",
            "IPMO_AUDIT_CHECKPOINTS",
            "IPMO_AUDIT_CHAINS",
            "IPMO_AUDIT_CHECKPOINT_EVERY",
        )
    )
    found = _KEEPING.get(env)
    if found is None:
        data_dir = resolve_data_dir()
        found = _KEEPING[env] = Keeping(
            key=audit_key(data_dir).encode(),
            checkpoints=audit_checkpoints(data_dir),
            chains=int(env[3]) if env[3] else None,
            checkpoint_every=int(env[4]) if env[4] else 1000,
        )
    return found


def _chains(k: Keeping, dialect: str) -> int:
    if k.chains is not None:
        return max(1, k.chains)
    return 8 if dialect == "postgresql" else 1


def store_id(bind: Engine | Connection | Session) -> str:
    """Names the database in checkpoint lines (one checkpoint file may serve several stores)."""
    engine = _engine(bind)
    url = engine.url
    if url.get_backend_name() == "sqlite":
        db = url.database or ":memory:"
        return "sqlite:" + (db if db == ":memory:" else str(Path(db).resolve()))
    # the database name only: the server answers to several host names (localhost, 127.0.0.1, a
    # service name), and the web workers and the CLI must agree on the name
    return f"{url.get_backend_name()}:{url.database or ''}"


def _engine(bind: Engine | Connection | Session) -> Engine:
    if isinstance(bind, Session):
        bind = bind.get_bind()
    if isinstance(bind, Connection):
        return bind.engine
    assert isinstance(bind, Engine)
    return bind


# ---------------------------------------------------------------- the MAC


def _canonical(e: Mapping[str, Any]) -> str:
    return json.dumps(
        {
            "chain": e["chain"],
            "seq": e["chain_seq"],
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


def entry_mac(key: bytes, prev_mac: str, entry: Mapping[str, Any]) -> str:
    """The entry's MAC; ``entry`` has the AuditEvent column names as keys."""
    return hmac.new(key, (prev_mac + _canonical(entry)).encode(), hashlib.sha256).hexdigest()


_MACED = (
    "chain",
    "chain_seq",
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


# ---------------------------------------------------------------- appending


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
    durable: bool | None = None,
) -> None:
    """Queue one entry on the session; it is written and committed with the session's
    transaction. ``durable`` (default: ``outcome == "refused"``) entries are committed even if
    that transaction rolls back."""
    when = at or utcnow()
    if when.tzinfo is not None:  # the column is naive UTC; store exactly what the MAC covers
        when = when.astimezone(UTC).replace(tzinfo=None)
    entry = {
        "at": when,
        "username": username,
        "role_code": role_code,
        "org_code": org_code,
        "action": action,
        "outcome": outcome,
        "patient_nhs_number": patient_nhs_number,
        "reason": reason,
        # as it will read back from the JSON column, so the MAC is over what is stored
        "detail": None if detail is None else json.loads(json.dumps(detail, default=str)),
    }
    session.info.setdefault(_PENDING, []).append(
        (entry, outcome == "refused" if durable is None else durable)
    )
    if not session.in_transaction():
        # begin (as any query would) so that closing the session without a commit still ends a
        # transaction, which writes the durable entries
        session.connection()


def append_committed(bind: Engine | Session, **entry: Any) -> None:
    """Write one entry in a transaction of its own, committed before this returns."""
    with Session(_engine(bind)) as side:
        append(side, **entry)
        side.commit()


def flush(session: Session) -> None:
    """Write the session's queued entries now, in its transaction (which then holds a chain's
    head row until it ends)."""
    pending = session.info.get(_PENDING) or []
    done = session.info.get(_WRITTEN, 0)
    if len(pending) > done and session.in_nested_transaction():
        # rolling the savepoint back would take the entries with it while they count as written
        raise RuntimeError("audit.flush inside a savepoint: flush before begin_nested()")
    if len(pending) > done:
        _write(session, [e for e, _ in pending[done:]])
        session.info[_WRITTEN] = len(pending)


def _write(session: Session, entries: list[dict]) -> None:
    k = keeping()
    conn = session.connection()
    chain, last, prev = _reserve(session, conn, len(entries), k)
    rows = []
    for i, e in enumerate(entries):
        row = {**e, "chain": chain, "chain_seq": last - len(entries) + 1 + i, "prev_mac": prev}
        row["mac"] = prev = entry_mac(k.key, prev, row)
        rows.append(row)
    conn.execute(_INSERT, rows)
    conn.execute(_SET_MAC, {"chain": chain, "mac": prev})
    session.info[_HELD] = chain
    session.info.setdefault(_TIPS, {})[chain] = (last, prev)


def _reserve(session: Session, conn: Connection, n: int, k: Keeping) -> tuple[int, int, str]:
    """Advance one chain's head by ``n``; return (chain, its new seq, its MAC before)."""
    dialect = conn.dialect.name
    held = session.info.get(_HELD)
    if held is not None:  # this transaction already holds a chain: keep to it (no second lock)
        return _bump(conn, held, n)
    if dialect == "postgresql":
        row = conn.execute(_BUMP_FREE, {"n": n, "k": _chains(k, dialect)}).first()
        if row is not None:
            return row.id, row.seq, row.mac
    chain = random.randrange(_chains(k, dialect))
    if dialect != "sqlite":
        return _bump(conn, chain, n)
    dbapi = conn.connection.dbapi_connection
    first_write = not getattr(dbapi, "in_transaction", True)
    for attempt in range(_SQLITE_RETRIES):
        try:
            return _bump(conn, chain, n)
        except OperationalError as exc:
            # the busy timeout ran out. If this is the transaction's first write, nothing of the
            # caller's is lost by ending the (empty) transaction and queueing again.
            if not first_write or "locked" not in str(exc.orig) or attempt == _SQLITE_RETRIES - 1:
                raise
            dbapi.rollback()  # type: ignore[union-attr]
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def _bump(conn: Connection, chain: int, n: int) -> tuple[int, int, str]:
    row = conn.execute(_BUMP, {"n": n, "chain": chain}).first()
    if row is None:  # the chain's first entry: create its head (or find another writer's)
        conn.execute(insert_if_absent(conn.dialect.name, _HEADS, id=chain, seq=0, mac=GENESIS))
        row = conn.execute(_BUMP, {"n": n, "chain": chain}).one()
    return row.id, row.seq, row.mac


def _reset(session: Session) -> list[tuple[dict, bool]]:
    pending = session.info.pop(_PENDING, None) or []
    for key in (_WRITTEN, _HELD, _TIPS, _MARKS):
        session.info.pop(key, None)
    return pending


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    flush(session)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: the entries are not written yet
        return
    tips = session.info.get(_TIPS)
    written = session.info.get(_WRITTEN, 0)
    _reset(session)
    if tips:
        _note_committed(session, tips, written)


@event.listens_for(Session, "after_transaction_create")
def _savepoint_begins(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        marks = session.info.setdefault(_MARKS, {})
        marks[id(transaction)] = len(session.info.get(_PENDING) or [])


@event.listens_for(Session, "after_soft_rollback")
def _savepoint_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    """Entries queued inside a savepoint that rolls back go with it (the work they describe did
    not happen), as they did when entries were written at once; refusals stay."""
    if not previous_transaction.nested:
        return
    mark = (session.info.get(_MARKS) or {}).pop(id(previous_transaction), None)
    pending = session.info.get(_PENDING)
    if mark is not None and pending:
        # flush() refuses to write inside a savepoint, so nothing after the mark is written yet
        session.info[_PENDING] = pending[:mark] + [p for p in pending[mark:] if p[1]]


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None or not session.info.get(_PENDING):
        return
    # ended without committing: the business work is gone, durable entries (refusals) are not
    durable = [e for e, keep in _reset(session) if keep]
    if durable:
        try:
            with Session(session.get_bind()) as side:
                side.info[_PENDING] = [(e, True) for e in durable]
                side.commit()
        except Exception:
            log.exception("could not record %d refused-access audit entries", len(durable))
            raise


# ---------------------------------------------------------------- checkpoints


@dataclass
class _Noted:
    """What this process has committed to one store since its last checkpoint line."""

    path: Path
    key: bytes
    tips: dict[int, tuple[int, str]] = field(default_factory=dict)
    since: int = 0


_NOTED: dict[str, _Noted] = {}
_NOTED_LOCK = threading.Lock()


def _note_committed(session: Session, tips: dict[int, tuple[int, str]], n: int) -> None:
    k = keeping()
    store = store_id(session)
    with _NOTED_LOCK:
        noted = _NOTED.setdefault(store, _Noted(k.checkpoints, k.key))
        for chain, (seq, mac) in tips.items():
            if seq > noted.tips.get(chain, (0, ""))[0]:
                noted.tips[chain] = (seq, mac)
        noted.since += n
        if noted.since < k.checkpoint_every:
            return
        noted.since = 0
        line = _signed_line(noted.key, store, noted.tips)
    _append_line(noted.path, line)


@atexit.register
def checkpoint_noted() -> None:
    """Append a checkpoint of what this process committed since its last one (at exit; the web
    server also calls it at shutdown, as uvicorn's workers end by SIGTERM, which skips atexit)."""
    with _NOTED_LOCK:
        lines = [
            (noted.path, _signed_line(noted.key, store, noted.tips))
            for store, noted in _NOTED.items()
            if noted.since and noted.tips
        ]
        _NOTED.clear()
    for path, line in lines:
        try:
            _append_line(path, line)
        except OSError:
            log.exception("could not write the audit checkpoint at exit")


def _signed_line(key: bytes, store: str, tips: Mapping[int, tuple[int, str]]) -> str:
    body = {
        "store": store,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "chains": {str(c): [seq, mac] for c, (seq, mac) in sorted(tips.items())},
        "entries": sum(seq for seq, _ in tips.values()),
    }
    body["sig"] = _sign(key, body)
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def _sign(key: bytes, body: Mapping[str, Any]) -> str:
    unsigned = {k: v for k, v in body.items() if k != "sig"}
    payload = "checkpoint:" + json.dumps(unsigned, sort_keys=True, separators=(",", ":"))
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def _append_line(path: Path, line: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # several workers append to one file
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())


def checkpoint(bind: Engine | Session) -> dict[int, tuple[int, str]]:
    """Append a signed checkpoint of every chain's committed head; return those heads."""
    k = keeping()
    with Session(_engine(bind)) as s:
        tips = {h.id: (h.seq, h.mac) for h in s.execute(select(_HEADS)).all() if h.seq > 0}
    if tips:
        _append_line(k.checkpoints, _signed_line(k.key, store_id(bind), tips))
    return tips


@dataclass(frozen=True)
class Claim:
    line: int
    at: str
    chain: int
    seq: int
    mac: str


@dataclass
class Checkpoints:
    claims: list[Claim] = field(default_factory=list)
    lines: int = 0  # lines naming this store
    other_stores: int = 0  # lines naming another store (a mis-set URL would show up here)
    problem: str | None = None


def read_checkpoints(path: Path, key: bytes, store: str) -> Checkpoints:
    """This store's checkpoint claims, how many lines they came from, and the first problem."""
    found = Checkpoints()
    if not path.exists():
        return found
    with path.open(encoding="utf-8") as f:
        for number, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                body = json.loads(raw)
                sig, line_store = body["sig"], body["store"]
                chains = {int(c): (int(v[0]), str(v[1])) for c, v in body["chains"].items()}
            except (ValueError, KeyError, TypeError, IndexError):
                found.problem = f"checkpoint line {number} of {path} is unreadable"
                return found
            if not hmac.compare_digest(str(sig), _sign(key, body)):
                found.problem = (
                    f"checkpoint line {number} of {path} is not signed with the audit key"
                )
                return found
            if line_store != store:
                found.other_stores += 1
                continue
            found.lines += 1
            found.claims.extend(
                Claim(number, str(body.get("at")), c, seq, mac) for c, (seq, mac) in chains.items()
            )
    return found


# ---------------------------------------------------------------- verifying


@dataclass
class VerifyResult:
    ok: bool
    entries: int
    problem: str | None = None
    chains: int = 0
    checkpoints: int = 0  # checkpoint lines of this store that were checked
    tips: dict[int, tuple[int, str]] = field(default_factory=dict)
    other_stores: int = 0  # checkpoint lines of other stores in the same file


def verify(
    session: Session, *, checkpoints: Path | None = None, key: bytes | None = None
) -> VerifyResult:
    """Walk every chain and check it against its head row and the signed checkpoints; report the
    first entry that was edited, removed or re-ordered, or a checkpointed entry that is gone."""
    k = keeping()
    key = key or k.key
    found = read_checkpoints(checkpoints or k.checkpoints, key, store_id(session))
    claims, bad_file = found.claims, found.problem
    # heads first: anything committed after this read is newer than the head we compare with
    heads = {h.id: (h.seq, h.mac) for h in session.execute(select(_HEADS)).all()}
    wanted: dict[tuple[int, int], str | None] = {(c.chain, c.seq): None for c in claims}
    wanted.update({(c, seq): None for c, (seq, _) in heads.items()})
    tips: dict[int, tuple[int, str]] = {}
    count = 0

    def result(ok: bool, problem: str | None = None) -> VerifyResult:
        return VerifyResult(ok, count, problem, len(tips), found.lines, tips, found.other_stores)

    chain, expected_seq, expected_prev = None, 1, GENESIS
    query = select(AuditEvent).order_by(AuditEvent.chain, AuditEvent.chain_seq)
    for event_ in session.scalars(query).yield_per(5000):
        if event_.chain != chain:
            chain, expected_seq, expected_prev = event_.chain, 1, GENESIS
        where = f" (chain {chain})"
        if event_.chain_seq != expected_seq:
            return result(
                False, f"entry {expected_seq} is missing (next is {event_.chain_seq}){where}"
            )
        if event_.prev_mac != expected_prev:
            return result(
                False, f"entry {expected_seq} does not follow entry {expected_seq - 1}{where}"
            )
        entry = {f: getattr(event_, f) for f in _MACED}
        if not hmac.compare_digest(entry_mac(key, event_.prev_mac, entry), event_.mac):
            return result(False, f"entry {expected_seq} was altered{where}")
        if (chain, expected_seq) in wanted:
            wanted[(chain, expected_seq)] = event_.mac
        tips[chain] = (expected_seq, event_.mac)
        expected_prev = event_.mac
        expected_seq += 1
        count += 1
    for c in tips:
        if c not in heads:
            return result(False, f"the audit head of chain {c} is missing")
    for c, (seq, mac) in sorted(heads.items()):
        last = tips.get(c, (0, GENESIS))[0]
        if seq > last:
            return result(
                False,
                f"the newest entries were removed (chain {c}: head says {seq}, log ends at {last})",
            )
        if seq and wanted[(c, seq)] != mac:
            return result(False, f"the audit head of chain {c} does not match entry {seq}")
    if bad_file:
        return result(False, bad_file)
    for claim in sorted(claims, key=lambda c: (c.chain, -c.seq)):
        seen = wanted[(claim.chain, claim.seq)]
        if seen is None:
            last = tips.get(claim.chain, (0, ""))[0]
            return result(
                False,
                f"entries were removed: chain {claim.chain} ends at entry {last} but the signed "
                f"checkpoint of {claim.at} saw entry {claim.seq}",
            )
        if seen != claim.mac:
            return result(
                False,
                f"entry {claim.seq} of chain {claim.chain} differs from the signed checkpoint of "
                f"{claim.at}",
            )
    return result(True)
