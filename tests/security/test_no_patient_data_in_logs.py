import logging
import re

import pytest

from ipmo.logs import RedactPatientIdentifiers, redact


def test_nhs_numbers_are_masked_in_any_layout():
    assert redact("GET /api/patients/9990000018 200") == "GET /api/patients/[nhs-number] 200"
    assert redact("patient 999 000 0018 refused") == "patient [nhs-number] refused"
    assert redact("order 12345 took 1234567890123 ms") == "order 12345 took 1234567890123 ms"


@pytest.mark.parametrize(
    "typed",
    [
        "9995986868",
        "999 598 6868",
        "999  598   6868",
        "999-598-6868",
        "999+598+6868",
        "999%20598%206868",
        "999%2B598%2B6868",
        "999%2520598%25206868",  # double-encoded
        "%39%39%39%35%39%38%36%38%36%38",  # every digit encoded
        "99959 86868",  # odd grouping of a valid number
        "9 9 9 5 9 8 6 8 6 8",
    ],
)
@pytest.mark.parametrize(
    "template",
    [
        "GET /api/patients/{} HTTP/1.1 200",
        'GET /patients?nhs_number={}&x=1 HTTP/1.1" 200',
        "could not publish list for {}",
    ],
)
def test_nhs_numbers_are_masked_in_any_spacing_or_url_encoding(typed, template):
    out = redact(template.format(typed))
    assert "[nhs-number]" in out
    assert "9995986868" not in re.sub(r"\D", "", out.replace("[nhs-number]", "|")), out


def test_ordinary_numbers_and_times_stay_readable():
    for text in (
        "took 1234567890123 ms",
        "served 250 requests in 12.5 s at 2026-12-07 02:38:41",
        "127.0.0.1:50312 - GET /api/plans/12 HTTP/1.1 200",
        "progress 100% of 3",
    ):
        assert redact(text) == text


def test_tracebacks_are_masked(caplog):
    logger = logging.getLogger("ipmo.test")
    caplog.handler.addFilter(RedactPatientIdentifiers())
    try:
        raise ValueError("no patient 999 598 6868")
    except ValueError:
        logger.exception("failed")
    assert "6868" not in caplog.text and "[nhs-number]" in caplog.text


def test_log_records_pass_through_the_filter(caplog):
    logger = logging.getLogger("ipmo.test")
    handler_filter = RedactPatientIdentifiers()
    caplog.handler.addFilter(handler_filter)
    logger.warning("could not publish list for %s", "9990000018")
    assert "9990000018" not in caplog.text and "[nhs-number]" in caplog.text


def test_application_code_logs_no_identifier_while_serving_patients(client_as, caplog):
    # no filter on this handler: our own code must not log the identifiers in the first place
    with caplog.at_level(logging.DEBUG):
        client_as("gp").get("/api/patients/9990000018")
        client_as("gp").get("/api/patients/9990000042")
    assert "9990000018" not in caplog.text and "9990000042" not in caplog.text


@pytest.mark.parametrize("workers", [1, 2])
def test_the_served_access_log_carries_no_nhs_number(tmp_path, workers):
    """Run the real `ipmo serve` (one process, and two worker processes), read a patient over
    HTTP, and read what the server printed."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time

    import httpx

    from ipmo.security.users import DEMO_PASSWORD, seed_demo_users
    from ipmo.store import create_store_engine, init_store, session_scope
    from ipmo.synth.sample import seed_sample_ics

    engine = create_store_engine(f"sqlite:///{tmp_path / 'ipmo.sqlite3'}")
    init_store(engine)
    with session_scope(engine) as s:
        seed_sample_ics(s)
        seed_demo_users(s)
    engine.dispose()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "IPMO_DATA_DIR": str(tmp_path)}
    env.pop("IPMO_DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ipmo", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 90  # worker processes import the app on a loaded CI machine
        while True:
            try:
                httpx.get(f"{base}/health", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.time() < deadline, "ipmo serve did not start"
                time.sleep(0.2)
        token = httpx.post(
            f"{base}/api/auth/token", data={"username": "gp", "password": DEMO_PASSWORD}
        ).json()["access_token"]
        r = httpx.get(
            f"{base}/api/patients/9990000018", headers={"Authorization": f"Bearer {token}"}
        )
        assert r.status_code == 200
        httpx.get(f"{base}/api/patients/9990000042", headers={"Authorization": f"Bearer {token}"})
        for typed in ("999+000+0018", "999 000 0018", "999-000-0018", "999%20000%200018"):
            httpx.get(f"{base}/api/patients/{typed}", headers={"Authorization": f"Bearer {token}"})
            httpx.get(f"{base}/patients?nhs_number={typed}")
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=20)
    assert "/api/patients/[nhs-number]" in output  # the access log ran …
    assert "9990000018" not in output and "9990000042" not in output  # … and masked them
    digits_only = re.sub(r"\D", "", output.replace("[nhs-number]", "|"))
    assert "9990000018" not in digits_only  # in any spacing or encoding


def test_database_errors_do_not_carry_the_values_into_logs(any_engine):
    """A failing statement's exception (logged with its traceback on a 500) names the SQL, not
    the values bound to it, which may be a patient's name or NHS number."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    with any_engine.connect() as conn:
        try:
            conn.execute(
                text("insert into no_such_table (name, nhs) values (:name, :nhs)"),
                {"name": "Ada Smith", "nhs": "9990000018"},
            )
        except DBAPIError as exc:
            message = str(exc)
        else:  # pragma: no cover - the table does not exist
            raise AssertionError("the insert should have failed")
    assert "no_such_table" in message
    assert "Ada Smith" not in message and "9990000018" not in message
