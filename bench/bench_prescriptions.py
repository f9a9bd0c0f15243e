"""EPS prescriptions benchmark (issue 16): batch ingest, tracker search through the API, and the
ICS entitlement finder.

    uv run python bench/bench_prescriptions.py [--prescriptions 20000] [--patients 5000]
        [--searches 400] [--ics-patients 200000] [--batch 1000]

1. **Ingest** (target ≥ 5,000 messages/s batch): synthetic EPS traffic made from NHS England's
   example messages (``../shared/fhir/eps/messages``: a 4-item prescription-order, then a
   dispense notification per prescription), every message checked in full, idempotency-keyed,
   applied with its timeline step, committed per batch; SQLite file store. Baseline in the same
   run: parsing and checking alone (``parse_message``, no store) — the ceiling for this design.
2. **Tracker search** (target p95 ≤ 20 ms through the API): ``GET /api/prescriptions`` by NHS
   number and by prescription ID through the FastAPI app (TestClient kept open, signed-in
   pharmacist with a relationship, access-checked and audited), then the same against a live
   ``ipmo serve`` (one worker, its own process) from an HTTP client keeping its connection, over
   the store from step 1. Baseline: the same search called in-process (``actions.search``), to
   show the HTTP + audit share.
3. **Entitlement finder** (target ≤ 30 s over the ICS): ``find_entitlements`` over a synthetic
   population (patients, conditions, 12 months of GP issues) bulk-inserted into SQLite. Baseline:
   one ``COUNT(*)`` over the issues table (the scan floor).

The machine may be shared: figures are a lower bound.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import nhs_number
from sqlalchemy import func, insert, select, text

from ipmo.patients import Condition, MedicationIssue, Patient
from ipmo.prescriptions import ingest_message
from ipmo.prescriptions.ids import check_character
from ipmo.prescriptions.ingest import ingest_batch
from ipmo.prescriptions.messages import parse_message
from ipmo.store import create_store_engine, init_store, session_scope

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "fhir" / "eps" / "messages"
ORDER = "primary-care_repeat-prescribing_1-Process-Request-Send-200_OK.json"
DISPENSE = (
    "secondary-care_community_repeat-dispensing_nominated-pharmacy_clinical-practitioner_"
    "single-medication-request_1-Process-Request-Dispense-200_OK.json"
)
AS_OF = date(2026, 12, 7)


def _pid(n: int) -> str:
    body = f"{n:06X}A83008{n % 0xFFFFF:05X}"
    return f"{body[:6]}-{body[6:12]}-{body[12:]}{check_character(body)}"


def _numbers(count: int, rng: random.Random) -> list[str]:
    out: set[str] = set()
    while len(out) < count:
        out.add(nhs_number.generate(for_region=nhs_number.REGION_SYNTHETIC)[0])
    return sorted(out)


def _walk_replace(node, system: str, value: str) -> None:
    if isinstance(node, dict):
        if node.get("system") == system and "value" in node:
            node["value"] = value
        for v in node.values():
            _walk_replace(v, system, value)
    elif isinstance(node, list):
        for v in node:
            _walk_replace(v, system, value)


def templates() -> tuple[str, str]:
    """The order and a dispense for its first item, as JSON text with placeholders."""
    order = json.loads((SHARED / ORDER).read_text())
    _walk_replace(order, "https://fhir.nhs.uk/Id/nhs-number", "@NHS@")
    _walk_replace(order, "https://fhir.nhs.uk/Id/prescription-order-number", "@PID@")
    order["identifier"]["value"] = "@MSG@"
    requests = [
        e["resource"]
        for e in order["entry"]
        if e["resource"]["resourceType"] == "MedicationRequest"
    ]
    line = requests[0]["identifier"][0]["value"]
    disp = json.loads((SHARED / DISPENSE).read_text())
    _walk_replace(disp, "https://fhir.nhs.uk/Id/nhs-number", "@NHS@")
    md = next(
        e["resource"]
        for e in disp["entry"]
        if e["resource"]["resourceType"] == "MedicationDispense"
    )
    contained = next(c for c in md["contained"] if c["resourceType"] == "MedicationRequest")
    contained["groupIdentifier"]["value"] = "@PID@"
    contained["identifier"] = [
        {"system": "https://fhir.nhs.uk/Id/prescription-order-item-number", "value": line}
    ]
    md["extension"] = [e for e in md["extension"] if "TaskBusinessStatus" not in e["url"]]
    disp["identifier"]["value"] = "@MSG@"
    return json.dumps(order), json.dumps(disp)


def messages(prescriptions: int, patients: list[str], start: int = 1, stop: int | None = None):
    """The traffic, made as it is read (a year's messages do not fit in memory): an order per
    prescription, then a dispense of every other one. ``start``/``stop``: a slice of it."""
    order, disp = templates()
    stop = stop or prescriptions * 3 // 2 + 1
    for k in range(start, stop):
        if k <= prescriptions:
            n, text, msg = k, order, f"o-{k}"
        else:
            n = 2 * (k - prescriptions) - 1
            if n > prescriptions:
                return
            text, msg = disp, f"d-{n}"
        pid, number = _pid(n), patients[n % len(patients)]
        yield text.replace("@PID@", pid).replace("@NHS@", number).replace("@MSG@", msg)


def bench_ingest(engine, prescriptions: int, patients: list[str], batch: int, baseline) -> None:
    sample = list(messages(prescriptions, patients, stop=min(prescriptions, 3000) + 1))
    t0 = time.perf_counter()
    for m in sample:
        parse_message(m)
    parse_rate = len(sample) / (time.perf_counter() - t0)
    one = sample[:600]
    t0 = time.perf_counter()
    for m in one:
        with session_scope(baseline) as s:
            ingest_message(s, m, feed_record=False)
    one_rate = len(one) / (time.perf_counter() - t0)
    refused, total, seconds, rates = 0, 0, 0.0, []
    stream = messages(prescriptions, patients)
    while chunk := [m for _, m in zip(range(batch), stream, strict=False)]:
        t0 = time.perf_counter()
        with session_scope(engine) as s:
            refused += len(ingest_batch(s, chunk, feed_record=False).refused)
        took = time.perf_counter() - t0
        seconds, total = seconds + took, total + len(chunk)
        rates.append(len(chunk) / took)
    rate = total / seconds
    tenth = max(1, len(rates) // 10)
    first, last = statistics.mean(rates[:tenth]), statistics.mean(rates[-tenth:])
    print(
        f"ingest: {total:,} messages in batches of {batch} in {seconds:.1f} s = "
        f"{rate:,.0f} messages/s (target >= 5,000; {refused} refused); first tenth of batches "
        f"{first:,.0f}/s, last tenth {last:,.0f}/s (orders then dispenses, store growing); "
        f"baselines: one message per transaction {one_rate:,.0f}/s ({rate / one_rate:.1f}x), "
        f"parse+check only {parse_rate:,.0f}/s (the ceiling of this design)"
    )


def _percentiles(label: str, times: dict[str, list[float]]) -> None:
    for key, ms in times.items():
        p95 = statistics.quantiles(ms, n=20)[18]
        print(
            f"{label} by {key}: p50 {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms "
            f"over {len(ms)} requests (target p95 <= 20 ms)"
        )


def _live(tmp: Path, database_url: str, patients: list[str], ids: list[str], searches: int):
    """The same searches against a real ``ipmo serve`` (one uvicorn worker, its own process),
    from one HTTP client that keeps its connection open."""
    import socket
    import subprocess
    import sys

    import httpx

    from ipmo.security.users import DEMO_PASSWORD

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "IPMO_DATA_DIR": str(tmp), "IPMO_DATABASE_URL": database_url}
    log = open(tmp / "serve.log", "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "ipmo", "serve", "--port", str(port), "--log-level", "warning"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        with httpx.Client(base_url=base, timeout=30) as client:
            while True:
                try:
                    if client.get("/ready").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if proc.poll() is not None or time.time() > deadline:
                    raise SystemExit(f"ipmo serve did not start (see {log.name})")
                time.sleep(0.3)
            token = client.post(
                "/api/auth/token",
                data={"username": "community.pharmacist", "password": DEMO_PASSWORD},
            ).json()["access_token"]
            client.headers["Authorization"] = f"Bearer {token}"
            _percentiles("  live ipmo serve", _searches(client, patients, ids, searches))
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def _searches(client, patients: list[str], ids: list[str], searches: int):
    rng = random.Random(2)
    times: dict[str, list[float]] = {"nhs_number": [], "prescription_id": []}
    for i in range(searches + 20):
        key = "nhs_number" if i % 2 else "prescription_id"
        value = rng.choice(patients) if key == "nhs_number" else rng.choice(ids)
        t0 = time.perf_counter()
        res = client.get("/api/prescriptions", params={key: value})
        if i >= 20:  # the first requests warm the caches
            times[key].append((time.perf_counter() - t0) * 1000)
        assert res.status_code == 200, res.text
    return times


def bench_search(
    engine,
    database_url: str,
    patients: list[str],
    searches: int,
    tmp: Path,
    ids: list[str] | None = None,
):
    """``ids``: the prescription IDs to search for, in a store already holding the sample ICS,
    the demo users and the patients (the large store); otherwise every stored ID, and the
    sample ICS, the demo users and ``patients`` are added here."""
    from fastapi.testclient import TestClient

    from ipmo.config import Settings
    from ipmo.security.users import DEMO_PASSWORD, seed_demo_users
    from ipmo.synth.sample import seed_sample_ics
    from ipmo.web.app import create_app

    with session_scope(engine) as s:
        if ids is None:
            seed_sample_ics(s)
            seed_demo_users(s)
            s.execute(  # the searched patients are in the ICS, nominating the pharmacy searching
                insert(Patient),
                [
                    {
                        "nhs_number": n,
                        "given_name": "B",
                        "family_name": "Bench",
                        "birth_date": date(1970, 1, 1),
                        "sex": "female",
                        "nominated_pharmacy_code": "FA001",
                    }
                    for n in patients
                ],
            )
            ids = list(s.scalars(text("SELECT prescription_id FROM eps_prescriptions")).all())
        count = s.scalar(text("SELECT max(id) FROM eps_prescriptions"))
        items = s.scalar(text("SELECT max(id) FROM eps_prescription_items"))
        people = s.scalar(text("SELECT count(*) FROM patients"))
    print(f"tracker store: {count:,} prescriptions, {items:,} items, {people:,} patients")
    app = create_app(engine, Settings(data_dir=tmp, database_url="sqlite://", secret_key="bench"))
    # one client kept open (its event loop and portal too), as a real client keeps its
    # connection: the figure is the request, not the test harness starting a thread per call
    with TestClient(app) as client:
        token = client.post(
            "/api/auth/token", data={"username": "community.pharmacist", "password": DEMO_PASSWORD}
        ).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        _percentiles("tracker search (TestClient)", _searches(client, patients, ids, searches))
    _live(tmp, database_url, patients, ids, searches)

    from ipmo.prescriptions import actions
    from ipmo.security.principal import Principal
    from ipmo.security.users import User

    with session_scope(engine) as s:
        principal = Principal.from_user(
            s.scalar(select(User).where(User.username == "community.pharmacist"))
        )
        t0 = time.perf_counter()
        for n in patients[:200]:
            actions.search(s, principal, None, n, with_events=False)
        inproc = (time.perf_counter() - t0) / 200 * 1000
    print(
        f"  baseline: the same search in-process (access check + audit, no HTTP): {inproc:.1f} ms"
    )


def bench_entitlement(path: Path, patients: int) -> None:
    from ipmo.prescriptions.entitlement import find_entitlements

    engine = create_store_engine(f"sqlite:///{path}")
    init_store(engine)
    rng = random.Random(3)
    numbers = _numbers(patients, rng)
    bnf = ["0601022B0", "0602010V0", "0408010G0", "0803041", "0212000", "0205051", "0103050"]
    t0 = time.perf_counter()
    with engine.begin() as c:
        c.execute(
            insert(Patient),
            [
                {
                    "id": i + 1,
                    "nhs_number": n,
                    "given_name": "E",
                    "family_name": "Bench",
                    "birth_date": date(
                        1940 + rng.randrange(80), 1 + rng.randrange(12), 1 + rng.randrange(28)
                    ),
                    "sex": "male",
                }
                for i, n in enumerate(numbers)
            ],
        )
        c.execute(
            insert(Condition),
            [
                {"patient_id": 1 + rng.randrange(patients), "snomed_code": code, "term": term}
                for code, term in [("44054006", "Diabetes mellitus type 2")] * (patients // 14)
                + [("84757009", "Epilepsy")] * (patients // 120)
                + [("254837009", "Malignant neoplasm of breast")] * (patients // 60)
            ],
        )
        issues: list[dict] = []
        count = 0
        for pid in range(1, patients + 1):
            for _ in range(rng.randrange(0, 16)):
                issues.append(
                    {
                        "patient_id": pid,
                        "dmd_code": "1",
                        "name": "x",
                        "bnf_code": rng.choice(bnf),
                        "issue_date": AS_OF - timedelta(days=rng.randrange(365)),
                        "issue_type": "repeat",
                    }
                )
            if len(issues) >= 200_000 or pid == patients:  # written as made: memory stays flat
                c.execute(insert(MedicationIssue), issues)
                count += len(issues)
                issues = []
    built = time.perf_counter() - t0
    print(f"entitlement: built {patients:,} patients, {count:,} GP issues in {built:.0f} s")
    with engine.connect() as c:
        t0 = time.perf_counter()
        c.execute(select(func.count()).select_from(MedicationIssue)).scalar()
        floor = time.perf_counter() - t0
    with session_scope(engine) as s:
        t0 = time.perf_counter()
        found = find_entitlements(s, AS_OF)
        seconds = time.perf_counter() - t0
    by = {}
    for f in found:
        by[f.criterion] = by.get(f.criterion, 0) + 1
    print(
        f"entitlement finder: {seconds:.1f} s over {patients:,} patients (target <= 30 s); "
        f"{len(found):,} findings {by}; baseline COUNT(*) over issues {floor:.2f} s "
        f"(finder = {seconds / max(floor, 1e-6):.0f}x the scan floor)"
    )


def _count(upto: int, name: str = "n", column: str = "i") -> str:
    """The row numbers 1..``upto`` as a recursive CTE, for INSERT … SELECT."""
    return (
        f"WITH RECURSIVE {name}({column}) AS "
        f"(SELECT 1 UNION ALL SELECT {column} + 1 FROM {name} WHERE {column} < {upto}) "
    )


def build_large_store(path: Path, prescriptions: int, patients: int, items_per: int):
    """A tracker store of ``prescriptions`` × ``items_per`` items for ``patients`` people, made
    in SQL (recursive CTEs, ``INSERT … SELECT``) into the real tables of a migrated SQLite
    store — not by ingesting messages, which at this size would take hours. Secondary indexes
    are dropped for the load and built after it (``synth.BulkWriter``); every prescription has
    its created and dispensed timeline steps; the patients are in the ICS and nominate FA001
    (the searching pharmacist's relationship). Prescription IDs and NHS numbers come from two
    SQL functions of the row number (valid check characters, as the API checks them).
    Returns (engine, a sample of NHS numbers, a sample of prescription IDs)."""
    from ipmo.security.users import seed_demo_users
    from ipmo.synth import BulkWriter
    from ipmo.synth.sample import seed_sample_ics

    engine = create_store_engine(f"sqlite:///{path}")
    init_store(engine)
    with session_scope(engine) as s:
        seed_sample_ics(s)  # the pharmacy FA001 and the others
        seed_demo_users(s)
    numbers = []
    n = 0
    while len(numbers) < patients:  # the n-th valid NHS number (a check digit of 10 is skipped)
        n += 1
        body = f"{900000000 + n:09d}"
        check = 11 - sum(int(d) * (10 - k) for k, d in enumerate(body)) % 11
        if check != 10:
            numbers.append(body + str(check % 11))
    t0 = time.perf_counter()
    with engine.begin() as c:
        writer = BulkWriter(c)
        raw = writer.raw
        raw.create_function("pid", 1, _pid, deterministic=True)
        raw.create_function("nhs", 1, lambda i: numbers[i % patients], deterministic=True)
        ddl = writer.drop_indexes(
            ["patients", "eps_prescriptions", "eps_prescription_items", "eps_prescription_events"]
        )
        stamp = "'2026-01-01 09:00:00.000000'"
        c.exec_driver_sql(
            _count(patients)
            + """INSERT INTO patients (id, nhs_number, given_name, family_name, birth_date, sex,
                                  nominated_pharmacy_code)
            SELECT i + 1000, nhs(i - 1), 'L', 'Large', '1970-01-01', 'female', 'FA001' FROM n"""
        )
        c.exec_driver_sql(
            _count(prescriptions)
            + f"""INSERT INTO eps_prescriptions (id, prescription_id, nhs_number, status_code,
                course, prescription_type, authored_on, prescriber_org, nominated_pharmacy,
                dispenser_org, urgent, issued_at, released_at, expiry_date, created_at,
                updated_at)
            SELECT i, pid(i), nhs(i), CASE WHEN i % 10 = 0 THEN '0001' ELSE '0006' END, 'acute',
                '0101', date('2026-01-01', '+' || (i % 340) || ' days'), 'A83008', 'FA001',
                CASE WHEN i % 10 = 0 THEN NULL ELSE 'FA001' END, 0, {stamp},
                CASE WHEN i % 10 = 0 THEN NULL ELSE {stamp} END,
                date('2026-06-30', '+' || (i % 340) || ' days'), {stamp}, {stamp} FROM n"""
        )
        c.exec_driver_sql(
            _count(items_per, "k", "j")
            + f"""INSERT INTO eps_prescription_items (id, prescription_pk, line_item_id, name, code,
                quantity, status_code, pending_cancellation)
            SELECT (p.id - 1) * {items_per} + k.j, p.id, 'item-' || p.id || '-' || k.j,
                'Medicine ' || ((p.id * 7 + k.j) % 500), '3' || ((p.id + k.j) % 500), '28 tablet',
                CASE WHEN p.status_code = '0001' THEN '0007' ELSE '0001' END, 0
            FROM eps_prescriptions p, k ORDER BY p.id, k.j"""
        )
        c.exec_driver_sql(
            f"""INSERT INTO eps_prescription_events (prescription_pk, at, kind, status_from,
                status_to, org, message_id, before, withdrawn)
            SELECT id, {stamp}, 'created', NULL, '0001', NULL, 'o-' || id, 'null', 0
            FROM eps_prescriptions
            UNION ALL
            SELECT id, {stamp}, 'dispensed', '0001', '0006', 'FA001', 'd-' || id, 'null', 0
            FROM eps_prescriptions WHERE status_code = '0006' ORDER BY 1"""
        )
        loaded = time.perf_counter() - t0
        writer.create_indexes(ddl)
        writer.restore()
    with engine.connect() as c:
        c.exec_driver_sql("ANALYZE")
    print(
        f"large store: {prescriptions:,} prescriptions × {items_per} items for {patients:,} "
        f"patients made in SQL in {loaded:.0f} s, indexes and ANALYZE "
        f"{time.perf_counter() - t0 - loaded:.0f} s"
    )
    rng = random.Random(4)
    sample_numbers = [numbers[rng.randrange(patients)] for _ in range(1000)]
    sample_ids = [_pid(1 + rng.randrange(prescriptions)) for _ in range(1000)]
    return engine, sample_numbers, sample_ids


@contextmanager
def _postgres(admin_url: str):
    """Two empty stores on the PostgreSQL server of ``admin_url`` (the batch's and the
    one-message baseline's), dropped afterwards."""
    from sqlalchemy import create_engine

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    names = [f"ipmo_bench_eps_{os.getpid()}_{n}" for n in (1, 2)]
    engines = []
    try:
        for name in names:
            with admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{name}"'))
            engine = create_store_engine(admin_url.rsplit("/", 1)[0] + f"/{name}")
            init_store(engine)
            engines.append(engine)
        yield engines
    finally:
        for engine in engines:
            engine.dispose()
        with admin.connect() as c:
            for name in names:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--prescriptions", type=int, default=20_000)
    ap.add_argument("--patients", type=int, default=5_000)
    ap.add_argument("--searches", type=int, default=400)
    ap.add_argument("--ics-patients", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument(
        "--postgres",
        metavar="URL",
        help="also ingest into PostgreSQL (a database made and dropped on this server, e.g. "
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres)",
    )
    ap.add_argument("--only", choices=("ingest", "search", "entitlement"))
    ap.add_argument(
        "--large",
        type=int,
        metavar="PRESCRIPTIONS",
        help="instead: tracker search over a store of this many prescriptions made in SQL",
    )
    ap.add_argument("--large-patients", type=int, default=1_500_000)
    ap.add_argument("--items-per", type=int, default=4)
    args = ap.parse_args()
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} cores (shared: figures are a lower bound)")
    if args.large:
        with tempfile.TemporaryDirectory(dir=os.environ.get("IPMO_BENCH_DIR")) as tmp:
            path = Path(tmp) / "large.sqlite3"
            engine, numbers, ids = build_large_store(
                path, args.large, args.large_patients, args.items_per
            )
            bench_search(engine, f"sqlite:///{path}", numbers, args.searches, Path(tmp), ids)
        print(f"finished {datetime.now(UTC):%H:%M} UTC")
        return
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_store_engine(f"sqlite:///{Path(tmp) / 'eps.sqlite3'}")
        init_store(engine)
        patients = _numbers(args.patients, random.Random(1))
        if args.only in (None, "ingest", "search"):
            baseline = create_store_engine(f"sqlite:///{Path(tmp) / 'one.sqlite3'}")
            init_store(baseline)
            print("SQLite:")
            bench_ingest(engine, args.prescriptions, patients, args.batch, baseline)
        if args.postgres and args.only in (None, "ingest"):
            print("PostgreSQL:")
            with _postgres(args.postgres) as (pg, pg_one):
                bench_ingest(pg, args.prescriptions, patients, args.batch, pg_one)
        if args.only in (None, "search"):
            url = f"sqlite:///{Path(tmp) / 'eps.sqlite3'}"
            bench_search(engine, url, patients, args.searches, Path(tmp))
        if args.only in (None, "entitlement"):
            bench_entitlement(Path(tmp) / "ics.sqlite3", args.ics_patients)
    print(f"finished {datetime.now(UTC):%H:%M} UTC")


if __name__ == "__main__":
    main()
