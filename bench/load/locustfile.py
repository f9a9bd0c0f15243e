"""The mixed workload of the load benchmark (issue 20), for Locust.

One simulated user is a client with one request in flight: it sends its next request when the
last is answered (``IPMO_LOAD_THINK_SECONDS``, default 0, adds a pause: 100 users thinking for 1 s
cannot ask for more than 100 requests/s, so the issue's ≥ 500 requests/s target is a closed-loop
figure) and picks its next job with these weights (per 100 requests):

| job | role (demo login) | weight | request |
|---|---|---|---|
| record read | PCN pharmacist | 35 | `GET /api/records/patients/{nhs}` |
| record decision | PCN pharmacist | 5 | read, then `POST …/decisions` with `If-Match` |
| worklist page | PCN pharmacist | 15 | `GET /api/review/worklist?limit=50` |
| patient lookup | PCN pharmacist | 10 | `GET /api/patients/{nhs}` |
| FHIR search | PCN pharmacist | 8 | `GET /fhir/R4/MedicationStatement?patient=…&_include=…` |
| referral inbox | community pharmacist | 12 | `GET /api/referrals?limit=50` |
| referral sent | NHS 111 clinician | 3 | `POST /api/referrals` (stated reason, Idempotency-Key) |
| referral accepted | community pharmacist | 3 | accept one from the inbox (409 if another won) |
| dashboard | ICS analyst | 2 | `GET /api/analytics/overview` |
| health | — | 7 | `GET /health` (the baseline: `select 1`) |

A record read is an access check, an audit entry and a reconciliation; a decision needs an open
discrepancy and the record's ETag (412 when another user decided first: expected, not an error).

Where the weights come from: the read-only mix of the 100-client run in issue 20 (records 40 %,
worklist 15 %, referrals 15 %, patients 10 %, dashboard 2 %), with 5 of the record reads made
decisions and 6 of the referral reads made referral writes, because the demo's roles write too
(PCN pharmacists resolve discrepancies, 111 refers and pharmacies accept); FHIR searches stand for
the integrations an ICS connects. Every response is checked: a 4xx or 5xx other than the expected
412/409 on a concurrent edit is a failure.

The runner (``bench/bench_load.py``) passes the patients each role can see in ``IPMO_LOAD_PLAN``
(a JSON file) so no request is refused for lack of a relationship.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from urllib.parse import urlencode

from locust import FastHttpUser, constant, constant_throughput, task

PLAN = json.loads(open(os.environ["IPMO_LOAD_PLAN"]).read())  # noqa: SIM115 - read once at import
TOKENS: dict[str, str] = PLAN["tokens"]
PCN_PATIENTS: list[str] = PLAN["pcn_patients"]
REFERRAL_PATIENTS: list[str] = PLAN["referral_patients"]


NONE_OPEN = '{"detail":"no pharmacy offering'
EXPECTED_REFUSAL = "expected refusal: no pharmacy open before the deadline"


def _auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


def _pace():  # type: ignore[no-untyped-def]  # Locust's wait-time functions are untyped
    """As fast as answers come (the load bench), or a fixed rate per user (the soak)."""
    if rate := os.environ.get("IPMO_LOAD_TASKS_PER_USER_PER_SECOND"):
        return constant_throughput(float(rate))
    return constant(float(os.environ.get("IPMO_LOAD_THINK_SECONDS", "0")))


class StaffMember(FastHttpUser):
    wait_time = _pace()

    @task(35)
    def record_read(self) -> None:
        nhs = random.choice(PCN_PATIENTS)
        self.client.get(f"/api/records/patients/{nhs}", headers=_auth("pcn"), name="record read")

    @task(5)
    def record_decision(self) -> None:
        nhs = random.choice(PCN_PATIENTS)
        r = self.client.get(
            f"/api/records/patients/{nhs}", headers=_auth("pcn"), name="record decision (read)"
        )
        if r.status_code != 200:
            return
        record = r.json()
        open_ones = [d for d in record["discrepancies"] if not d.get("decision")]
        if not open_ones:
            return
        body = {
            "discrepancy_id": open_ones[0]["id"],
            "action": "confirm_intended",
            "reason": "load test: confirmed with the patient",
        }
        with self.client.post(
            f"/api/records/patients/{nhs}/decisions",
            json=body,
            headers={**_auth("pcn"), "If-Match": r.headers.get("ETag", "")},
            name="record decision",
            catch_response=True,
        ) as answer:
            if answer.status_code in (200, 412):  # 412: another user decided first
                answer.success()

    @task(15)
    def worklist(self) -> None:
        self.client.get("/api/review/worklist?limit=50", headers=_auth("pcn"), name="worklist")

    @task(10)
    def patient(self) -> None:
        nhs = random.choice(PCN_PATIENTS)
        self.client.get(f"/api/patients/{nhs}", headers=_auth("pcn"), name="patient lookup")

    @task(8)
    def fhir_search(self) -> None:
        nhs = random.choice(PCN_PATIENTS)
        query = urlencode(
            {
                "patient": f"https://fhir.nhs.uk/Id/nhs-number|{nhs}",
                "_include": "MedicationStatement:patient",
            }
        )
        self.client.get(
            f"/fhir/R4/MedicationStatement?{query}",
            headers=_auth("pcn"),
            name="FHIR search",
        )

    @task(12)
    def referral_inbox(self) -> None:
        self.client.get("/api/referrals?limit=50", headers=_auth("pharmacy"), name="referral inbox")

    @task(3)
    def referral_sent(self) -> None:
        body = {
            "service": "urgent-repeat-supply",
            "nhs_number": random.choice(REFERRAL_PATIENTS),
            "summary": "Run out of regular medicines; caller asked for an urgent supply.",
            "no_relationship_reason": "NHS 111 caller",
        }
        with self.client.post(
            "/api/referrals",
            json=body,
            headers={**_auth("nhs111"), "Idempotency-Key": str(uuid.uuid4())},
            name="referral sent",
            catch_response=True,
        ) as answer:
            # outside the demo pharmacies' opening hours the right answer is a refusal that tells
            # 111 to refer another way (nothing is written): the 30-minute PostgreSQL soak ran
            # 17:26-17:56 UTC and 1,993 of its 2,129 referrals met it. Counted apart, under its
            # own message, so the runners report it as expected and not as an error
            if answer.status_code == 422 and answer.text.startswith(NONE_OPEN):
                answer.failure(EXPECTED_REFUSAL)

    @task(3)
    def referral_accepted(self) -> None:
        inbox = self.client.get(
            "/api/referrals?status=requested&limit=5",
            headers=_auth("pharmacy"),
            name="referral accepted (inbox)",
        )
        waiting = inbox.json() if inbox.status_code == 200 else []
        if not waiting:
            return
        ref = random.choice(waiting)
        with self.client.post(
            f"/api/referrals/{ref['reference']}/accept",
            json={"version": ref.get("version")},
            headers=_auth("pharmacy"),
            name="referral accepted",
            catch_response=True,
        ) as answer:
            if answer.status_code in (200, 409):  # 409: accepted by another user first
                answer.success()

    @task(2)
    def dashboard(self) -> None:
        self.client.get("/api/analytics/overview", headers=_auth("analyst"), name="dashboard")

    @task(7)
    def health(self) -> None:
        self.client.get("/health", name="health")
