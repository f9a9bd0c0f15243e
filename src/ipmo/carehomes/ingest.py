"""Batch storage of eMAR administrations: checks in one pass, duplicates found in bulk.

No ORM object per dose (a home sends thousands a day, an ICS ~90 million a year). The batch is
checked in Python over plain :data:`Row` tuples; the administrations the store already holds
(same resident, dose round, medicine and outcome) are found with one range query on the round
index, and the rest loaded in bulk (sqlite3 ``executemany`` / PostgreSQL ``COPY``, through
``ipmo.synth.BulkWriter``). Everything runs in the caller's transaction, so a refusal stores
nothing.

Access is not decided here: :func:`ipmo.carehomes.actions.ingest_rows` resolves (and audits)
each resident through the access policy first and passes their patient ids in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import getitem

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from ipmo.carehomes.administrations import ROW_FIELDS, Row
from ipmo.carehomes.models import AdministrationRow, ImportRow
from ipmo.patients import MedicationIssue
from ipmo.synth import BulkWriter

# a clock a few minutes ahead on the home's tablet is not a future dose; more is (ipmo's choice)
FUTURE_TOLERANCE = timedelta(minutes=5)
# "on the record": issued by the GP practice within the last year (ipmo's choice; the One
# Medication Record's current list would be better once every resident has one)
ON_RECORD_WINDOW = timedelta(days=365)
TABLE = "carehome_administrations"
# the stored columns, in the order the rows are loaded: a Row's fields without the NHS number
COLUMNS = (
    "patient_id",
    "care_home_code",
    *(f for f in ROW_FIELDS if f != "nhs_number"),
    "dose_round",
    "not_on_record",
    "import_id",
)


class IngestError(ValueError):
    """A batch that cannot be accepted; ``where`` names the administration."""

    def __init__(self, message: str, where: str | None = None) -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where


@dataclass
class IngestResult:
    added: int = 0
    unchanged: int = 0  # already held (same identifier, or same medicine, round and outcome)
    not_on_record: list[str] = field(default_factory=list)  # identifiers of flagged doses added


def check_rows(rows: Sequence[Row], now: datetime) -> set[str]:
    """Refuse a batch with a dose without an NHS number or timed in the future (IngestError
    naming the administration); the residents' NHS numbers otherwise."""
    naive_now = now.astimezone(UTC).replace(tzinfo=None)
    latest, latest_round = naive_now + FUTURE_TOLERANCE, naive_now + timedelta(days=1)
    residents: set[str] = set()
    for row in rows:
        identifier, nhs, at, scheduled = row[0], row[1], row[5], row[6]
        if nhs is None:
            raise IngestError(
                "no NHS number for the resident (subject.identifier)",
                f"administration {identifier}",
            )
        if at > latest or (scheduled is not None and scheduled > latest_round):
            raise IngestError("timed in the future", f"administration {identifier}")
        residents.add(nhs)
    return residents


def _on_record(session: Session, patient_ids: list[int], now: datetime) -> set[tuple[int, str]]:
    since = (now - ON_RECORD_WINDOW).date()
    rows = session.execute(
        select(
            MedicationIssue.patient_id,
            MedicationIssue.dmd_code,
            MedicationIssue.vmp_code,
            MedicationIssue.vtm_code,
        ).where(MedicationIssue.patient_id.in_(patient_ids), MedicationIssue.issue_date >= since)
    )
    return {(pid, code) for pid, *codes in rows for code in codes if code}


def _held(
    session: Session, patient_ids: list[int], first: datetime, last: datetime
) -> set[tuple[int, datetime, str, str]]:
    """Round keys the store already holds for these residents between two rounds: one range
    query on the round index (a new day's file finds nothing; a re-sent one finds every row)."""
    t = AdministrationRow
    rows = session.execute(
        select(t.patient_id, t.dose_round, t.medicine_code, t.outcome).where(
            t.patient_id.in_(patient_ids), t.dose_round >= first, t.dose_round <= last
        )
    )
    return {(pid, when, code, outcome) for pid, when, code, outcome in rows}


