"""Time ``ipmo synth`` at tiny and demo size (and ics with --ics) on a fresh SQLite store.

Baseline, measured in the same run: inserting the same number of medication-issue rows one
``session.add`` at a time through the ORM for a 2,000-row sample, extrapolated — the cost the
bulk loader avoids. Usage: ``uv run python bench/bench_synth.py [--ics]``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from ipmo.patients.models import MedicationIssue
from ipmo.store import create_store_engine, init_store
from ipmo.synth import generate


def run(size: str, folder: Path) -> tuple[float, float, dict[str, int]]:
    """Wall and CPU seconds (CPU matters on a shared machine: wall includes waiting)."""
    engine = create_store_engine(f"sqlite:///{folder / f'{size}.sqlite3'}")
    init_store(engine)
    t, c = time.perf_counter(), time.process_time()
    report = generate(engine, size=size, seed=1, progress=False, as_of=date(2026, 1, 1))
    engine.dispose()
    return time.perf_counter() - t, time.process_time() - c, report.counts


def orm_rows_per_second(folder: Path, n: int = 2000) -> float:
    engine = create_store_engine(f"sqlite:///{folder / 'orm.sqlite3'}")
    init_store(engine)
    generate(engine, size="tiny", seed=1, progress=False, as_of=date(2026, 1, 1))
    t = time.perf_counter()
    with Session(engine) as session:
        for i in range(n):
            session.add(
                MedicationIssue(
                    patient_id=1 + i % 400,
                    dmd_code="318902004",
                    name="Ramipril 5mg capsules",
                    issue_date=date(2025, 1, 1),
                    issue_type="repeat",
                )
            )
        session.commit()
    return n / (time.perf_counter() - t)


def main() -> None:
    sizes = ["tiny", "demo"] + (["ics"] if "--ics" in sys.argv else [])
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        orm_rate = orm_rows_per_second(folder)
        print(f"baseline ORM insert: {orm_rate:,.0f} rows/s")
        for size in sizes:
            seconds, cpu, counts = run(size, folder)
            rows = sum(counts.values())
            print(
                f"{size:5s} {seconds:8.1f} s wall {cpu:8.1f} s cpu  {rows:>12,} rows  "
                f"{rows / seconds:>10,.0f} rows/s  "
                f"(x{rows / seconds / orm_rate:.1f} vs ORM; ORM would take "
                f"{rows / orm_rate:,.0f} s)  patients {counts['patients']:,}  "
                f"issues {counts['medication_issues']:,}"
            )


if __name__ == "__main__":
    main()
