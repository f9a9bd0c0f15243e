"""`ipmo serve --workers N` keeps serving when a worker is starved of CPU, and replaces one that
dies without losing what it acknowledged (issue 20, "workers that start under load").

These run the real `ipmo serve` with two worker processes and act on the workers with signals:
SIGSTOP stands for a worker that gets no CPU (what a load average of ~18 did to uvicorn's 5 s
health check), SIGKILL for a crash.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from ipmo.security.models import AuditEvent
from ipmo.security.users import DEMO_PASSWORD, seed_demo_users
from ipmo.store import create_store_engine, init_store, session_scope
from ipmo.synth.sample import seed_sample_ics

NHS_NUMBER = "9990000018"  # a sample patient registered with the gp user's practice


@dataclass
class Served:
    proc: subprocess.Popen[str]
    base: str
    db: Path
    output: list[str]

    def workers(self) -> list[int]:
        """The supervisor's live worker processes (multiprocessing 'spawn' children)."""
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        pids = []
        for pid in children:
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except FileNotFoundError:
                continue
            if b"multiprocessing" in cmdline and b"resource_tracker" not in cmdline:
                pids.append(int(pid))
        return pids

    def token(self) -> str:
        r = httpx.post(
            f"{self.base}/api/auth/token", data={"username": "gp", "password": DEMO_PASSWORD}
        )
        return r.json()["access_token"]


def _wait(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Served]:
    """One served store per module (and per parametrisation): starting two workers on a busy CI
    machine takes a while."""
    tmp_path = tmp_path_factory.mktemp("served")
    db = tmp_path / "ipmo.sqlite3"
    engine = create_store_engine(f"sqlite:///{db}")
    init_store(engine)
    with session_scope(engine) as s:
        seed_sample_ics(s)
        seed_demo_users(s)
    engine.dispose()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "IPMO_DATA_DIR": str(tmp_path), **getattr(request, "param", {})}
    env.pop("IPMO_DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ipmo", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(proc.stdout or []), daemon=True)
    reader.start()
    server = Served(proc, f"http://127.0.0.1:{port}", db, output)
    try:
        _wait(lambda: _answers(f"{server.base}/ready"), 300, "ipmo serve did not become ready")
        _wait(lambda: len(server.workers()) == 2, 60, "two workers did not start")
        yield server
    finally:
        for pid in server.workers():
            os.kill(pid, signal.SIGCONT)
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        reader.join(timeout=5)


def test_a_worker_starved_of_cpu_is_given_time_not_replaced(served: Served):
    """A worker that cannot answer for 8 s (longer than uvicorn's 5 s health check) keeps its
    place: the requests it holds are not thrown away and no replacement storm starts."""
    before = served.workers()
    stopped = before[0]
    os.kill(stopped, signal.SIGSTOP)
    try:
        time.sleep(8)
        assert served.workers() == before  # not killed while it could not answer
        assert _answers(f"{served.base}/health")  # the other worker serves meanwhile
    finally:
        os.kill(stopped, signal.SIGCONT)
    time.sleep(1.5)
    assert served.workers() == before
    assert not any("replacing it" in line or "starting another" in line for line in served.output)


def test_a_crashed_worker_is_replaced_and_loses_no_acknowledged_write(served: Served):
    """Audited reads (each one an audit-log write committed before its response) run while a
    worker is killed: every read that was answered 200 has its audit entry, the supervisor
    starts a replacement, and the audit chain verifies."""
    headers = {"Authorization": f"Bearer {served.token()}"}
    acknowledged = 0
    failed = 0
    stop = threading.Event()

    def read_loop() -> None:
        nonlocal acknowledged, failed
        with httpx.Client(base_url=served.base, headers=headers, timeout=10) as client:
            while not stop.is_set():
                try:
                    r = client.get(f"/api/patients/{NHS_NUMBER}")
                except httpx.TransportError:
                    failed += 1  # the connection to the killed worker: not acknowledged
                    continue
                if r.status_code == 200:
                    acknowledged += 1

    threads = [threading.Thread(target=read_loop) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(2)
        victim = served.workers()[0]
        os.kill(victim, signal.SIGKILL)
        _wait(
            lambda: victim not in served.workers() and len(served.workers()) == 2,
            60,
            "the killed worker was not replaced",
        )
        time.sleep(2)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert acknowledged > 20
    assert any("starting another" in line for line in served.output)

    engine = create_store_engine(f"sqlite:///{served.db}")
    with session_scope(engine) as s:
        stored = s.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "patient.read")
        )
    engine.dispose()
    # every acknowledged read is audited; a request cut off by the kill may have committed its
    # entry without its response arriving, so there can be a few more entries, never fewer
    assert acknowledged <= stored <= acknowledged + failed + 4

    env = {**os.environ, "IPMO_DATA_DIR": str(served.db.parent)}
    env.pop("IPMO_DATABASE_URL", None)
    verify = subprocess.run(
        [sys.executable, "-m", "ipmo", "audit", "verify"], env=env, capture_output=True, text=True
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_metrics_add_up_every_workers_requests(served: Served):
    """Each request below opens its own connection, so the kernel spreads them over both workers;
    /metrics (answered by either) counts all of them (prometheus-client's multiprocess mode)."""
    for _ in range(30):
        assert httpx.get(f"{served.base}/api/me").status_code == 401
    families = text_string_to_metric_families(httpx.get(f"{served.base}/metrics").text)
    counted = sum(
        s.value
        for family in families
        for s in family.samples
        if s.name == "ipmo_http_requests_total"
        and s.labels == {"method": "GET", "route": "/api/me", "status": "401"}
    )
    assert counted == 30


@pytest.mark.parametrize("served", [{"IPMO_WORKER_TIMEOUT": "3"}], indirect=True)
def test_a_worker_silent_past_the_timeout_is_replaced(served: Served):
    """The other side of the same rule: a worker silent for longer than IPMO_WORKER_TIMEOUT is
    treated as hung and replaced, and the server goes on serving with two workers."""
    before = served.workers()
    os.kill(before[0], signal.SIGSTOP)
    _wait(lambda: before[0] not in served.workers(), 30, "the hung worker was not replaced")
    _wait(lambda: len(served.workers()) == 2, 60, "no replacement worker started")
    assert _answers(f"{served.base}/health")
    assert any("did not answer for 3 s" in line for line in served.output)
