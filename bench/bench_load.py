"""Load benchmark with Locust (issue 20): 100 concurrent users, a mixed workload modelled on the
demo's roles (``bench/load/locustfile.py`` states the mix and where it comes from), against the
real ``ipmo serve --workers N`` on the demo ICS, on SQLite and on PostgreSQL.

Reports requests/s, p50 / p95 / p99 and errors per request type, and the ratio of each type's
p50 to ``/health``'s p50 in the same run (what the store, access check and audit cost over the
bare web stack). Goal on a quiet 2-core machine: ≥ 500 requests/s mixed, p99 ≤ 200 ms, 0 errors.
The load generator shares the machine with the server (one core's worth of Locust), so the
figures are a lower bound for a server with the machine to itself. The CPU time the workers,
PostgreSQL and Locust used per request is reported too, with the rate two cores could reach at
that cost: it does not depend on what else the machine was doing.

    uv run python bench/bench_load.py [--store sqlite|postgres|both] [--users 100]
        [--seconds 60] [--workers 4] [--data-dir DIR]

The demo ICS is generated once into ``--data-dir`` (default ``/tmp/ipmo-load-demo``) by
``ipmo demo --no-serve``, and once into the PostgreSQL database ``ipmo_load_demo`` by the same
command pointed at its URL.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from resource import RUSAGE_CHILDREN

import httpx

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
LOCUSTFILE = ROOT / "load" / "locustfile.py"
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
ROLES = {
    "pcn": "pcn.pharmacist",
    "pharmacy": "community.pharmacist",
    "nhs111": "nhs111",
    "analyst": "analyst",
}
DEMO_PASSWORD = "demo-password"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(data_dir: Path, database_url: str | None) -> dict[str, str]:
    env = {**os.environ, "IPMO_DATA_DIR": str(data_dir)}
    env.pop("IPMO_DATABASE_URL", None)
    if database_url:
        env["IPMO_DATABASE_URL"] = database_url
    return env


def prepare(data_dir: Path, database_url: str | None) -> None:
    """The demo ICS in the store (generated once per store)."""
    marker = data_dir / (".load-ready-pg" if database_url else ".load-ready-sqlite")
    if marker.exists():
        return
    print(f"generating the demo ICS into {database_url or data_dir} (first run only) …", flush=True)
    subprocess.run(
        [sys.executable, "-m", "ipmo", "demo", "--no-serve"],
        env=_env(data_dir, database_url),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    marker.touch()


def _pg_database(name: str) -> str:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("select 1 from pg_database where datname = :n"), {"n": name})
        if not exists:
            conn.execute(text(f'create database "{name}"'))
    admin.dispose()
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def serve(data_dir: Path, database_url: str | None, workers: int) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    log = open(data_dir / f"serve-{port}.log", "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "ipmo", "serve", "--port", str(port), "--workers", str(workers),
         "--log-level", "warning"],
        env=_env(data_dir, database_url),
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 300
    serving: set[int] = set()
    # every worker, not just the first: Locust's users keep their connections, and a worker still
    # warming up when they connect would get none for the whole run (the first soak's open file
    # descriptors: 33-63 per worker, and two of four workers idle on PostgreSQL)
    while len(serving) < workers:
        try:  # a new connection each time, so the kernel hands it to any worker accepting
            answer = httpx.get(f"{base}/ready", timeout=2)
            if answer.status_code == 200:
                serving.add(answer.json()["worker"])
        except httpx.TransportError:
            pass
        if proc.poll() is not None or (not serving and time.time() > deadline):
            raise SystemExit(f"ipmo serve did not become ready (see {log.name})")
        if serving and time.time() > deadline:
            print(f"only {len(serving)} of {workers} workers answered in time; going on")
            break
        time.sleep(0.1 if serving else 0.5)
    return proc, base


def plan(base: str, path: Path) -> None:
    """Tokens per role and the patients each can see, for the locustfile."""
    tokens = {}
    for role, username in ROLES.items():
        r = httpx.post(
            f"{base}/api/auth/token", data={"username": username, "password": DEMO_PASSWORD}
        )
        r.raise_for_status()
        tokens[role] = r.json()["access_token"]
    worklist = httpx.get(
        f"{base}/api/review/worklist?limit=500",
        headers={"Authorization": f"Bearer {tokens['pcn']}"},
        timeout=60,
    )
    worklist.raise_for_status()
    patients = [row["nhs_number"] for row in worklist.json()]
    if not patients:
        raise SystemExit("the PCN pharmacist's worklist is empty: no patients to read")
    path.write_text(
        json.dumps({"tokens": tokens, "pcn_patients": patients, "referral_patients": patients})
    )


def run_locust(base: str, plan_file: Path, users: int, seconds: int, out: Path) -> list[dict]:
    env = {**os.environ, "IPMO_LOAD_PLAN": str(plan_file)}
    subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", base,
         "-u", str(users), "-r", str(max(1, users // 5)), "-t", f"{seconds}s",
         "--csv", str(out), "--only-summary", "--loglevel", "WARNING"],
        env=env,
        check=False,  # locust exits 1 when any request failed: the figures say so
    )  # fmt: skip
    with open(f"{out}_stats.csv") as f:
        return list(csv.DictReader(f))


def workers_of(supervisor: int) -> list[int]:
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    pids = []
    for pid in children:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"multiprocessing" in cmdline and b"resource_tracker" not in cmdline:
            pids.append(int(pid))
    return pids


def start_profiles(supervisor: int, seconds: int, out: Path) -> list[subprocess.Popen]:
    """py-spy samples every worker (its own process, no change to the server) for the run."""
    return [
        subprocess.Popen(
            [
                "py-spy",
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(seconds),
                "--rate",
                "50",
                "--format",
                "raw",
                "--nonblocking",
                "--output",
                str(out / f"profile-{pid}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for pid in workers_of(supervisor)
    ]


def summarise_profiles(folder: Path, top: int = 15) -> None:
    """Where the workers' time went: the share of samples in which each of our functions was on
    the stack (inclusive), and the leaf functions that took the most samples (self)."""
    inclusive: dict[str, int] = {}
    leaf: dict[str, int] = {}
    total = 0
    for path in folder.glob("profile-*.txt"):
        for line in path.read_text().splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not stack or not count_text.isdigit():
                continue
            count = int(count_text)
            total += count
            frames = stack.split(";")
            seen = set()
            for frame in frames:
                if "ipmo/" in frame or "(ipmo" in frame:
                    name = (
                        frame.split(" (")[0] + " (" + frame.split("ipmo/")[-1].split(":")[0] + ")"
                    )
                    if name not in seen:
                        inclusive[name] = inclusive.get(name, 0) + count
                        seen.add(name)
            leaf[frames[-1]] = leaf.get(frames[-1], 0) + count
    if not total:
        print("no profile samples (is py-spy allowed to attach? ptrace_scope)")
        return
    print(f"\nprofile: {total} samples over all workers")
    print("ipmo functions on the stack (inclusive share of samples):")
    for name, n in sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {n / total:6.1%}  {name}")
    print("leaf functions (self share):")
    for name, n in sorted(leaf.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {n / total:6.1%}  {name[:110]}")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used so far (``/proc/<pid>/stat``)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (stat fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def postgres_backends() -> list[int]:
    """The PostgreSQL server's processes on this machine (their CPU is the store's share)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def cost_per_request(rows: list[dict], server: float, store: float, locust: float) -> dict:
    """CPU milliseconds per request of the workers, the database server and Locust in the run,
    and the request rate two cores could give at that cost: a figure that does not depend on
    what else the machine was doing, unlike req/s."""
    total = next((r for r in rows if r["Name"] == "Aggregated"), None)
    requests = int(total["Request Count"]) if total else 0
    if not requests:
        return {}
    per = {
        k: 1000 * v / requests
        for k, v in (("server", server), ("store", store), ("locust", locust))
    }
    whole = sum(per.values())
    per["two_core_ceiling_rps"] = 2000 / whole if whole else 0.0
    print(
        f"CPU per request: workers {per['server']:.2f} ms, PostgreSQL {per['store']:.2f} ms, "
        f"Locust {per['locust']:.2f} ms → two cores could serve at most "
        f"{per['two_core_ceiling_rps']:.0f} req/s at this cost"
    )
    return per


