"""Soak (issue 20): the load benchmark's mix at a steady rate for a long time, watching for leaks.

Runs ``ipmo serve --workers N`` on the demo ICS (as ``bench_load.py`` prepares it) and drives it
with Locust at a fixed rate (``--rate`` requests/s in all: 50 % of the peak ``bench_load.py``
measured) for ``--minutes`` (30 by default). Every ``--every`` seconds it samples, per worker
process, the resident memory (RSS) and open file descriptors, and on PostgreSQL the number of
connections to the database. At the end it checks:

* memory of every worker flat within 10 % (last sample against the median of the second quarter,
  after warm-up), and no growth of file descriptors or database connections;
* no request failed;
* the audit chain verifies (``ipmo audit verify``);
* stored writes equal acknowledged ones: referrals in the store grew by exactly the number of
  ``referral sent`` requests answered 201.

    uv run python bench/bench_soak.py --rate 150 [--minutes 30] [--store sqlite|postgres]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_load import (  # noqa: E402 - the same store, server and plan as the load bench
    LOCUSTFILE,
    _env,
    _pg_database,
    expected_refusals,
    plan,
    prepare,
    serve,
    workers_of,
)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def referral_count(url: str) -> int:
    from ipmo.referrals.models import Referral

    engine = create_engine(url)
    with engine.connect() as conn:
        n = conn.scalar(select(func.count()).select_from(Referral.__table__))
    engine.dispose()
    return int(n or 0)


def pg_connections(url: str, database: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        n = conn.scalar(
            text("select count(*) from pg_stat_activity where datname = :d"), {"d": database}
        )
    engine.dispose()
    return int(n or 0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, required=True, help="requests/s in all")
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--every", type=float, default=30, help="seconds between samples")
    ap.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--data-dir", type=Path, default=Path("/tmp/ipmo-load-demo"))
    args = ap.parse_args()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    pg_url = _pg_database("ipmo_load_demo") if args.store == "postgres" else None
    prepare(args.data_dir, pg_url)
    store_url = pg_url or f"sqlite:///{args.data_dir / 'ipmo.sqlite3'}"
    before = referral_count(store_url)
    proc, base = serve(args.data_dir, pg_url, args.workers)
    samples: list[dict] = []
    stop = threading.Event()

    def sample() -> None:
        started = time.monotonic()
        while not stop.is_set():
            row = {"t": round(time.monotonic() - started)}
            for pid in workers_of(proc.pid):
                try:
                    row[f"rss_mb:{pid}"] = round(rss_mb(pid), 1)
                    row[f"fds:{pid}"] = open_fds(pid)
                except FileNotFoundError:
                    continue
            if pg_url:
                row["pg_connections"] = pg_connections(pg_url, "ipmo_load_demo")
            samples.append(row)
            print(json.dumps(row), flush=True)
            stop.wait(args.every)

    try:
        plan_file = args.data_dir / f"plan-soak-{args.store}.json"
        plan(base, plan_file)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        out = args.data_dir / f"soak-{args.store}"
        env = {
            **os.environ,
            "IPMO_LOAD_PLAN": str(plan_file),
            # each user paced so that all together ask for about --rate requests/s
            "IPMO_LOAD_TASKS_PER_USER_PER_SECOND": str(args.rate / args.users),
        }
        subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", base,
             "-u", str(args.users), "-r", str(args.users), "-t", f"{int(args.minutes * 60)}s",
             "--csv", str(out), "--only-summary", "--loglevel", "WARNING"],
            env=env,
            check=False,
        )  # fmt: skip
        stop.set()
        sampler.join(timeout=60)
        with open(f"{out}_stats.csv") as f:
            rows = {r["Name"]: r for r in csv.DictReader(f)}
    finally:
        stop.set()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()

    total = rows["Aggregated"]
    sent = rows.get("referral sent")
    acknowledged = int(sent["Request Count"]) - int(sent["Failure Count"]) if sent else 0
    stored = referral_count(store_url) - before
    expected = expected_refusals(Path(f"{out}_failures.csv"))
    print(
        f"\n{args.store}: {float(total['Requests/s']):.1f} req/s for {args.minutes:g} min, "
        f"{total['Request Count']} requests, {int(total['Failure Count']) - expected} failed "
        f"(and {expected} expected refusals: no pharmacy open), "
        f"p50 {total['50%']} ms, p99 {total['99%']} ms"
    )
    keys = sorted({k for s in samples for k in s if k != "t"})
    quarter = max(1, len(samples) // 4)
    flat = True
    for key in keys:
        series = [s[key] for s in samples if key in s]
        if len(series) < 4:
            continue
        settled = statistics.median(series[quarter : 2 * quarter] or series[:1])
        change = (series[-1] - settled) / settled if settled else 0.0
        ok = change <= 0.10 if key.startswith("rss") else series[-1] <= max(series[:quarter]) + 2
        flat &= ok
        print(
            f"{key:24} first {series[0]:>8} settled {settled:>8} last {series[-1]:>8} "
            f"max {max(series):>8}  {'flat' if ok else 'GROWING'} ({change:+.1%})"
        )
    env = _env(args.data_dir, pg_url)
    verify = subprocess.run(
        [sys.executable, "-m", "ipmo", "audit", "verify"], env=env, capture_output=True, text=True
    )
    print(f"audit: {verify.stdout.strip() or verify.stderr.strip()}")
    print(
        f"referrals: {acknowledged} acknowledged, {stored} stored "
        f"({'equal' if acknowledged == stored else 'DIFFERENT'})"
    )
    print(f"memory and handles flat: {flat}")
    (args.data_dir / f"soak-{args.store}.json").write_text(json.dumps(samples))


if __name__ == "__main__":
    main()
