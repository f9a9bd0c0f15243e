"""Referral benchmarks (issue 5): message ingest through the HTTP API, and the overdue scan.

1. Ingest: a real uvicorn subprocess (``--workers``, default 4 = two per core: while one waits for
   SQLite's write lock another works) on a free loopback
   port, with a file SQLite store (or a scratch PostgreSQL database: ``--database-url``). Four
   sender threads POST BaRS messages to /fhir/R4/$process-message over keep-alive connections
   (``http.client``: a light load generator, so the server gets the cores). Every worker is warmed
   up first (imports, FHIR model classes), then ``--messages`` are timed. Baseline: GET /health
   in the same run with the same workers and senders. Also printed: server CPU per request (sum
   over the uvicorn processes, from /proc: steadier than wall time on a shared machine), the load
   average, and whether the audit hash chain still verifies after the concurrent writes.
   Target ≥ 200 messages/s.
2. Overdue scan: 1,000,000 open referrals (1% past their accept deadline) bulk-loaded; time
   ``overdue_ids`` (the query the worker runs). Baseline: a full ``count(*)`` of the table.
   Target ≤ 10 s.

Run: uv run python bench/bench_referrals.py [--messages 1000] [--open 1000000] [--workers 4]
     [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

Measured (issue 5) on the 2-core development machine shared with other test runs (load average
1.6-2.8 from them; ``--messages 600 --open 0``), same bench before → after the ingest changes:
SQLite, 2 workers 68-120 → 178-249 messages/s (server CPU 11.6-15.4 → 5.9-8.7 ms per message);
1 worker 77 → 131-158; PostgreSQL, 2 workers 58 → 98-138, 1 worker 78. At load average ≈ 1.5,
2 workers on SQLite reached 250-290. The ratio to GET /health (~1,000-2,700 req/s) is 0.07-0.14.
Quiet machine (load 0.9-1.4, lead's runs at the end of session 2, 600-1,000 messages): SQLite,
2 workers 189-228 messages/s (4 runs; SQLite lock waits leave cores idle), 3 workers 234,
**4 workers 229-278 (4 runs)**; PostgreSQL, 4 workers 162. Overdue scan over 1M: 0.017 s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.orm import Session

from ipmo.organisations.models import Organisation
from ipmo.referrals.message_builder import build_referral_message
from ipmo.referrals.models import Referral
from ipmo.referrals.overdue import overdue_ids
from ipmo.security.audit import verify
from ipmo.security.models import User
from ipmo.security.tokens import issue_token
from ipmo.security.users import seed_demo_users
from ipmo.store import create_store_engine, init_store, session_scope
from ipmo.synth.sample import seed_sample_ics

ALWAYS = {d: [["00:00", "00:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
SENDERS = 4
TICK = os.sysconf("SC_CLK_TCK")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def store_url(tmp: Path, database_url: str | None) -> Iterator[str]:
    """A file SQLite store in ``tmp``, or a scratch database on the given PostgreSQL server
    (created here and dropped afterwards; the URL's own database is only used to do that)."""
    if not database_url:
        yield f"sqlite:///{tmp / 'ingest.sqlite3'}"
        return
    if not database_url.startswith("postgresql"):
        sys.exit("--database-url takes a PostgreSQL URL (SQLite is the default)")
    admin_url = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    name = f"ipmo_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _tree_cpu(root: int) -> float:
    """CPU seconds used so far by ``root`` and its live descendants (the uvicorn workers)."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                raw = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = raw[raw.rindex(")") + 2 :].split()
            stats[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK)
    tree, total, grew = {root}, 0.0, True
    while grew:
        grew = False
        for pid, (ppid, _) in stats.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                grew = True
    for pid in tree:
        total += stats.get(pid, (0, 0.0))[1]
    return total


class Senders:
    """Sender threads, each with its own keep-alive connection, sharing a list of requests."""

    def __init__(self, port: int, threads: int = SENDERS) -> None:
        self.port = port
        self.threads = threads

    def run(self, items: list, send: Callable[[http.client.HTTPConnection, object], int]):
        codes: list[int] = [0] * len(items)
        cursor = iter(range(len(items)))
        lock = threading.Lock()

        def worker() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            while True:
                with lock:
                    i = next(cursor, None)
                if i is None:
                    break
                codes[i] = send(conn, items[i])
            conn.close()

        pool = [threading.Thread(target=worker) for _ in range(self.threads)]
        t = time.perf_counter()
        for th in pool:
            th.start()
        for th in pool:
            th.join()
        return time.perf_counter() - t, codes


def _request(conn: http.client.HTTPConnection, method: str, path: str, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    response.read()
    return response.status


def ingest(
    tmp: Path, n: int, workers: int = 4, database_url: str | None = None, senders: int = SENDERS
) -> None:
    with store_url(tmp, database_url) as url:
        _ingest(tmp, url, n, workers, senders)


def _ingest(tmp: Path, url: str, n: int, workers: int, threads: int) -> None:
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
    proc = subprocess.Popen(  # `ipmo serve` (TCP_NODELAY kept for --workers > 1: web/server.py)
        [
            sys.executable,
            "-m",
            "ipmo",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    senders = Senders(port, threads)
    headers = {"Authorization": f"Bearer {token}", "content-type": "application/fhir+json"}

    def post(conn, body) -> int:
        return _request(conn, "POST", "/fhir/R4/$process-message", body, headers)

    def health(conn, _) -> int:
        return _request(conn, "GET", "/health")

    def bodies(count: int) -> list[bytes]:
        return [
            json.dumps(
                build_referral_message(
                    message_id=str(uuid.uuid4()),
                    service="urgent-repeat-supply",
                    patient_name="Ada Smith",
                    nhs_number="9990000018",
                    receiver="FA001",
                    summary="Ran out of amlodipine",
                )
            ).encode()
            for _ in range(count)
        ]

    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        time.sleep(2 if workers > 1 else 0)  # let every worker finish starting
        warm = 25 * workers
        _, codes = senders.run(bodies(warm), post)  # imports, FHIR model classes, pools
        assert all(c == 200 for c in codes), f"warm-up failed: {sorted(set(codes))}"
        senders.run(list(range(warm)), health)
        work = bodies(n)

        cpu = _tree_cpu(proc.pid)
        health_s, _ = senders.run(list(range(n)), health)
        health_cpu = _tree_cpu(proc.pid) - cpu
        cpu, client = _tree_cpu(proc.pid), time.process_time()
        post_s, codes = senders.run(work, post)
        post_cpu, client = _tree_cpu(proc.pid) - cpu, time.process_time() - client
        ok = sum(1 for c in codes if c == 200)
        rate, base = ok / post_s, n / health_s
        print(
            f"ingest ({workers} worker{'s' if workers > 1 else ''}, {threads} senders, "
            f"{engine.dialect.name}): "
            f"{ok}/{n} accepted in {post_s:.2f} s = {rate:.0f} messages/s (target ≥ 200); "
            f"baseline GET /health {base:.0f} req/s; ratio ingest/baseline {rate / base:.2f}"
        )
        print(
            f"ingest: server CPU {post_cpu / n * 1000:.1f} ms per message, "
            f"{health_cpu / n * 1000:.1f} ms per /health; sender CPU "
            f"{client / n * 1000:.1f} ms per message; load average "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
        with Session(engine) as s:
            stored = s.scalar(select(func.count()).select_from(Referral))
            chain = verify(s)
        print(
            f"ingest: stored {stored} referrals (expected {warm + n}); audit chain "
            + (f"intact, {chain.entries} entries" if chain.ok else f"BROKEN: {chain.problem}")
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        engine.dispose()


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
    ap.add_argument("--workers", type=int, default=4, help="uvicorn worker processes")
    ap.add_argument(
        "--database-url",
        help="a PostgreSQL server to run the ingest on (a scratch database is created and "
        "dropped there); default: a file SQLite store",
    )
    ap.add_argument("--senders", type=int, default=SENDERS, help="concurrent sender threads")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ingest(Path(tmp), args.messages, args.workers, args.database_url, args.senders)
        if args.open:
            overdue_scan(Path(tmp), args.open)


if __name__ == "__main__":
    main()
