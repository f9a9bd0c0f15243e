"""Pharmacy First benchmark (issue 15): the gateway check for one consultation whose patient has a
20-line One Medication Record. Target: p95 ≤ 5 ms.

Two figures, each timed per call over ``--runs`` calls (after a warm-up), p50 / p95 / max:

1. ``check`` — the gateway check itself (``gateway.check``: every gateway and supply criterion,
   red flags, each PGD treatment against the 20 current medicines, the record findings), for
   each of the seven pathways in turn. This is what runs on every "Check the gateway".
2. ``judge`` — the whole judgement as the consultation page does it from the store
   (``service.judge``: the patient's pregnancy codes, the One Medication Record's current list
   reconciled from a 20-line GP source, then the check), on a file SQLite store.

Baseline in the same run: reading the current list alone (``records.current_medications``), so
the ratio says what the gateway adds on top of reading the record.

Run: uv run python bench/bench_pharmacyfirst.py [--runs 2000]

Measured (issue 15) on the 2-core machine shared with 7 other sessions (load average 18):
``check`` p50 0.06 ms, p95 0.10 ms (target met by ~50x); ``judge`` p50 11 ms, p95 32 ms, of
which reading the One Medication Record (reconciling the 20-line source) is the bulk (alone:
p50 19 ms, p95 39 ms in the same run: the two overlap within the noise at that load). The
store-inclusive figure does not meet 5 ms on a loaded machine; the record read is the records
domain's cost and is paid once per page, not per criterion.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select

from ipmo.patients import Patient
from ipmo.pharmacyfirst import gateway as gw
from ipmo.pharmacyfirst import service as svc
from ipmo.pharmacyfirst.models import Consultation
from ipmo.pharmacyfirst.pathways import catalogue
from ipmo.records import current_medications
from ipmo.records.canonical import MedItem, SourceDocument, content_hash
from ipmo.records.service import ingest
from ipmo.security.users import seed_demo_users
from ipmo.store import create_store_engine, init_store, session_scope
from ipmo.synth.sample import seed_sample_ics

DAY = date(2026, 11, 18)
CARA = "9990000034"
MEDICINES = [
    "Ramipril 5mg capsules", "Amlodipine 5mg tablets", "Atorvastatin 20mg tablets",
    "Metformin 500mg tablets", "Levothyroxine 50microgram tablets", "Omeprazole 20mg capsules",
    "Sertraline 50mg tablets", "Bisoprolol 2.5mg tablets", "Simvastatin 40mg tablets",
    "Lansoprazole 30mg capsules", "Paracetamol 500mg tablets", "Salbutamol 100micrograms inhaler",
    "Beclometasone 100micrograms inhaler", "Furosemide 40mg tablets", "Aspirin 75mg tablets",
    "Gliclazide 80mg tablets", "Citalopram 20mg tablets", "Losartan 50mg tablets",
    "Folic acid 5mg tablets", "Colecalciferol 800unit capsules",
]  # fmt: skip


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    for _ in range(max(20, runs // 20)):
        fn()
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def line(name: str, ms: list[float]) -> float:
    p95 = statistics.quantiles(ms, n=20)[18]
    print(f"{name:<44} p50 {statistics.median(ms):7.3f} ms  p95 {p95:7.3f} ms  max {max(ms):7.2f}")
    return p95


def bench_check(runs: int) -> float:
    meds = [gw.Medicine(name) for name in MEDICINES]
    assert len(meds) == 20
    cases = []
    for code in catalogue().codes():
        p = catalogue().pathway(code, DAY)
        answers = {q: False for q in p.questions} | {"pregnant": False}
        cases.append(
            (p, gw.Facts(date(1985, 11, 23), "female", DAY, answers=answers, medicines=meds))
        )
    i = iter(range(10**9))

    def one() -> object:
        p, facts = cases[next(i) % len(cases)]
        return gw.check(p, facts)

    return line("check (pure, 20 medicines, 7 pathways)", timed(one, runs))


def bench_judge(runs: int) -> tuple[float, float]:
    folder = Path(tempfile.mkdtemp(prefix="pf-bench-"))
    engine = create_store_engine(f"sqlite:///{folder / 'store.sqlite3'}")
    init_store(engine)
    with session_scope(engine) as s:
        seed_sample_ics(s)
        seed_demo_users(s)
        items = [
            MedItem(name=n, status="active", category="repeat",
                    authored_on=DAY - timedelta(days=90), last_issued=DAY - timedelta(days=14))
            for n in MEDICINES
        ]  # fmt: skip
        digest = content_hash([i.to_json() for i in items])
        doc = SourceDocument("gp", "A10002", "bench-gp", items, nhs_number=CARA, as_of=DAY)
        doc.kind_reason, doc.content_hash = "stated by the bench", digest
        ingest(s, doc)
        patient = s.scalar(select(Patient).where(Patient.nhs_number == CARA))
        new = svc.NewConsultation("clinical-pathway", "walk-in", DAY, "uti")
        c = svc.start(s, "bench", "FA001", patient, new)
        c.answers = {"urinary_catheter": False, "recurrent_uti": False, "pregnant": False}
        ref = c.reference
    with session_scope(engine) as s:
        patient = s.scalar(select(Patient).where(Patient.nhs_number == CARA))
        c = s.scalar(select(Consultation).where(Consultation.reference == ref))
        lines = current_medications(s, patient.id, DAY) or []
        assert len(lines) == 20, len(lines)
        read = timed(lambda: current_medications(s, patient.id, DAY), runs)
        base = line("baseline: One Medication Record current list", read)
        full = line("judge (store: pregnancy, record, check)", timed(judge(s, c, patient), runs))
    engine.dispose()
    return base, full


def judge(s, c, patient) -> Callable[[], object]:
    return lambda: svc.judge(s, c, patient)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} (a shared machine: figures are a lower bound)")
    check_p95 = bench_check(args.runs)
    base, full = bench_judge(max(200, args.runs // 10))
    print(
        f"judge / record read alone: {full / base:.2f}x; gateway check on top: {full - base:.3f} ms"
    )
    verdict = "met" if check_p95 <= 5 else "NOT met"
    print(f"gateway check p95 ≤ 5 ms: {verdict} ({check_p95:.3f} ms)")
    print(f"with the record read from the store: p95 {full:.3f} ms (≤ 5 ms: {full <= 5})")


if __name__ == "__main__":
    main()
