"""Audit appends under concurrency (issue 20): the old single-head design against the new one.

Each of N threads (1, 8, 32) runs "audited requests" back to back, each in its own transaction:
read one row (the access check's query), ``audit.append`` an entry, then ``--work-ms`` of further
request time (sleep: the rest of the handler, rendering; the GIL is released as it would be while
a worker waits on the database or the network), then commit. Per store (SQLite file, scratch
PostgreSQL database) and design:

- **old**: one chain and the entry written at append time (``audit.flush`` right after
  ``append``), so the head row is locked from the access check to the commit — what
  ``security/audit.py`` did before decision 0008.
- **new**: the entry is queued and written just before commit, on one of ``IPMO_AUDIT_CHAINS``
  chains (default: 8 on PostgreSQL, 1 on SQLite), so a head row is held for the commit only.
- **late1** (``--designs old,late1,new``): written just before commit but on one chain, to
  separate the two changes on PostgreSQL (on SQLite it is the same as new).

Printed per cell: appends/s, p50/p95 request latency (begin → commit), errors (any exception, e.g.
SQLite "database is locked"), and new/old ratios; the log is verified at the end of each cell.

Run: uv run python bench/bench_audit.py [--seconds 5] [--work-ms 5] [--threads 1,8,32]
     [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--no-postgres]

Measured: see docs/decisions/0008-audit-for-concurrent-users.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from ipmo.security import audit
from ipmo.security.models import AuditHead
from ipmo.store import create_store_engine, init_store


@contextmanager
def store(kind: str, tmp: Path, pg_url: str) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp / f'audit-{uuid.uuid4().hex[:6]}.sqlite3'}"
        return
    name = f"ipmo_bench_audit_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield pg_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run_cell(url: str, design: str, threads: int, seconds: float, work_ms: float) -> dict:
    os.environ.pop("IPMO_AUDIT_CHAINS", None)
    if design in ("old", "late1"):
        os.environ["IPMO_AUDIT_CHAINS"] = "1"
    engine = create_store_engine(url)
    init_store(engine)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds
    start_gate = threading.Barrier(threads)

    def worker(i: int) -> None:
        mine: list[float] = []
        start_gate.wait()
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            try:
                with Session(engine) as s:
                    s.execute(select(AuditHead.id).limit(1)).all()  # the access check's read
                    audit.append(
                        s,
                        username=f"user{i}",
                        role_code="gp",
                        org_code="A10001",
                        action="patient.read",
                        patient_nhs_number="9990000018",
                        reason="registration",
                    )
                    if design == "old":
                        audit.flush(s)  # written (and the head locked) at the access check
                    time.sleep(work_ms / 1000)  # the rest of the request
                    s.commit()
                mine.append(time.perf_counter() - t0)
            except Exception as exc:  # noqa: BLE001 - counted and reported
                with lock:
                    errors.append(type(exc).__name__ + ": " + str(exc).splitlines()[0][:80])
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    t0 = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - t0
    with Session(engine) as s:
        result = audit.verify(s)
    engine.dispose()
    latencies.sort()
    q = statistics.quantiles(latencies, n=20) if len(latencies) > 1 else latencies * 19
    return {
        "appends_s": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p95_ms": q[18] * 1000 if latencies else float("nan"),
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
        "verified": result.ok and result.entries == len(latencies),
        "chains": result.chains,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--work-ms", type=float, default=5)
    ap.add_argument("--threads", default="1,8,32")
    ap.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "IPMO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--designs", default="old,new", help="old, new and/or late1")
    args = ap.parse_args()
    counts = [int(x) for x in args.threads.split(",")]
    kinds = ["sqlite"] + ([] if args.no_postgres else ["postgresql"])
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        os.environ["IPMO_AUDIT_KEY"] = "bench-audit-key"
        os.environ["IPMO_AUDIT_CHECKPOINTS"] = str(tmp / "checkpoints.jsonl")
        print(
            f"{args.seconds:g} s per cell, {args.work_ms:g} ms of request work after the access "
            f"check; load average {os.getloadavg()[0]:.1f}"
        )
        header = f"{'store':<10} {'threads':>7} {'design':<6} {'appends/s':>10} {'p50 ms':>8} "
        print(header + f"{'p95 ms':>8} {'errors':>6} {'chains':>6} verified")
        for kind in kinds:
            for n in counts:
                cells = {}
                for design in args.designs.split(","):
                    with store(kind, tmp, args.postgres_url) as url:
                        r = cells[design] = run_cell(url, design, n, args.seconds, args.work_ms)
                    print(
                        f"{kind:<10} {n:>7} {design:<6} {r['appends_s']:>10.0f} "
                        f"{r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f} {r['errors']:>6} "
                        f"{r['chains']:>6} {r['verified']} {r['first_error']}"
                    )
                if "old" not in cells or "new" not in cells:
                    continue
                old, new = cells["old"], cells["new"]
                speedup = new["appends_s"] / old["appends_s"]
                print(
                    f"{kind:<10} {n:>7} new/old: appends/s x{speedup:.2f}"
                    f", p95 x{new['p95_ms'] / old['p95_ms']:.2f}"
                )


if __name__ == "__main__":
    main()
