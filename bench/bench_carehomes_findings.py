"""Care-home findings over a synthetic year of eMAR administrations on DuckDB (issue 17: an ICS's
year ≈ 10,000 residents × 8 medicines × 3 rounds a day ≈ 90 million doses, ≤ 60 s, ≤ 8 GB).

A year is generated in DuckDB straight to Parquet (residents × 8 medicines × 3 rounds × 365
days; refusals, omissions, PRN, covert, late Parkinson's doses, antipsychotics, dementia), then
``ipmo.carehomes.findings_sql`` computes every finding over it, writing them to Parquet. The
baseline, in the same run, is the Python engine (``findings.all_findings``) over a sample of the
same residents, per dose. Peak memory is this process's maximum resident set (DuckDB runs in it);
the year is generated in a child process, so generating it does not count.

The generated year is kept under ``--cache`` (default: the system temp dir), one folder per
number of residents, and reused by the next run (``--fresh`` generates it again): 90 million
doses take minutes to generate and the query seconds.

    uv run python bench/bench_carehomes_findings.py [--residents 1000] [--baseline-residents 100]
        [--cache DIR] [--fresh] [--explain]
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from ipmo.carehomes.administrations import Administration
from ipmo.carehomes.findings import all_findings
from ipmo.carehomes.findings_sql import Inputs, findings_query, prn_on_record_from

AS_OF = datetime(2026, 12, 31, 23, 0, tzinfo=UTC)
ROUNDS = (8, 13, 18)
MEDICINES = [
    ("3001", "Sertraline 50mg tablets"),
    ("3002", "Co-careldopa 25mg/100mg tablets"),
    ("3003", "Risperidone 500microgram tablets"),
    ("3004", "Amlodipine 5mg tablets"),
    ("3005", "Furosemide 40mg tablets"),
    ("3006", "Donepezil 10mg tablets"),
    ("3007", "Omeprazole 20mg capsules"),
    ("3008", "Metformin 500mg tablets"),
    ("3009", "Paracetamol 500mg tablets"),
    ("3010", "Lactulose 3.35g/5ml oral solution"),
    ("3011", "Quetiapine 25mg tablets"),
    ("3012", "Levothyroxine 50microgram tablets"),
]


GENERATION = 1  # bump when generate() changes what it writes: cached years are then remade


def cached_year(cache: Path, residents: int, fresh: bool, threads: int) -> tuple[Path, float]:
    """The generated year's folder (made if missing, in a child process) and the seconds it
    took to make (0 when reused)."""
    path = cache / f"year-{residents}-v{GENERATION}"
    if fresh and path.exists():
        shutil.rmtree(path)
    if (path / "complete").exists():
        return path, 0.0
    work = cache / f"year-{residents}-v{GENERATION}.partial"
    shutil.rmtree(work, ignore_errors=True)
    work.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    child = multiprocessing.get_context("spawn").Process(
        target=_generate_in_child, args=(residents, work, threads)
    )
    child.start()
    child.join()
    if child.exitcode != 0:
        raise SystemExit(f"generating the year failed (exit code {child.exitcode})")
    (work / "complete").touch()
    work.rename(path)
    return path, time.perf_counter() - t0


def _generate_in_child(residents: int, path: Path, threads: int) -> None:
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}; SET memory_limit = '8GB'")
    generate(con, residents, path / "administrations")


def generate(con: duckdb.DuckDBPyConnection, residents: int, path: Path) -> int:
    """One Parquet file per month under ``path`` (as a year of monthly eMAR extracts would
    arrive: each file's times lie in its month, so a query for the last weeks skips the rest)."""
    path.mkdir(parents=True)
    meds = ", ".join(f"({i}, '{c}', '{n}')" for i, (c, n) in enumerate(MEDICINES))
    con.execute(f"CREATE TABLE meds AS SELECT * FROM (VALUES {meds}) t(i, code, name)")
    # per resident 8 of the 12 medicines (slot 7: a PRN medicine); per dose a hash decides the
    # outcome (≈ 3% refused, 1.5% omitted, 1% withheld), lateness and covert administration
    for month in range(12):
        first, last = _month_days(month)
        _generate_days(con, residents, first, last, path / f"month-{month + 1:02d}.parquet")
    n = con.execute(f"SELECT count(*) FROM read_parquet('{path}/*.parquet')").fetchone()
    return int(n[0]) if n else 0


def _month_days(month: int) -> tuple[int, int]:
    starts = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365]
    return starts[month], starts[month + 1]


