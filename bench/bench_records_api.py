"""Single-patient record read latency on the demo ICS (issue 4 target: API p95 ≤ 50 ms).

Seeds the sample ICS in a temporary SQLite store, gives each of its patients three sources
(GP, hospital, pharmacy; ~10 lines each), then times ``GET /api/records/patients/{nhs}`` through
the full app served by uvicorn on loopback (bearer token, access check + audit write,
reconciliation, JSON; one keep-alive HTTP client). By default the server is a separate
``ipmo serve`` process, as in production; ``--in-process`` serves from a thread of the benchmark.
The baseline is the bare service call (``get_record`` in a session, no HTTP, no access check, no
audit) measured in the same run; the ratio is what the web layer and the audit trail cost.

    uv run python bench/bench_records_api.py [--reads 300]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import httpx
import uvicorn

from ipmo.config import Settings
from ipmo.records.adapters import from_csv
from ipmo.records.service import get_record, ingest
from ipmo.records.terminology import default_dictionary
from ipmo.security.users import DEMO_PASSWORD, seed_demo_users
from ipmo.store import create_store_engine, init_store, session_scope
from ipmo.synth.sample import PATIENTS, seed_sample_ics
from ipmo.web.app import create_app

MEDS = [
    "Amlodipine 5mg tablets", "Ramipril 5mg capsules", "Atorvastatin 20mg tablets",
    "Metformin 500mg tablets", "Omeprazole 20mg gastro-resistant capsules",
    "Bisoprolol 2.5mg tablets", "Furosemide 40mg tablets", "Paracetamol 500mg tablets",
    "Sertraline 50mg tablets", "Levothyroxine sodium 50microgram tablets",
]  # fmt: skip
HEADER = "nhs_number,source_kind,source_org_code,name,status,dose_text,authored_on,category\n"


def source_csv(nhs: str, kind: str, org: str, skip: int, twice: int) -> str:
    rows = []
    for i, name in enumerate(MEDS):
        if i == skip:
            continue
        dose = "1 tablet twice a day" if i == twice else "1 tablet once a day"
        rows.append(f"{nhs},{kind},{org},{name},active,{dose},2025-03-01,repeat")
    return HEADER + "\n".join(rows) + "\n"


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reads", type=int, default=300)
    ap.add_argument("--in-process", action="store_true", help="serve from a thread of this process")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ipmo-bench-"))
    engine = create_store_engine(f"sqlite:///{tmp / 'store.sqlite3'}")
    init_store(engine)
    dictionary = default_dictionary()
    index = date(2025, 6, 1)
    with session_scope(engine) as s:
        seed_sample_ics(s)
        seed_demo_users(s)
    numbers = [p[0] for p in PATIENTS if p[5] in ("A10001", "A10002")]  # the PCN's patients
    with session_scope(engine) as s:
        for n, nhs in enumerate(numbers):
            for kind, org, skip, twice in (("gp", "A10001", -1, -1), ("hospital", "RXX", n, 3),
                                           ("pharmacy", "FA001", 9 - n, -1)):  # fmt: skip
                ingest(s, from_csv(source_csv(nhs, kind, org, skip, twice)))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = None
    if args.in_process:  # client and server share one interpreter (and its GIL)
        app = create_app(
            engine, Settings(data_dir=tmp, database_url="sqlite://", secret_key="bench")
        )
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
    else:  # what a real client sees: `ipmo serve` in its own process
        env = {**os.environ, "IPMO_DATA_DIR": str(tmp), "IPMO_SECRET_KEY": "bench",
               "IPMO_DATABASE_URL": f"sqlite:///{tmp / 'store.sqlite3'}"}  # fmt: skip
        proc = subprocess.Popen(
            [sys.executable, "-m", "ipmo", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(600):
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}")
    token = client.post(
        "/api/auth/token", data={"username": "pcn.pharmacist", "password": DEMO_PASSWORD}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    for nhs in numbers:  # warm up (imports, dictionary, caches)
        assert client.get(f"/api/records/patients/{nhs}", headers=headers).status_code == 200
    api, bare = [], []
    for i in range(args.reads):
        nhs = numbers[i % len(numbers)]
        t = time.perf_counter()
        r = client.get(f"/api/records/patients/{nhs}?as_of=2025-06-01", headers=headers)
        api.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200
        t = time.perf_counter()
        with session_scope(engine) as s:
            get_record(s, nhs, index, dictionary)
        bare.append((time.perf_counter() - t) * 1000)
    lines = len(r.json()["medications"])
    print(f"reads               {args.reads} over {len(numbers)} patients, {lines} medicines each")
    print(
        f"API GET p50/p95     {statistics.median(api):.1f} / {pct(api, 95):.1f} ms"
        "  (target p95 ≤ 50)"
    )
    print(f"bare service p50/95 {statistics.median(bare):.1f} / {pct(bare, 95):.1f} ms (baseline)")
    print(f"ratio               {pct(api, 95) / pct(bare, 95):.1f}× (web layer + access audit)")
    client.close()
    if server is not None:
        server.should_exit = True
    else:
        proc.terminate()
        proc.wait(timeout=20)


if __name__ == "__main__":
    main()
