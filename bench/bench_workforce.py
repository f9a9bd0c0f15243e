"""Workforce benchmark at ICS scale: summaries, organogram layout and the CSV import.

    uv run python bench/bench_workforce.py [posts]

Baselines measured in the same run: for the summaries, one plain pass summing WTE per
organisation (the least work any summary must do); for the import, reading the same CSV with
``csv.DictReader`` and nothing else.
"""

from __future__ import annotations

import csv
import io
import random
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

from ipmo.organisations.models import Organisation
from ipmo.store import create_store_engine, init_store, session_scope
from ipmo.web.charts import tree_svg
from ipmo.workforce.geography import Geography, Org
from ipmo.workforce.importer import COLUMNS, import_assignments
from ipmo.workforce.organogram import ics_tree
from ipmo.workforce.staffing import PostFacts, summarise

ON = date(2026, 1, 1)


def ics(places=5, pcns=30, practices=200, pharmacies=350, trusts=4) -> Geography:
    orgs = {"QZZ": Org("QZZ", "ICB", "icb", None)}
    for i in range(places):
        orgs[f"P{i}"] = Org(f"P{i}", f"Place {i}", "place", "QZZ")
    for i in range(pcns):
        orgs[f"N{i}"] = Org(f"N{i}", f"PCN {i}", "pcn", f"P{i % places}")
    for i in range(practices):
        orgs[f"G{i}"] = Org(f"G{i}", f"Practice {i}", "practice", f"N{i % pcns}")
    for i in range(pharmacies):
        orgs[f"F{i}"] = Org(f"F{i}", f"Pharmacy {i}", "pharmacy", f"P{i % places}")
    for i in range(trusts):
        orgs[f"T{i}"] = Org(f"T{i}", f"Trust {i}", "trust", "QZZ")
    patients = {f"G{i}": 7500 for i in range(practices)}
    return Geography(orgs, patients)


def posts(geo: Geography, n: int, rng: random.Random) -> list[PostFacts]:
    codes = [c for c, o in geo.orgs.items() if o.kind in ("practice", "pharmacy", "trust")]
    sector = {"practice": "gp", "pharmacy": "community", "trust": "hospital"}
    out = []
    for i in range(n):
        org = rng.choice(codes)
        wte = rng.choice([1.0, 0.8, 0.6])
        out.append(
            PostFacts(
                f"A{i}", org, "Pharmacist", "pharmacist", "7", wte, rng.random() > 0.1,
                rng.random() < 0.4, date(2024, 1, 1), None,
                ((sector[geo.orgs[org].kind], org, wte),), None, None, False,
            )
        )  # fmt: skip
    return out


def timed(fn, repeat=3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main(n: int) -> None:
    rng = random.Random(1)
    geo = ics()
    facts = posts(geo, n, rng)

    def baseline():
        totals: dict[str, float] = defaultdict(float)
        for p in facts:
            for _s, org, wte in p.allocations:
                totals[org] += wte

    base = timed(baseline)
    print(f"{n} posts, {len(geo.orgs)} organisations")
    print(f"baseline: sum WTE per organisation      {base * 1000:8.1f} ms")
    for by in ("pcn", "place", "sector"):
        t = timed(lambda by=by: summarise(facts, geo, by=by, on=ON))
        label = f"summary by {by}"
        print(f"{label:<40}{t * 1000:8.1f} ms  ({t / base:.1f}× baseline)")
    t = timed(lambda: tree_svg(ics_tree(geo, facts, ON), "ICS"))
    print(f"ICS organogram SVG                      {t * 1000:8.1f} ms  ({t / base:.1f}× baseline)")

    with tempfile.TemporaryDirectory() as tmp:
        engine = create_store_engine(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        init_store(engine)
        with session_scope(engine) as s:
            for o in geo.orgs.values():
                s.add(Organisation(ods_code=o.code, name=o.name, kind=o.kind, parent_code=o.parent))
                s.flush()
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        for p in facts:
            w.writerow(
                {c: "" for c in COLUMNS}
                | {"assignment_number": p.assignment_number,
                   "employee_number": f"E{p.assignment_number}" if p.filled else "",
                   "full_name": "Name" if p.filled else "", "organisation_code": p.org_code,
                   "position_title": p.title, "staff_role": p.role, "afc_band": "7",
                   "wte": str(p.wte), "assignment_start": "2024-01-01",
                   "independent_prescriber": "Y" if p.ip and p.filled else "N"}
            )  # fmt: skip
        text = buf.getvalue()
        parse = timed(lambda: list(csv.DictReader(io.StringIO(text))))
        t = time.perf_counter()
        with session_scope(engine) as s:
            import_assignments(s, text)
        imp = time.perf_counter() - t
        engine.dispose()
    print(f"baseline: csv.DictReader of the file    {parse * 1000:8.1f} ms")
    label = "import (validate + write, SQLite)"
    print(f"{label:<40}{imp * 1000:8.1f} ms  ({imp / parse:.0f}× baseline)")
    print(f"import rate                             {n / imp:8.0f} rows/s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
