"""EPS messages (:mod:`ipmo.prescriptions.messages`) applied to the prescription store.

Each message is checked in full (parsed, then every change checked against the store) before
anything is written, so a refused message changes nothing. Idempotent on (sender ODS code,
message id): a replay changes nothing, a reused id with other content is refused. A change for a
prescription not yet received is kept pending and applied when the prescription arrives (issue
16: "a dispense before its prescription waits, it is not lost"). Status rules:
:mod:`ipmo.prescriptions.status`; every change adds a step to the prescription's timeline
(``eps_prescription_events``).
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ipmo.prescriptions import status as rules
from ipmo.prescriptions.actions import RecordFeed, feed_medication_record
from ipmo.prescriptions.messages import (
    CLAIM,
    DISPENSE,
    NOMINATED,
    ORDER,
    PSU,
    RELEASE,
    RETURN,
    UPDATE,
    WITHDRAW,
    MessageRefused,
    Parsed,
    parse_message,
    same_content,
)
from ipmo.prescriptions.models import (
    EpsMessage,
    Prescription,
    PrescriptionEvent,
    PrescriptionItem,
)
from ipmo.store import utcnow
from ipmo.synth import BulkWriter

__all__ = ["IngestResult", "MessageRefused", "ingest_batch", "ingest_message", "parse_message"]


@dataclass(frozen=True)
class IngestResult:
    outcome: str  # applied | pending | replay
    prescription_id: str
    event: str
    applied_pending: int = 0
    parts: int = 1  # changes in the message (a status-update Bundle has one per Task)


def _check(p: Prescription | _Held, parsed: Parsed) -> None:
    """Refuse a change that does not fit the prescription (nothing is written yet)."""
    if parsed.nhs_number and p.nhs_number != parsed.nhs_number:
        raise MessageRefused(
            "business-rule",
            f"the {parsed.event} is for another patient than prescription {parsed.prescription_id}",
            "subject",
        )
    known = {i.line_item_id for i in p.items}
    for change in parsed.items:
        if change.line_item_id not in known:
            raise MessageRefused(
                "not-found",
                f"the {parsed.event} names a line item that prescription "
                f"{parsed.prescription_id} does not have",
                "MedicationRequest.identifier",
            )
    if parsed.event == WITHDRAW:
        last = _last_dispense(p)
        if last is None or last.message_id != parsed.target_message:
            raise MessageRefused(
                "business-rule",
                "only the latest dispense notification of a prescription can be withdrawn",
                "Task.focus",
            )
    if parsed.event == CLAIM:
        open_items = [i for i in p.items if i.status_code not in rules.FINAL]
        if open_items:
            raise MessageRefused(
                "business-rule",
                f"prescription {parsed.prescription_id} cannot be claimed: "
                f"{len(open_items)} item(s) not yet dispensed, not dispensed or cancelled",
                "Claim.prescription",
            )


def _last_dispense(p: Prescription | _Held) -> PrescriptionEvent | _Held | None:
    events: list[Any] = p.events  # the ORM's steps or a batch's held rows
    for event in reversed(events):
        if event.before is not None and not event.withdrawn:
            return event
    return None


DISPENSE_KIND = {"0006": "dispensed", "0007": "not-dispensed", "0003": "partially-dispensed"}


def _apply(p: Prescription | _Held, parsed: Parsed) -> RecordFeed:
    """Apply one checked change and add its timeline step. Returns what it does to the One
    Medication Record: the items a dispense notification dispensed (line id → message id), the
    dispense notification a withdrawal withdrew."""
    at = parsed.at or utcnow()
    lines = {i.line_item_id: i for i in p.items}
    before_status = p.status_code
    kind, detail, before = parsed.event, None, None
    if parsed.event == UPDATE:
        outcomes = [
            rules.cancel(lines[c.line_item_id], c.reason.get("code"), c.reason.get("display"))
            for c in parsed.items
        ]
        kind = "pending-cancellation" if "pending" in outcomes else "cancelled"
        if set(outcomes) == {"too-late"}:
            kind = "cancellation-refused"
        detail = next((c.reason["display"] for c in parsed.items if c.reason.get("display")), None)
    elif parsed.event == RELEASE:
        rules.release(lines.values())
        p.dispenser_org, p.released_at = parsed.sender, p.released_at or at
        kind = "released"
    elif parsed.event == DISPENSE:
        before = rules.snapshot(p.items)
        if rules.release(lines[c.line_item_id] for c in parsed.items):
            p.released_at = p.released_at or at  # dispensed: it was downloaded
        rules.dispense(lines, {c.line_item_id: c.status_code for c in parsed.items})
        for c in parsed.items:
            item = lines[c.line_item_id]
            if c.status_code == rules.NOT_DISPENSED and c.reason.get("display"):
                item.reason_code, item.reason_display = c.reason.get("code"), c.reason["display"]
            if c.quantity:
                item.quantity = c.quantity
        p.dispenser_org = parsed.sender
    elif parsed.event == WITHDRAW:
        last = _last_dispense(p)
        assert last is not None and last.before is not None  # checked by _check
        rules.withdraw(lines, last.before)
        last.withdrawn = True
        pharmacy, dispense = last.org, last.message_id
        feed = RecordFeed(withdrawn=[(pharmacy, dispense)] if pharmacy and dispense else [])
        kind, detail = "withdrawn", parsed.reason
    elif parsed.event == RETURN:
        rules.return_to_spine(lines.values())
        p.dispenser_org = None
        kind, detail = "returned", parsed.reason
    elif parsed.event == CLAIM:
        p.claimed_at = at
        p.exemption_code, p.exemption_evidence = parsed.exemption_code, parsed.exemption_evidence
        kind = "claimed"
    elif parsed.event == PSU:
        change = parsed.items[0]
        item = lines[change.line_item_id]
        item.psu_status = change.name
        kind, detail = (change.name or "").lower().replace(" - ", " ").replace(" ", "-"), item.name
    p.status_code = (
        "0008" if p.claimed_at else rules.prescription_status(i.status_code for i in p.items)
    )
    if parsed.event == DISPENSE:
        if parsed.prescription_status and not p.claimed_at:
            p.status_code = parsed.prescription_status  # what the dispenser states wins
        kind = DISPENSE_KIND.get(p.status_code, "dispensed")
    _event(p, at, kind, before_status, parsed, detail, before)
    if parsed.event == WITHDRAW:
        return feed
    if parsed.event != DISPENSE:
        return RecordFeed()
    return RecordFeed(
        {
            c.line_item_id: parsed.message_id
            for c in parsed.items
            if c.status_code in (rules.FULLY, rules.PARTIAL)
        }
    )


def _event(
    p: Prescription | _Held,
    at: datetime,
    kind: str,
    before_status: str | None,
    parsed: Parsed | None,
    detail: str | None = None,
    before: dict | None = None,
) -> None:
    values = {
        "at": at,
        "kind": kind,
        "status_from": before_status,
        "status_to": p.status_code,
        "org": parsed.sender if parsed else None,
        "message_id": parsed.message_id if parsed else None,
        "detail": detail[:300] if detail else None,
        "before": before,
    }
    if isinstance(p, _Held):  # a batch: written with the others at its end
        p.events.append(_Held(values | {"id": None, "prescription_pk": None, "withdrawn": False}))
    else:
        p.events.append(PrescriptionEvent(**values))


def ingest_message(
    session: Session, data: bytes | str, *, feed_record: bool = True
) -> IngestResult:
    """Read one EPS message into the store (nothing written if it is refused). Dispensed items
    of ICS patients also reach their One Medication Record unless ``feed_record`` is false."""
    parts = parse_message(data)
    plan: list[tuple[Parsed, Prescription | None]] = []
    replays = 0
    for parsed in parts:  # check every part first
        seen = session.scalar(
            select(EpsMessage).where(
                EpsMessage.sender_org == parsed.sender, EpsMessage.message_id == parsed.message_id
            )
        )
        if seen is not None:
            if not same_content(seen.content_hash, parsed):
                raise MessageRefused(
                    "duplicate",
                    "this sender already sent a different message with the same message id",
                    "Bundle.identifier",
                )
            replays += 1
            continue
        if _nominated(parsed):  # resolved when applied: it names no prescription
            plan.append((parsed, None))
            continue
        p = session.scalar(
            select(Prescription).where(Prescription.prescription_id == parsed.prescription_id)
        )
        if parsed.event == ORDER and p is not None:
            raise MessageRefused(
                "duplicate",
                f"prescription {parsed.prescription_id} was already received in another message",
                "MedicationRequest.groupIdentifier.value",
            )
        if p is not None:
            _check(p, parsed)
        plan.append((parsed, p))
    first = parts[0]
    if not plan:
        return IngestResult("replay", first.prescription_id, first.event, parts=len(parts))
    outcome, applied_pending = "applied", 0
    for parsed, p in plan:
        feed = RecordFeed()
        if _nominated(parsed):
            for ready in session.scalars(
                _ready_for(parsed.sender).options(
                    selectinload(Prescription.items), selectinload(Prescription.events)
                )
            ):
                _apply(ready, parsed)
            _record(session, parsed, "applied")
        elif parsed.event == ORDER:
            p = _create(session, parsed)
            count, feed = _apply_pending(session, p)
            applied_pending += count
            _record(session, parsed, "applied")
        elif p is None:  # before its prescription: kept whole, applied when it comes
            _record(session, parsed, "pending", keep=True)
            outcome = "pending"
        else:
            feed = _apply(p, parsed)
            _record(session, parsed, "applied")
        if feed and feed_record and p is not None:
            session.flush()
            feed_medication_record(session, p, feed)
    session.flush()
    return IngestResult(outcome, first.prescription_id, first.event, applied_pending, len(parts))


def _nominated(parsed: Parsed) -> bool:
    """A nominated pharmacy release: it names no prescription (:data:`messages.NOMINATED`)."""
    return parsed.event == RELEASE and parsed.prescription_id == NOMINATED


def _ready_for(pharmacy: str):
    """The prescriptions a nominated release by ``pharmacy`` downloads: nominated to it and To
    Be Dispensed (0001; EPS releases to a nominated pharmacy the prescriptions waiting for it,
    not those another pharmacy already downloaded, dispensed or cancelled), oldest first
    (ix_eps_prescriptions_nominated_status)."""
    return (
        select(Prescription)
        .where(Prescription.nominated_pharmacy == pharmacy, Prescription.status_code == "0001")
        .order_by(Prescription.id)
    )


def _create(session: Session, parsed: Parsed) -> Prescription:
    p = Prescription(**_new_prescription(parsed))
    for values in _new_items(parsed):
        p.items.append(PrescriptionItem(**values))
    session.add(p)
    _event(p, parsed.at or utcnow(), "created", None, parsed)
    return p


def _new_prescription(parsed: Parsed) -> dict[str, Any]:
    """The columns of a prescription as its order creates it."""
    return {
        "prescription_id": parsed.prescription_id,
        "long_id": parsed.long_id,
        "nhs_number": parsed.nhs_number,
        "status_code": "0001",
        "course": parsed.course,
        "prescription_type": parsed.prescription_type,
        "authored_on": parsed.authored_on,
        "prescriber_org": parsed.prescription_id[7:13].lstrip("0") or None,
        "nominated_pharmacy": parsed.nominated_pharmacy,
        "urgent": parsed.urgent,
        "issued_at": parsed.at,
        "expiry_date": parsed.expiry_date,
        "repeats_allowed": parsed.repeats_allowed,
        "repeat_number": 1 if parsed.course == "continuous-repeat-dispensing" else None,
    }


def _new_items(parsed: Parsed) -> list[dict[str, Any]]:
    return [
        {
            "line_item_id": change.line_item_id,
            "name": change.name or "unnamed item",
            "code": change.code,
            "quantity": change.quantity,
            "status_code": change.status_code,
            "pending_cancellation": False,
        }
        for change in parsed.items
    ]


def _parse_one(payload: dict, message_id: str) -> Parsed:
    return next(p for p in parse_message(json.dumps(payload)) if p.message_id == message_id)


def _apply_pending(session: Session, p: Prescription) -> tuple[int, RecordFeed]:
    """Apply, in the order received, what arrived before the prescription. One that no longer
    fits (an unknown item) stays with the prescription as ``unmatched``: reported, never lost."""
    waiting = session.scalars(
        select(EpsMessage)
        .where(EpsMessage.prescription_id == p.prescription_id, EpsMessage.state == "pending")
        .order_by(EpsMessage.id)
    ).all()
    applied, feed = 0, RecordFeed()
    for msg in waiting:
        parsed = _parse_one(msg.payload or {}, msg.message_id)
        try:
            _check(p, parsed)
        except MessageRefused:
            msg.state = "unmatched"
            continue
        feed.add(_apply(p, parsed))
        msg.state, msg.payload = "applied", None
        applied += 1
    return applied, feed


def _row(parsed: Parsed, state: str, keep: bool = False) -> dict:
    """The ``eps_messages`` row of one received change."""
    return {
        "sender_org": parsed.sender,
        "message_id": parsed.message_id,
        "event": parsed.event,
        "prescription_id": parsed.prescription_id,
        "content_hash": parsed.content_hash,
        "state": state,
        "payload": parsed.payload if keep else None,
        "received_at": utcnow(),
    }


def _record(session: Session, parsed: Parsed, state: str, keep: bool = False) -> None:
    session.add(EpsMessage(**_row(parsed, state, keep)))


@dataclass
class BatchResult:
    applied: int = 0
    pending: int = 0
    replays: int = 0
    pending_applied: int = 0
    refused: list[tuple[int, str]] = field(default_factory=list)  # (index in batch, reason)
    # each message read, as ingest_message answers it: (index in batch, applied | pending | replay)
    outcomes: list[tuple[int, str]] = field(default_factory=list)


def _chunks(values: list, size: int = 500):
    for start in range(0, len(values), size):
        yield values[start : start + size]


class _Held:
    """One store row held in memory for a batch (a prescription, item or timeline step): its
    columns as attributes, the status rules apply to it as to the ORM object; ``read``: the
    columns as the store held them (``None``: a row the batch adds)."""

    items: list[_Held]
    events: list[_Held]
    read: dict[str, Any] | None

    def __init__(self, values: dict[str, Any], read: bool = False) -> None:
        """``values``: a dict of the row's own, which becomes its attributes (not copied: tens
        of thousands are made per batch). A prescription's ``items`` and ``events`` are set by
        its maker."""
        values["read"] = dict(values) if read else None
        object.__setattr__(self, "__dict__", values)

    # for mypy: the columns are attributes set in __init__
    def __getattr__(self, name: str) -> Any:
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        self.__dict__[name] = value

    def changed(self, columns: Callable[[dict], Any]) -> bool:
        """``columns``: an ``itemgetter`` of the columns compared."""
        return self.read is not None and columns(self.read) != columns(self.__dict__)


_RX, _ITEM, _EVENT = Prescription.__table__, PrescriptionItem.__table__, PrescriptionEvent.__table__
_MSG = EpsMessage.__table__
_RX_NEW = tuple(c.name for c in _RX.columns if c.name != "id")
_RX_CHANGES = tuple(c for c in _RX_NEW if c not in ("prescription_id", "created_at", "updated_at"))
_ITEM_NEW = tuple(c.name for c in _ITEM.columns if c.name != "id")
_ITEM_CHANGES = tuple(c for c in _ITEM_NEW if c not in ("prescription_pk", "line_item_id"))
_EVENT_NEW = tuple(c.name for c in _EVENT.columns if c.name != "id")
_EVENT_CHANGES = ("withdrawn",)  # a timeline step only changes when its dispense is withdrawn
_MSG_NEW = tuple(c.name for c in _MSG.columns if c.name != "id")
_GET = {c: itemgetter(*c) for c in (_RX_CHANGES, _ITEM_CHANGES, _EVENT_CHANGES)}


def _held_prescription(parsed: Parsed, now: datetime) -> _Held:
    values: dict[str, Any] = dict.fromkeys(_RX_NEW, None)
    values.update(_new_prescription(parsed), id=None, created_at=now, updated_at=now)
    p = _Held(values)
    p.events = []
    p.items = []
    for item in _new_items(parsed):
        item.update(
            id=None, prescription_pk=None, reason_code=None, reason_display=None, psu_status=None
        )
        p.items.append(_Held(item))
    _event(p, parsed.at or now, "created", None, parsed)
    return p


def _read_held(session: Session, prescription_ids: list[str]) -> dict[str, _Held]:
    """The prescriptions named, with their items and timelines, as :class:`_Held` rows (three
    queries, no ORM identity map; rows as plain tuples zipped with the column names)."""
    rx = tuple(c.name for c in _RX.columns)
    held = {}
    for r in session.execute(select(_RX).where(_RX.c.prescription_id.in_(prescription_ids))):
        p = _Held(dict(zip(rx, r, strict=True)), read=True)
        p.items, p.events = [], []
        held[p.prescription_id] = p
    by_pk = {p.id: p for p in held.values()}
    if not by_pk:
        return held
    for table, attribute in ((_ITEM, "items"), (_EVENT, "events")):
        columns = tuple(c.name for c in table.columns)
        for r in session.execute(
            select(table).where(table.c.prescription_pk.in_(by_pk)).order_by(table.c.id)
        ):
            row = _Held(dict(zip(columns, r, strict=True)), read=True)
            getattr(by_pk[row.prescription_pk], attribute).append(row)
    return held


class _Driver:
    """A batch's writes through the database driver in the session's transaction (sqlite3
    ``executemany``, psycopg ``COPY`` for new rows, ``executemany`` for changed ones, by
    :class:`ipmo.synth.BulkWriter`): SQLAlchemy's per-row parameter handling was most of the
    batch's store time. Each value still goes through its column type's bind processor for this
    dialect, so the stored values are those SQLAlchemy would store."""

    def __init__(self, session: Session) -> None:
        connection = session.connection()
        self.dialect = connection.dialect
        self.bulk = BulkWriter(connection, tune=False)
        self.mark = "?" if self.dialect.paramstyle == "qmark" else "%s"

    def _tuples(self, table, columns: tuple[str, ...], rows: list[dict[str, Any]]):
        processors = [
            (n, proc, proc(None))  # what it makes of None, worked out once
            for n, c in enumerate(columns)
            if (proc := table.c[c].type.dialect_impl(self.dialect).bind_processor(self.dialect))
        ]
        pick = itemgetter(*columns)
        for row in rows:
            values = list(pick(row))
            for n, proc, none in processors:
                value = values[n]
                values[n] = none if value is None else proc(value)
            yield values

    def insert(self, table, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
        if rows:
            self.bulk.insert(table.name, list(columns), self._tuples(table, columns, rows))

    def update(self, table, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
        """``rows``: the new values of ``columns`` and the row's ``id``."""
        if not rows:
            return
        sets = ", ".join(f"{c} = {self.mark}" for c in columns)
        sql = f"UPDATE {table.name} SET {sets} WHERE id = {self.mark}"
        cursor = self.bulk.raw.cursor()
        try:
            cursor.executemany(sql, list(self._tuples(table, (*columns, "id"), rows)))
        finally:
            cursor.close()