def store_rows(
    session: Session,
    home_code: str,
    rows: Sequence[Row],
    patient_ids: Mapping[str, int],
    batch: ImportRow,
    now: datetime,
) -> IngestResult:
    """Store checked rows for residents already resolved (``patient_ids`` by NHS number) under
    ``batch`` (an import row already flushed, whose counts are filled in here).

    Idempotent on (resident, dose round, medicine, outcome): a key the store holds, or one seen
    earlier in the batch, is counted as unchanged. Two imports of the same home at the same
    moment can still race: the unique index then refuses the second (retry it)."""
    if not rows:
        return IngestResult()
    pids = sorted(set(patient_ids.values()))
    on_record = _on_record(session, pids, now)
    held = _held(session, pids, min(r[6] or r[5] for r in rows), max(r[6] or r[5] for r in rows))
    connection = session.connection()
    # SQLite keeps SQLAlchemy's DateTime as text: hand it that text (the driver's own datetime
    # adapter is a Python call per value); PostgreSQL's COPY takes the datetimes themselves.
    stamp = _SqliteText() if connection.dialect.name == "sqlite" else _Same()
    # per (resident, medicine): the patient id and whether the dose is off the record — a
    # batch has a few hundred such pairs among its 100,000s of doses
    pairs = {
        (nhs, code): (pid, (pid, code) not in on_record)
        for nhs, code in {(r[1], r[2]) for r in rows}
        for pid in (patient_ids[nhs],)
    }
    result = IngestResult()
    flagged_ids = result.not_on_record
    out: list[tuple] = []
    append = out.append
    home, import_id = home_code, batch.id
    for ident, nhs, code, name, outcome, at, scheduled, reason, dv, du, route, prn, cov in rows:
        pid, flagged = pairs[nhs, code]
        dose_round = scheduled or at
        key = (pid, dose_round, code, outcome)
        if key in held:
            continue
        held.add(key)
        if flagged:
            flagged_ids.append(ident)
        append(
            (
                pid,
                home,
                ident,
                code,
                name,
                outcome,
                stamp[at],
                stamp[scheduled],
                reason,
                dv,
                du,
                route,
                prn,
                cov,
                stamp[dose_round],
                flagged,
                import_id,
            )
        )
    if connection.dialect.name == "postgresql":
        _copy(connection, out)
    else:
        BulkWriter(connection, tune=False).insert(TABLE, list(COLUMNS), out)
    result.added = len(out)
    result.unchanged = len(rows) - len(out)
    batch.added, batch.unchanged = result.added, result.unchanged
    batch.not_on_record = len(result.not_on_record)
    return result


class _SqliteText(dict):
    """SQLAlchemy's SQLite DATETIME storage text (``2026-03-10 08:00:00.000000``) of each time,
    formatted once (a batch has a few thousand distinct times)."""

    def __missing__(self, value: datetime | None) -> str | None:
        text = self[value] = value.isoformat(" ", "microseconds") if value is not None else None
        return text


class _Same(dict):
    """PostgreSQL's COPY takes the datetimes as they are."""

    def __missing__(self, value: datetime | None) -> datetime | None:
        self[value] = value
        return value


# COPY's text format: these four characters are escaped in a value; \N is NULL
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


class _CopyText(dict):
    """One column's values as COPY's text format writes them, each formatted once. One
    instance per column: ``True == 1 == 1.0`` as dictionary keys."""

    def __missing__(self, value: object) -> str:
        if value is None:
            text = "\\N"
        elif isinstance(value, bool):
            text = "t" if value else "f"
        elif isinstance(value, datetime):
            text = value.isoformat(" ")
        else:
            text = str(value).translate(_COPY_ESCAPES)
        self[value] = text
        return text


def _copy(connection: Connection, rows: list[tuple]) -> None:
    """PostgreSQL: the rows as one COPY text stream, formatted here rather than by psycopg's
    ``write_row`` (a Python call and a type lookup per value: most of the client's time).
    Each column's repeating values (codes, names, times, flags) are formatted once."""
    columns = [_CopyText() for _ in COLUMNS[3:]]
    lines = [
        f"{pid}\t{home.translate(_COPY_ESCAPES)}\t{ident.translate(_COPY_ESCAPES)}\t"
        + "\t".join(map(getitem, columns, rest))
        + "\n"
        for pid, home, ident, *rest in rows  # the identifier is unique: not kept
    ]
    raw = connection.connection.dbapi_connection
    if raw is None:  # only after the pooled connection was invalidated
        raise RuntimeError("COPY needs a live database connection")
    cursor = raw.cursor()
    try:
        with cursor.copy(f"COPY {TABLE} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for start in range(0, len(lines), 50_000):
                copy.write("".join(lines[start : start + 50_000]))
    finally:
        cursor.close()
