"""eMAR batch ingest benchmark (issue 17: ≥ 100,000 administrations/s batch).

One care home's CSV export (residents × 8 medicines × 3 rounds a day × days) is read and stored
through ``ipmo.carehomes.actions.ingest_rows`` — CSV parse and checks, each resident access-
checked and audited, on-record flags, duplicates found in bulk, committed — and the same file is
sent again (every row a duplicate). The baseline, measured in the same run on a slice of the same
rows, is the first version of the ingest: one ORM object per dose with one existence query and a
flush each.

    uv run python bench/bench_carehomes_ingest.py [--rows 200000] [--baseline-rows 3000]
        [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import nhs_number
from sqlalchemy import create_engine, select, text

from ipmo import hooks
from ipmo.carehomes.actions import emar_feed, ingest_rows
from ipmo.carehomes.administrations import csv_rows
from ipmo.carehomes.models import AdministrationRow, ImportRow
from ipmo.organisations import Organisation, OrgKind
from ipmo.patients import MedicationIssue, Patient
from ipmo.store import create_store_engine, init_store, session_scope

HOME = "VBENCH"
NOW = datetime(2026, 12, 1, tzinfo=UTC)
MEDICINES = [(f"{3_000_000 + i}", f"Medicine {i} 10mg tablets") for i in range(8)]
ROUNDS = (8, 13, 18)
OUTCOMES = ["given"] * 92 + ["refused"] * 5 + ["omitted"] * 2 + ["withheld"]


def nhs_numbers(n: int) -> list[str]:
    out, base = [], 999_000_000
    while len(out) < n:
        stem = str(base)
        check = nhs_number.calculate_checksum(stem)
        if check != 10:
            out.append(stem + str(check))
        base += 1
    return out


def make_csv(residents: list[str], rows: int) -> str:
    buf = io.StringIO()
    buf.write("administration_id,nhs_number,medicine_code,medicine_name,outcome,at,scheduled_at\n")
    start = NOW - timedelta(days=1 + rows // (len(residents) * len(MEDICINES) * len(ROUNDS)))
    n = 0
    day = 0
    while n < rows:
        for hour in ROUNDS:
            rnd = (start + timedelta(days=day, hours=hour)).replace(tzinfo=None)
            sched = rnd.isoformat() + "Z"
            for r, nhs in enumerate(residents):
                at = (rnd + timedelta(minutes=(r * 7) % 45)).isoformat() + "Z"
                for code, name in MEDICINES:
                    outcome = OUTCOMES[(n * 7919) % len(OUTCOMES)]
                    buf.write(f"e{n},{nhs},{code},{name},{outcome},{at},{sched}\n")
                    n += 1
                    if n == rows:
                        return buf.getvalue()
        day += 1
    return buf.getvalue()


def seed(engine, residents: list[str]) -> None:
    init_store(engine)
    with session_scope(engine) as s:
        s.add(Organisation(ods_code=HOME, name="Bench Care Home", kind=OrgKind.CARE_HOME))
        s.flush()
        for nhs in residents:
            p = Patient(
                nhs_number=nhs,
                given_name="Bench",
                family_name="Resident",
                birth_date=date(1935, 1, 1),
                sex="female",
                care_home_code=HOME,
            )
            s.add(p)
            s.flush()
            for code, name in MEDICINES[:7]:  # the 8th is "not on the record": flagged
                s.add(
                    MedicationIssue(
                        patient_id=p.id,
                        dmd_code=code,
                        name=name,
                        issue_date=date(2026, 11, 1),
                        issue_type="repeat",
                    )
                )


def batch(engine, data: str) -> tuple[float, float, object]:
    """Wall seconds, this process's CPU seconds, the result."""
    t0, c0 = time.perf_counter(), time.process_time()
    rows = csv_rows(data, "bench.csv")
    with session_scope(engine) as s:
        result = ingest_rows(s, emar_feed(HOME), HOME, rows, "csv", NOW)
    return time.perf_counter() - t0, time.process_time() - c0, result


def baseline(engine, data: str) -> float:
    """The first ingest: per dose an existence query, an ORM object and a flush."""
    rows = csv_rows(data, "baseline.csv")
    t0 = time.perf_counter()
    with session_scope(engine) as s:
        ids = {n: i for n, i in s.execute(select(Patient.nhs_number, Patient.id))}
        batch_row = ImportRow(care_home_code=HOME, source_format="csv", sent_by="bench")
        s.add(batch_row)
        s.flush()
        for r in rows:
            pid = ids[r[1]]
            exists = s.scalar(
                select(AdministrationRow.id).where(
                    AdministrationRow.patient_id == pid, AdministrationRow.identifier == r[0]
                )
            )
            if exists is None:
                s.add(
                    AdministrationRow(
                        patient_id=pid,
                        care_home_code=HOME,
                        identifier=r[0] + "b",
                        medicine_code=r[2],
                        medicine_name=r[3],
                        outcome=r[4],
                        at=r[5] - timedelta(days=3650),
                        scheduled_at=None,
                        dose_round=r[5] - timedelta(days=3650),
                        import_id=batch_row.id,
                    )
                )
                s.flush()
    return time.perf_counter() - t0


def run(label: str, engine, rows: int, baseline_rows: int, residents: list[str]) -> None:
    seed(engine, residents)
    data = make_csv(residents, rows)
    t_parse = time.perf_counter()
    csv_rows(data, "bench.csv")
    t_parse = time.perf_counter() - t_parse
    t_first, cpu_first, first = batch(engine, data)
    t_again, _cpu, again = batch(engine, data)
    t_base = baseline(engine, make_csv(residents, baseline_rows))
    rate, base_rate = rows / t_first, baseline_rows / t_base
    print(f"[{label}] {rows:,} administrations, {len(residents)} residents, 8 medicines")
    print(f"  CSV parse + checks only      {rows / t_parse:>12,.0f} /s")
    print(
        f"  first batch (parse + store)  {rate:>12,.0f} /s  "
        f"({first.added:,} added, {len(first.not_on_record):,} flagged not on record)"  # type: ignore[attr-defined]
    )
    print(f"  first batch, per CPU second   {rows / cpu_first:>12,.0f} /s  (this process only)")
    print(
        f"  same file again (duplicates) {rows / t_again:>12,.0f} /s  "
        f"({again.added:,} added, {again.unchanged:,} already held)"  # type: ignore[attr-defined]
    )
    print(f"  baseline (ORM row by row)    {base_rate:>12,.0f} /s  on {baseline_rows:,}")
    print(f"  ratio first batch / baseline {rate / base_rate:>12,.1f}x  (target ≥ 100,000/s)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--baseline-rows", type=int, default=3_000)
    ap.add_argument("--residents", type=int, default=60)
    ap.add_argument("--pg", help="PostgreSQL URL of a server database to create a bench DB in")
    args = ap.parse_args()
    residents = nhs_numbers(args.residents)
    hooks.offered("PATIENT_RELATIONSHIPS")  # the access policy's one-off discovery, not timed
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_store_engine(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        run("SQLite", engine, args.rows, args.baseline_rows, residents)
        engine.dispose()
    if args.pg:
        name = f"ipmo_bench_carehomes_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f"CREATE DATABASE {name}"))
        url = args.pg.rsplit("/", 1)[0] + "/" + name
        try:
            engine = create_store_engine(url)
            run("PostgreSQL", engine, args.rows, args.baseline_rows, residents)
            engine.dispose()
        finally:
            with admin.connect() as c:
                c.execute(text(f"DROP DATABASE IF EXISTS {name}"))
            admin.dispose()


if __name__ == "__main__":
    main()
