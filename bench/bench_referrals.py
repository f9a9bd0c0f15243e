"""Referral benchmarks (issue 5): message ingest through the HTTP API, and the overdue scan.

1. Ingest: a real uvicorn subprocess (--workers, default 1) on a free loopback port with a file
   SQLite store; 4 sender
   threads POST BaRS messages to /fhir/R4/$process-message. Baseline: GET /health in the same run.
   Target ≥ 200 messages/s.
2. Overdue scan: 1,000,000 open referrals (1% past their accept deadline) bulk-loaded; time
   ``overdue_ids`` (the query the worker runs). Baseline: a full ``count(*)`` of the table.
   Target ≤ 10 s.

Run: uv run python bench/bench_referrals.py [--messages 1000] [--open 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from ipmo.organisations.models import Organisation
from ipmo.organisations.sample import seed_sample_ics
from ipmo.referrals.messaging import build_referral_message
from ipmo.referrals.models import Referral
from ipmo.referrals.service import overdue_ids
from ipmo.security.models import User
from ipmo.security.tokens import issue_token
from ipmo.security.users import seed_demo_users
from ipmo.store import create_store_engine, init_store, session_scope

ALWAYS = {d: [["00:00", "00:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ingest(tmp: Path, n: int, threads: int = 4, workers: int = 1) -> None:
    url = f"sqlite:///{tmp / 'ingest.sqlite3'}"
    engine = create_store_engine(url)
    init_store(engine)
    with session_scope(engine) as s:
        seed_sample_ics(s)
        seed_demo_users(s)
        s.query(Organisation).filter(Organisation.ods_code == "FA001").update(
            {"opening_hours": ALWAYS}
        )
        user = s.scalar(select(User).where(User.username == "nhs111"))
        token = issue_token("bench-key", user.id, user.token_generation)
    port = _port()
    env = {
        **os.environ,
        "IPMO_DATABASE_URL": url,
        "IPMO_SECRET_KEY": "bench-key",
        "IPMO_DATA_DIR": str(tmp),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "ipmo.web.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--workers",
            str(workers),
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                httpx.get(base + "/health", timeout=1)
                time.sleep(2 if workers > 1 else 0)  # let every worker finish starting
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        headers = {"Authorization": f"Bearer {token}", "content-type": "application/fhir+json"}
        bodies = [
            json.dumps(
                build_referral_message(
                    message_id=str(uuid.uuid4()),
                    service="urgent-repeat-supply",
                    patient_name="Ada Smith",
                    nhs_number="9990000018",
                    receiver="FA001",
                    summary="Ran out of amlodipine",
                )
            )
            for _ in range(n)
        ]
        clients = [httpx.Client(timeout=30) for _ in range(threads)]

        def run(fn, items):
            t = time.perf_counter()
            with ThreadPoolExecutor(threads) as pool:
                codes = list(
                    pool.map(lambda ib: fn(clients[ib[0] % threads], ib[1]), enumerate(items))
                )
            return time.perf_counter() - t, codes

        health_s, _ = run(lambda c, _: c.get(base + "/health").status_code, range(n))
        post_s, codes = run(
            lambda c, b: (
                c.post(base + "/fhir/R4/$process-message", content=b, headers=headers).status_code
            ),
            bodies,
        )
        ok = sum(1 for c in codes if c == 200)
        print(
            f"ingest: {ok}/{n} accepted in {post_s:.2f} s = {ok / post_s:.0f} messages/s "
            f"(target ≥ 200); baseline GET /health {n / health_s:.0f} req/s; "
            f"ratio ingest/baseline {ok / post_s / (n / health_s):.2f}"
        )
        with Session(engine) as s:
            print(
                f"ingest: stored {s.scalar(select(func.count()).select_from(Referral))} referrals"
            )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)


def overdue_scan(tmp: Path, n_open: int) -> None:
    engine = create_store_engine(f"sqlite:///{tmp / 'scan.sqlite3'}")
    init_store(engine)
    now = datetime(2026, 11, 18, 12, 0)
    t = time.perf_counter()
    chunk = 50_000
    with engine.begin() as conn:
        for start in range(0, n_open, chunk):
            rows = []
            for i in range(start, min(start + chunk, n_open)):
                late = i % 100 == 0  # 1% overdue
                rows.append(
                    {
                        "reference": f"R-{i:08d}",
                        "service": "pharmacy-first",
                        "status": "requested" if i % 2 else "received",
                        "sender_kind": "nhs111",
                        "sender_org_code": "NHS111",
                        "submitted_by": "bench",
                        "submitted_org_code": "NHS111",
                        "target_org_code": f"F{i % 500:04d}",
                        "tried_codes": [],
                        "patient_name": "Bench Patient",
                        "created_at": now - timedelta(hours=2),
                        "accept_by": now - timedelta(minutes=5)
                        if late
                        else now + timedelta(hours=3),
                        "due_by": now + timedelta(hours=20),
                        "escalations": 0,
                        "version": 1,
                    }
                )
            conn.execute(insert(Referral), rows)
    load_s = time.perf_counter() - t
    with Session(engine) as s:
        t = time.perf_counter()
        total = s.scalar(select(func.count()).select_from(Referral))
        count_s = time.perf_counter() - t
        t = time.perf_counter()
        ids = overdue_ids(s, now)
        scan_s = time.perf_counter() - t
    print(
        f"overdue scan: {len(ids)} overdue of {total} open referrals in {scan_s:.3f} s "
        f"(target ≤ 10 s); baseline full count(*) {count_s:.3f} s; ratio "
        f"{scan_s / count_s:.2f}; bulk load took {load_s:.0f} s"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--open", type=int, default=1_000_000, help="0 skips the overdue scan")
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ingest(Path(tmp), args.messages, workers=args.workers)
        if args.open:
            overdue_scan(Path(tmp), args.open)


if __name__ == "__main__":
    main()