def _write_held(session: Session, known: dict[str, _Held], messages: list[dict]) -> None:
    """What the batch changed, in bulk through the driver: new prescriptions (their ids read
    back by prescription ID), then new items, timeline steps and messages, then the changed
    rows (one executemany per table)."""
    driver = _Driver(session)
    new = [p for p in known.values() if p.read is None]
    driver.insert(_RX, _RX_NEW, [p.__dict__ for p in new])
    ids: dict[str, int] = {}
    for chunk in _chunks([p.prescription_id for p in new]):
        ids.update(
            session.execute(
                select(_RX.c.prescription_id, _RX.c.id).where(_RX.c.prescription_id.in_(chunk))
            ).all()
        )
    for p in new:
        p.id = ids[p.prescription_id]
    now = utcnow()
    rx_changed = []
    # a prescription's rows of each child table: (attribute, columns added, columns changed)
    children = (
        ("items", _ITEM, _ITEM_NEW, _ITEM_CHANGES),
        ("events", _EVENT, _EVENT_NEW, _EVENT_CHANGES),
    )
    added: dict[str, list[dict]] = {name: [] for name, *_ in children}
    changed: dict[str, list[dict]] = {name: [] for name, *_ in children}
    for p in known.values():
        if p.changed(_GET[_RX_CHANGES]):
            p.updated_at = now
            rx_changed.append(p.__dict__)
        for name, _, _, columns in children:
            for row in getattr(p, name):
                if row.read is None:
                    row.prescription_pk = p.id
                    added[name].append(row.__dict__)
                elif row.changed(_GET[columns]):
                    changed[name].append(row.__dict__)
    for name, table, new_columns, _ in children:
        driver.insert(table, new_columns, added[name])
    driver.insert(_MSG, _MSG_NEW, messages)
    driver.update(_RX, (*_RX_CHANGES, "updated_at"), rx_changed)
    for name, table, _, columns in children:
        driver.update(table, columns, changed[name])


