"""Reliability: SIGKILL the server in the middle of a burst of referral messages, restart it, let
the sender retry everything: every acknowledged referral is there exactly once and the retries
create no duplicates. Uvicorn runs as a real subprocess on a free loopback port, with a file
SQLite store."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

import httpx
import pytest
from sqlalchemy import func, select

from ipmo.referrals.models import Referral
from ipmo.security.models import User
from ipmo.security.tokens import issue_token
from ipmo.store import create_store_engine, init_store, session_scope

from .apihelpers import always_open, message

BURST = 30
KILL_AFTER = 10


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(env: dict, port: int) -> subprocess.Popen:
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
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 90  # a loaded two-core machine imports slowly
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


@pytest.mark.slow
def test_sigkill_mid_burst_then_retries_leave_each_referral_exactly_once(tmp_path):
    from ipmo.security.users import seed_demo_users
    from ipmo.synth.sample import seed_sample_ics

    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    engine = create_store_engine(url)
    init_store(engine)
    with session_scope(engine) as s:
        seed_sample_ics(s)
        seed_demo_users(s)
    always_open(engine, "FA001")
    with session_scope(engine) as s:
        user = s.scalar(select(User).where(User.username == "nhs111"))
        token = issue_token("reliability-key", user.id, user.token_generation)
    env = {
        **os.environ,
        "IPMO_DATABASE_URL": url,
        "IPMO_SECRET_KEY": "reliability-key",
        "IPMO_DATA_DIR": str(tmp_path),
    }
    port = _free_port()
    base = f"http://127.0.0.1:{port}/fhir/R4/$process-message"
    headers = {"Authorization": f"Bearer {token}", "content-type": "application/fhir+json"}
    bodies = [
        json.dumps(message(message_id=str(uuid.uuid4()), receiver="FA001")) for _ in range(BURST)
    ]
    acked: dict[str, str] = {}

    server = _start(env, port)
    killed = threading.Event()

    def burst() -> None:
        with httpx.Client(timeout=5) as client:
            for body in bodies:
                try:
                    r = client.post(base, content=body, headers=headers)
                except httpx.HTTPError:
                    continue  # the sender saw no acknowledgement
                if r.status_code == 200:
                    acked[json.loads(body)["id"]] = r.json()["entry"][1]["resource"]["identifier"][
                        0
                    ]["value"]
                if len(acked) == KILL_AFTER and not killed.is_set():
                    server.send_signal(signal.SIGKILL)
                    killed.set()

    try:
        burst()
        assert killed.is_set() and KILL_AFTER <= len(acked) < BURST
        server.wait(timeout=10)
        port = _free_port()  # the restarted server (a fresh port: no wait for the old socket)
        base = f"http://127.0.0.1:{port}/fhir/R4/$process-message"
        server = _start(env, port)
        with httpx.Client(timeout=10) as client:  # the sender retries every message
            for body in bodies:
                r = client.post(base, content=body, headers=headers)
                assert r.status_code == 200, r.text
                mid = json.loads(body)["id"]
                ref = r.json()["entry"][1]["resource"]["identifier"][0]["value"]
                if mid in acked:
                    assert ref == acked[mid] and r.headers.get("x-idempotent-replay") == "true"
    finally:
        server.kill()
        server.wait(timeout=10)
    with session_scope(engine) as s:
        rows = s.execute(select(Referral.message_id, Referral.reference)).all()
        assert s.scalar(select(func.count(func.distinct(Referral.message_id)))) == BURST
    assert len(rows) == BURST
    stored = dict(rows)
    assert all(stored[mid] == ref for mid, ref in acked.items())
    engine.dispose()