def _generate_days(
    con: duckdb.DuckDBPyConnection, residents: int, first: int, last: int, path: Path
) -> None:
    start = "TIMESTAMP '2026-01-01 00:00:00'"
    con.execute(
        f"""COPY (
        WITH doses AS (
            SELECT r.range AS resident, s.range AS slot, d.range AS day, k.range AS round,
                hash(r.range, s.range, d.range, k.range) % 10000 AS h
            FROM range({first}, {last}) d, range(3) k, range({residents}) r, range(8) s
        )
        SELECT resident,
            'e' || resident || '-' || slot || '-' || day || '-' || round AS identifier,
            m.code AS medicine_code, m.name AS medicine_name,
            CASE WHEN slot = 7 AND h % 10 > 2 THEN 'omitted'
                 WHEN h < 300 THEN 'refused' WHEN h < 450 THEN 'omitted'
                 WHEN h < 550 THEN 'withheld' ELSE 'given' END AS outcome,
            {start} + to_days(CAST(day AS INTEGER))
                + to_hours(CAST([{", ".join(map(str, ROUNDS))}][round + 1] AS INTEGER))
                + to_minutes(CAST(h % 50 AS INTEGER)) AS "at",
            CASE WHEN slot = 7 THEN NULL ELSE {start} + to_days(CAST(day AS INTEGER))
                + to_hours(CAST([{", ".join(map(str, ROUNDS))}][round + 1] AS INTEGER)) END
                AS scheduled_at,
            slot = 7 AS prn,
            resident % 50 = 0 AND slot = 0 AS covert
        FROM doses JOIN meds m ON m.i = (doses.resident * 7 + doses.slot * 5) % {len(MEDICINES)}
        ORDER BY "at") TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 500000)"""
    )


def baseline(con: duckdb.DuckDBPyConnection, path: Path, residents: int) -> tuple[int, float]:
    """The Python engine over the first ``residents``' year: (doses, seconds)."""
    rows = con.execute(
        f"""SELECT resident, identifier, medicine_code, medicine_name, outcome, "at",
            scheduled_at, prn, covert FROM read_parquet('{path}/*.parquet')
            WHERE resident < {residents} ORDER BY resident, "at", identifier"""
    ).fetchall()
    by_resident: dict[int, list[Administration]] = {}
    for r, ident, code, name, outcome, at, sched, prn, covert in rows:
        by_resident.setdefault(r, []).append(
            Administration(
                ident,
                None,
                code,
                name,
                outcome,
                at.replace(tzinfo=UTC),
                sched.replace(tzinfo=UTC) if sched else None,
                prn=prn,
                covert=covert,
            )
        )
    t0 = time.perf_counter()
    for r, admins in by_resident.items():
        all_findings(admins, AS_OF, {}, set(), r % 3 == 0)
    return len(rows), time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--residents", type=int, default=1000)
    ap.add_argument("--baseline-residents", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "ipmo-bench-ch")
    ap.add_argument("--fresh", action="store_true", help="generate the year again")
    ap.add_argument("--explain", action="store_true", help="print DuckDB's EXPLAIN ANALYZE")
    args = ap.parse_args()
    year, t_gen = cached_year(args.cache, args.residents, args.fresh, args.threads)
    path = year / "administrations"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "findings.parquet"
        con = duckdb.connect()
        con.execute(f"SET threads = {args.threads}; SET memory_limit = '8GB'")
        con.execute(f"SET temp_directory = '{tmp}'")
        adm = f"read_parquet('{path}/*.parquet')"
        inputs = Inputs(
            adm,
            prn_on_record=prn_on_record_from(adm),
            # every third resident has dementia on the GP record (not read from the doses)
            dementia=f"(SELECT range AS resident FROM range(0, {args.residents}, 3))",
        )
        with open("/proc/loadavg") as f:
            load = f.read().split()[:3]
        t0, c0 = time.perf_counter(), time.process_time()
        con.execute(f"COPY ({findings_query(con, inputs, AS_OF)}) TO '{out}' (FORMAT parquet)")
        t_sql, cpu_sql = time.perf_counter() - t0, time.process_time() - c0
        peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
        by_rule = con.execute(
            f"SELECT rule, count(*) FROM read_parquet('{out}') GROUP BY rule ORDER BY rule"
        ).fetchall()
        n = int(con.execute(f"SELECT count(*) FROM {adm}").fetchall()[0][0])
        if args.explain:
            plan = con.execute(f"EXPLAIN ANALYZE {findings_query(con, inputs, AS_OF)}").fetchall()
            print(plan[0][1])
        size_gb = sum(f.stat().st_size for f in path.iterdir()) / 1e9
        base_n, t_base = baseline(con, path, args.baseline_residents)
    rate, base_rate = n / t_sql, base_n / t_base
    print(f"synthetic year: {args.residents:,} residents, {n:,} administrations")
    made = f"generated in {t_gen:,.1f} s" if t_gen else "reused"
    print(f"  Parquet {size_gb:.2f} GB, {made} ({year})")
    print(f"  load average before the query {' '.join(load)}")
    print(f"  DuckDB findings: {t_sql:,.1f} s = {rate:,.0f} administrations/s")
    print(f"    CPU {cpu_sql:,.1f} s over {args.threads} threads (others' load shows in wall time)")
    print(f"  peak memory (this process) {peak_gb:.2f} GB; DuckDB memory_limit 8 GB")
    for rule, count in by_rule:
        print(f"    {rule:32} {count:>9,}")
    print(f"  baseline Python engine: {base_rate:,.0f} administrations/s on {base_n:,}")
    print(f"  ratio DuckDB / Python   {rate / base_rate:,.1f}x")
    full = 90_000_000
    if n < full:
        print(
            f"  linear extrapolation to {full:,} (not measured): {full / rate:,.0f} s "
            "(target ≤ 60 s)"
        )


if __name__ == "__main__":
    main()