def _reread(parsed: Parsed, data: bytes | str) -> Parsed:
    """``parsed`` with its payload read again from the message text (a batch drops each parsed
    message tree once checked: a thousand 28 kB messages kept whole are a million objects that
    the garbage collector walks again and again, which halved the batch rate)."""
    if not parsed.payload:
        parsed.payload = next(
            p for p in parse_message(data) if p.message_id == parsed.message_id
        ).payload
    return parsed


def ingest_batch(
    session: Session, datas: list[bytes | str], *, feed_record: bool = True
) -> BatchResult:
    """Many EPS messages in one unit of work, with the same rules as :func:`ingest_message`
    (each message checked in full before any of it is applied; a refused one is reported with
    its index and changes nothing; replays and reused ids per sender; out-of-order changes
    wait), but with the store read once per batch (no ORM objects: rows held in memory, the
    same status rules applied to them) and written in bulk at its end."""
    with _collector_paused():
        return _ingest_batch(session, datas, feed_record)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused for a batch: a batch holds some hundred thousand
    new containers (rows, dicts, parsed messages) until it is written, and each of the collector's
    full passes walks all of them again; a sixth of the batch's time went there. Reference
    counting still frees what the batch drops (it makes no cycles that matter); the collector
    runs again after it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _ingest_batch(session: Session, datas: list[bytes | str], feed_record: bool) -> BatchResult:
    result, now = BatchResult(), utcnow()
    session.flush()  # the caller's own changes first: the batch writes beside the ORM
    parsed_all: list[tuple[int, list[Parsed]]] = []
    for n, data in enumerate(datas):
        try:
            parts = parse_message(data)
        except MessageRefused as exc:
            result.refused.append((n, exc.diagnostics))
            continue
        for part in parts:  # its text is kept, not its tree: read again when it is needed
            part.payload = {}
        parsed_all.append((n, parts))
    parts = [p for _, ps in parsed_all for p in ps]
    seen: dict[tuple[str, str], str] = {}
    by_sender: dict[str, set[str]] = {}
    for part in parts:
        by_sender.setdefault(part.sender, set()).add(part.message_id)
    for sender, message_ids in sorted(by_sender.items()):
        # one sender at a time: the (sender, message id) index answers each id (a row-value IN
        # over both columns made SQLite scan every message ever received, once per chunk)
        for chunk in _chunks(sorted(message_ids)):
            rows = session.execute(
                select(_MSG.c.message_id, _MSG.c.content_hash).where(
                    _MSG.c.sender_org == sender, _MSG.c.message_id.in_(chunk)
                )
            ).all()
            seen.update({(sender, r[0]): r[1] for r in rows})
    known: dict[str, _Held] = {}
    waiting: dict[str, list[dict[str, Any]]] = {}
    for chunk in _chunks(sorted({p.prescription_id for p in parts})):
        known.update(_read_held(session, chunk))
        for msg in session.execute(
            select(_MSG.c.id, _MSG.c.prescription_id, _MSG.c.message_id, _MSG.c.payload)
            .where(_MSG.c.prescription_id.in_(chunk), _MSG.c.state == "pending")
            .order_by(_MSG.c.id)
        ).mappings():
            waiting.setdefault(msg["prescription_id"], []).append(dict(msg, state="pending"))
    for pharmacy in sorted({p.sender for p in parts if _nominated(p)}):
        # what a nominated release may download: those ready in the store now (the batch's own
        # changes decide, when it comes to the release, which of these and of its own are ready)
        ids = session.scalars(_ready_for(pharmacy).with_only_columns(_RX.c.prescription_id))
        for chunk in _chunks([pid for pid in ids if pid not in known]):
            known.update(_read_held(session, chunk))
    new_rows: list[dict] = []
    held_changed: list[dict[str, Any]] = []  # messages that were pending before this batch
    fed: list[tuple[_Held, RecordFeed]] = []
    for n, ps in parsed_all:
        plan: list[tuple[Parsed, _Held | None]] = []
        try:
            for parsed in ps:
                key = (parsed.sender, parsed.message_id)
                if key in seen:
                    if not same_content(seen[key], _reread(parsed, datas[n])):
                        raise MessageRefused(
                            "duplicate",
                            "this sender already sent a different message with the same message id",
                            "Bundle.identifier",
                        )
                    result.replays += 1
                    continue
                p = known.get(parsed.prescription_id)
                if parsed.event == ORDER and p is not None:
                    raise MessageRefused(
                        "duplicate",
                        f"prescription {parsed.prescription_id} was already received in another "
                        "message",
                        "MedicationRequest.groupIdentifier.value",
                    )
                if p is not None:
                    _check(p, parsed)
                plan.append((parsed, p))
        except MessageRefused as exc:
            result.refused.append((n, exc.diagnostics))
            continue
        outcome = "applied" if plan else "replay"
        for parsed, p in plan:
            seen[(parsed.sender, parsed.message_id)] = parsed.content_hash
            if _nominated(parsed):
                ready = [
                    h
                    for h in known.values()
                    if h.nominated_pharmacy == parsed.sender and h.status_code == "0001"
                ]
                ready.sort(key=lambda h: (h.id is None, h.id or 0))  # as _ready_for orders them
                for rx in ready:
                    _apply(rx, parsed)
                new_rows.append(_row(parsed, "applied"))
                result.applied += 1
                continue
            if parsed.event == ORDER:
                p = known[parsed.prescription_id] = _held_prescription(parsed, now)
                feed = RecordFeed()
                for held in waiting.pop(parsed.prescription_id, []):
                    early = _parse_one(held["payload"] or {}, held["message_id"])
                    try:
                        _check(p, early)
                    except MessageRefused:
                        held["state"] = "unmatched"
                    else:
                        feed.add(_apply(p, early))
                        held["state"], held["payload"] = "applied", None
                        result.pending_applied += 1
                    if "id" in held:
                        held_changed.append(held)
                new_rows.append(_row(parsed, "applied"))
                result.applied += 1
            elif p is None:
                row = _row(_reread(parsed, datas[n]), "pending", keep=True)
                new_rows.append(row)
                waiting.setdefault(parsed.prescription_id, []).append(row)
                result.pending += 1
                outcome = "pending"
                continue
            else:
                feed = _apply(p, parsed)
                new_rows.append(_row(parsed, "applied"))
                result.applied += 1
            if feed:
                fed.append((p, feed))
        result.outcomes.append((n, outcome))
    _write_held(session, known, new_rows)
    _Driver(session).update(_MSG, ("state", "payload"), held_changed)
    for obj in list(session.identity_map.values()):  # ORM copies of rows written beside it
        if isinstance(obj, (Prescription, PrescriptionItem, PrescriptionEvent, EpsMessage)):
            session.expire(obj)
    if feed_record:
        for p, feed in fed:
            feed_medication_record(session, cast(Prescription, p), feed)
    session.flush()
    return result


def expire_due(session: Session, as_of: date) -> int:
    """Expire the prescriptions whose validity ended before ``as_of`` (items not yet dispensed
    become Expired, a timeline step is added). Returns how many prescriptions expired."""
    due = session.scalars(
        select(Prescription)
        .options(selectinload(Prescription.items), selectinload(Prescription.events))
        .where(
            Prescription.expiry_date < as_of,
            Prescription.status_code.in_(("0001", "0002", "0003")),
        )
    ).all()
    for p in due:
        before = p.status_code
        rules.expire(p.items)
        p.status_code = rules.prescription_status(i.status_code for i in p.items)
        moment = datetime.combine(p.expiry_date or as_of, datetime.max.time()).replace(
            microsecond=0
        )
        _event(p, moment, "expired", before, None)
    session.flush()
    return len(due)
