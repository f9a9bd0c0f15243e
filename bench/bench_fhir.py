"""FHIR search for one patient's current medications with ``_include`` (issue 18 target: p95 ≤ 30
ms through the API).

Seeds the sample ICS as bench_records_api.py does (three sources of ~10 lines per patient of the
PCN), serves it with ``ipmo serve`` in its own process on loopback, and times
``GET /fhir/R4/MedicationStatement?patient=<nhs>&status=active&_include=MedicationStatement:patient
&_revinclude=List:item`` (bearer token, access check + audit write, reconciliation, searchset
Bundle with the Patient and the List; one keep-alive client). Baseline in the same run: the
source lines as sent (``MedicationRequest?patient=<nhs>&_include=MedicationRequest:patient``: the
same access check and audit, no reconciliation), so the ratio is what reconciling costs.

    uv run python bench/bench_fhir.py [--reads 300]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from bench_records_api import pct, source_csv

from ipmo.records.adapters import from_csv
from ipmo.records.service import ingest
from ipmo.security.users import DEMO_PASSWORD, seed_demo_users
from ipmo.store import create_store_engine, init_store, session_scope
from ipmo.synth.sample import PATIENTS, seed_sample_ics


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reads", type=int, default=300)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ipmo-bench-fhir-"))
    engine = create_store_engine(f"sqlite:///{tmp / 'store.sqlite3'}")
    init_store(engine)
    with session_scope(engine) as s:
        seed_sample_ics(s)
        seed_demo_users(s)
    numbers = [p[0] for p in PATIENTS if p[5] in ("A10001", "A10002")]  # the PCN's patients
    with session_scope(engine) as s:
        for n, nhs in enumerate(numbers):
            for kind, org, skip, twice in (("gp", "A10001", -1, -1), ("hospital", "RXX", n, 3),
                                           ("pharmacy", "FA001", 9 - n, -1)):  # fmt: skip
                ingest(s, from_csv(source_csv(nhs, kind, org, skip, twice)))
    engine.dispose()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "IPMO_DATA_DIR": str(tmp), "IPMO_SECRET_KEY": "bench",
           "IPMO_DATABASE_URL": f"sqlite:///{tmp / 'store.sqlite3'}"}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "ipmo", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
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

        def search(nhs: str) -> httpx.Response:
            return client.get(
                "/fhir/R4/MedicationStatement",
                params={
                    "patient": nhs,
                    "status": "active",
                    "_include": "MedicationStatement:patient",
                    "_revinclude": "List:item",
                },
                headers=headers,
            )

        def source_lines(nhs: str) -> httpx.Response:
            return client.get(
                "/fhir/R4/MedicationRequest",
                params={"patient": nhs, "_include": "MedicationRequest:patient"},
                headers=headers,
            )

        for nhs in numbers:  # warm up (imports, dictionary, caches)
            assert search(nhs).status_code == 200 and source_lines(nhs).status_code == 200

        def timed(call) -> tuple[list[float], dict]:
            times = []
            for i in range(args.reads):
                t = time.perf_counter()
                r = call(numbers[i % len(numbers)])
                times.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200
            return times, r.json()

        base_times, _ = timed(source_lines)
        times, body = timed(search)
        kinds = sorted({e["resource"]["resourceType"] for e in body["entry"]})
        print(f"reads               {args.reads} over {len(numbers)} patients")
        print(f"bundle              {body['total']} matches; includes {', '.join(kinds)}")
        print(
            f"baseline p50/p95    {statistics.median(base_times):.1f} / "
            f"{pct(base_times, 95):.1f} ms  (MedicationRequest + _include, no reconciliation)"
        )
        print(
            f"FHIR search p50/p95 {statistics.median(times):.1f} / {pct(times, 95):.1f} ms"
            f"  (target p95 ≤ 30; {pct(times, 95) / pct(base_times, 95):.1f}× the baseline)"
        )
        client.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


if __name__ == "__main__":
    main()
