"""``$export`` of a demo-size ICS (issue 18 target: 50,000 patients ≤ 60 s).

Generates the synthetic ICS (``--size demo``: 50,000 patients with their GP, hospital and
pharmacy lines) into a fresh SQLite store, then times the export job the ``$export`` kick-off
starts (:func:`ipmo.records.bulk.run_export`: pseudonymise, disclosure control, NDJSON files,
manifest). Baseline in the same run: reading the same rows with the same two queries and
nothing else, so the ratio says what pseudonymising and writing NDJSON cost on top.

    uv run python bench/bench_fhir_export.py [--size tiny|small|demo]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from ipmo.patients.models import Patient
from ipmo.records import bulk
from ipmo.records.models import SourceItem, SourceList
from ipmo.store import create_store_engine, init_store, session_scope
from ipmo.synth.generator import generate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="demo")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ipmo-bench-export-"))
    try:
        engine = create_store_engine(f"sqlite:///{tmp / 'store.sqlite3'}")
        init_store(engine)
        t = time.perf_counter()
        generate(engine, size=args.size, seed=1, progress=False, as_of=date(2026, 12, 1))
        print(f"synth {args.size:<13} {time.perf_counter() - t:.1f} s")
        with session_scope(engine) as s:
            t = time.perf_counter()
            patients = len(s.execute(select(Patient.id, Patient.nhs_number)).all())
            lines = len(
                s.execute(
                    select(SourceList.patient_id, SourceItem.id, SourceItem.dmd_code).join(
                        SourceItem, SourceItem.source_list_id == SourceList.id
                    )
                ).all()
            )
            baseline = time.perf_counter() - t
            assert s.scalar(select(func.count()).select_from(Patient)) == patients
        folder = tmp / "exports" / "bench"
        folder.mkdir(parents=True)
        request = bulk.ExportRequest(bulk.EXPORT_TYPES, None, "http://bench/fhir/R4/$export")
        key = bulk.pseudonym_key("bench")
        t = time.perf_counter()
        manifest = bulk.run_export(engine, folder, request, key, "http://bench/files")
        took = time.perf_counter() - t
        assert manifest is not None
        written = sum(f.stat().st_size for f in folder.glob("*.ndjson"))
        print(f"patients            {patients:,}")
        print(f"source lines        {lines:,}")
        for out in manifest["output"]:
            print(f"  {out['type']:<18} {out['count']:,}")
        print(f"NDJSON written      {written / 1e6:.1f} MB")
        print(f"baseline (2 reads)  {baseline:.2f} s")
        ratio = took / baseline
        print(f"$export job         {took:.2f} s  (target ≤ 60 s; {ratio:.1f}× the reads)")
        engine.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