EXPECTED_REFUSAL = "expected refusal"  # the locustfile's message for a right refusal


def expected_refusals(failures_csv: Path) -> int:
    """How many of the run's failures are refusals the product must make (a referral with no
    pharmacy open before its deadline), which Locust counts as failures under their own message."""
    if not failures_csv.exists():
        return 0
    with open(failures_csv) as f:
        return sum(
            int(r["Occurrences"]) for r in csv.DictReader(f) if EXPECTED_REFUSAL in r["Error"]
        )


def report(
    store: str, rows: list[dict], seconds: int, workers: int, users: int, refused: int = 0
) -> dict:
    health = next((r for r in rows if r["Name"] == "health"), None)
    health_p50 = float(health["50%"]) if health else 0.0
    print(f"\n{store}: {users} users, {workers} workers, {seconds} s")
    heading = ("req/s", "p50", "p95", "p99", "errors", "p50/health")
    print(f"{'request type':28} " + " ".join(f"{h:>8}" for h in heading))
    summary = {}
    for r in rows:
        name = r["Name"]
        p50 = float(r["50%"])
        ratio = f"{p50 / health_p50:.1f}" if health_p50 and name != "Aggregated" else ""
        print(
            f"{name:28} {float(r['Requests/s']):8.1f} {p50:8.0f} {float(r['95%']):8.0f} "
            f"{float(r['99%']):8.0f} {int(r['Failure Count']):8d} {ratio:>8}"
        )
        summary[name] = {
            "rps": float(r["Requests/s"]),
            "p50": p50,
            "p95": float(r["95%"]),
            "p99": float(r["99%"]),
            "errors": int(r["Failure Count"]),
            "requests": int(r["Request Count"]),
        }
    total = summary.get("Aggregated", {})
    if total:
        print(
            f"goal ≥ 500 req/s: {total['rps']:.0f} ({total['rps'] / 500:.2f}×);  "
            f"p99 ≤ 200 ms: {total['p99']:.0f} ms;  "
            f"errors: {total['errors'] - refused} of {total['requests']} "
            f"(and {refused} expected refusals: no pharmacy open)"
        )
    return summary


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--users", type=int, default=100)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--profile", action="store_true", help="sample the workers with py-spy")
    ap.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "ipmo-load-demo")
    args = ap.parse_args()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    stores = ["sqlite", "postgres"] if args.store == "both" else [args.store]
    results = {}
    for store in stores:
        url = _pg_database("ipmo_load_demo") if store == "postgres" else None
        prepare(args.data_dir, url)
        proc, base = serve(args.data_dir, url, args.workers)
        try:
            plan_file = args.data_dir / f"plan-{store}.json"
            plan(base, plan_file)
            out = args.data_dir / f"locust-{store}"
            profiles = args.data_dir / f"profiles-{store}"
            if args.profile:
                profiles.mkdir(exist_ok=True)
                for old in profiles.glob("profile-*.txt"):
                    old.unlink()
                spies = start_profiles(proc.pid, args.seconds, profiles)
            pids, pg = workers_of(proc.pid), postgres_backends() if url else []
            before = (cpu_seconds(pids), cpu_seconds(pg), resource.getrusage(RUSAGE_CHILDREN))
            print(f"load average at start: {os.getloadavg()[0]:.2f}", flush=True)
            rows = run_locust(base, plan_file, args.users, args.seconds, out)
            after = resource.getrusage(RUSAGE_CHILDREN)
            server, store_cpu = cpu_seconds(pids) - before[0], cpu_seconds(pg) - before[1]
            locust = (after.ru_utime + after.ru_stime) - (before[2].ru_utime + before[2].ru_stime)
            if args.profile:
                for spy in spies:
                    spy.wait(timeout=120)
            refused = expected_refusals(Path(f"{out}_failures.csv"))
            results[store] = report(store, rows, args.seconds, args.workers, args.users, refused)
            results[store]["cpu_ms_per_request"] = cost_per_request(rows, server, store_cpu, locust)
            if args.profile:
                summarise_profiles(profiles)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
    (args.data_dir / "results.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
