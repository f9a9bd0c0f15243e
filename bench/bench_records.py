"""Batch reconciliation benchmark (issue 4): 100k synthetic patients, 3 sources, ~10 lines each.

Prints patients/second for ``ipmo.records.reconcile.reconcile`` and for a straightforward
baseline (pairwise scans of every source against every other, re-deriving "current" inside the
loops) measured in the same run, and their ratio. Only reconciliation is timed: generation and
dm+d normalisation happen before each timed chunk (normalisation is per line, done once at ingest).

    uv run python bench/bench_records.py [--patients 100000] [--chunk 5000]
"""

from __future__ import annotations

import argparse
import gc
import random
import time
from copy import copy
from datetime import date

from ipmo.records.canonical import MedItem, SourceDocument
from ipmo.records.current import is_current, is_stopped
from ipmo.records.normalise import normalise_item
from ipmo.records.reconcile import _compare, reconcile
from ipmo.terminology.dictionary import Dictionary

INDEX = date(2025, 6, 1)
# BNF paragraphs: 6 of 36 are duplication-hazard classes (PPIs, NSAIDs, anticoagulants, SSRIs,
# loop diuretics, ACE inhibitors); the rest are classes ipmo does not flag.
BNF_CLASSES = ["0103050", "1001010", "0208020", "0403030", "0202020", "0205051"] + [
    f"13{n:02d}000" for n in range(30)
]
FORMS = [("tablets", "tablet"), ("capsules", "capsule"), ("modified-release tablets", "tablet")]


def build_dictionary(n_vtm: int = 300) -> tuple[Dictionary, list[list[str]]]:
    """Synthetic dm+d: each VTM has 3 VMPs (two strengths, a second form) and one AMP."""
    rows, vmps_by_vtm = [], []
    for v in range(n_vtm):
        vtm = f"8{v:06d}"
        name = f"Substance{v}"
        bnf = BNF_CLASSES[v % len(BNF_CLASSES)] + f"{v % 90:02d}AAAAAA"
        rows.append({"kind": "VTM", "id": vtm, "name": name})
        ids = []
        for k, (strength, (form, _)) in enumerate(
            [(5, FORMS[v % 2]), (10, FORMS[v % 2]), (5, FORMS[2])]
        ):
            vmp = f"7{v:06d}{k}"
            rows.append(
                {
                    "kind": "VMP",
                    "id": vmp,
                    "name": f"{name} {strength}mg {form}",
                    "vtm_id": vtm,
                    "bnf_code": bnf,
                    "form": form,
                    "route": "oral",
                }
            )
            ids.append(vmp)
        rows.append(
            {
                "kind": "AMP",
                "id": f"6{v:06d}",
                "name": f"Brand{v} 5mg {FORMS[v % 2][0]} (Co)",
                "vmp_id": ids[0],
                "bnf_code": bnf,
            }
        )
        ids.append(f"6{v:06d}")
        vmps_by_vtm.append(ids)
    full = []
    for r in rows:
        base = {
            "kind": "",
            "id": "",
            "name": "",
            "vmp_id": "",
            "vtm_id": "",
            "bnf_code": "",
            "form": "",
            "route": "",
            "supplier": "",
            "invalid": "0",
            "new_id": "",
            "sources": "bench",
        }
        full.append(base | r)
    return Dictionary(full), vmps_by_vtm


def dosage(n: float, per_day: int, unit: str, prn: bool = False) -> list[dict]:
    d = {
        "doseAndRate": [{"doseQuantity": {"value": n, "unit": unit}}],
        "timing": {"repeat": {"frequency": per_day, "period": 1, "periodUnit": "d"}},
    }
    if prn:
        d["asNeededBoolean"] = True
    return [d]


class Templates:
    """Normalised template lines (normalising is per-line ingest work, not reconciliation)."""

    def __init__(self, dictionary: Dictionary, vmps_by_vtm: list[list[str]]) -> None:
        self.cache: dict[tuple, MedItem] = {}
        self.dictionary = dictionary
        self.vmps = vmps_by_vtm

    def line(
        self,
        code: str,
        n: float,
        per_day: int,
        unit: str,
        prn: bool,
        status: str,
        category: str,
        authored: date,
        end: date | None,
    ) -> MedItem:
        key = (code, n, per_day, unit, prn)
        tpl = self.cache.get(key)
        if tpl is None:
            tpl = normalise_item(
                MedItem(
                    name=f"item {code}",
                    code=code,
                    dosage=dosage(n, per_day, unit, prn),
                    dose_text=f"{n:g} {unit} {per_day} times a day",
                ),
                self.dictionary,
            )
            self.cache[key] = tpl
        item = copy(tpl)
        item.status, item.category, item.authored_on, item.end_date = (
            status,
            category,
            authored,
            end,
        )
        return item


def make_patient(rng: random.Random, t: Templates) -> list[SourceDocument]:
    n_vtm = len(t.vmps)
    core = rng.sample(range(n_vtm), 10)
    docs = []
    for kind, org in (("gp", "A81001"), ("hospital", "RR8"), ("pharmacy", "FA001")):
        items = []
        for v in core:
            r = rng.random()
            if r < 0.08:  # omitted in this source
                continue
            vmps = t.vmps[v]
            code = vmps[0]
            n, per_day, unit, prn = 1, 1 + (v % 3), "tablet", False
            r2 = rng.random()
            if r2 < 0.04:
                code = vmps[1]  # other strength → dose
            elif r2 < 0.07:
                code = vmps[2]  # other form → formulation
            elif r2 < 0.10:
                code = vmps[3]  # brand of the same VMP → nothing
            elif r2 < 0.14:
                per_day += 1  # frequency/dose
            elif r2 < 0.16:
                prn = True
            status, end = "active", None
            if rng.random() < 0.03:
                status, end = "stopped", date(2025, 5, 1)
            category = (
                "repeat" if kind == "gp" else ("inpatient" if kind == "hospital" else "acute")
            )
            items.append(
                t.line(code, n, per_day, unit, prn, status, category, date(2025, 1, 5), end)
            )
        if rng.random() < 0.2:  # a commission
            items.append(
                t.line(
                    t.vmps[rng.randrange(n_vtm)][0],
                    1,
                    1,
                    "tablet",
                    False,
                    "active",
                    "acute",
                    date(2025, 4, 1),
                    None,
                )
            )
        docs.append(SourceDocument(kind, org, "bench", items))
    return docs


def baseline(sources: list[SourceDocument], index: date) -> list[tuple[str, str]]:
    """Straightforward: every source against every other by scanning lists, deriving as it goes."""
    out = []
    labels = [d.label for d in sources]
    ref = labels[0]
    ref_doc = sources[0]
    for doc in sources:
        for item in doc.items:
            if not is_current(item, index):
                continue
            key = item.vtm or item.name.lower()
            # duplication: scan the same source
            for other in doc.items:
                if (
                    other is not item
                    and (other.vtm or other.name.lower()) == key
                    and is_current(other, index)
                ):
                    out.append(("duplication", key))
            if doc is ref_doc:
                for other_doc in sources[1:]:
                    match = [
                        o
                        for o in other_doc.items
                        if (o.vtm or o.name.lower()) == key and is_current(o, index)
                    ]
                    stopped = [
                        o
                        for o in other_doc.items
                        if (o.vtm or o.name.lower()) == key and is_stopped(o, index)
                    ]
                    if stopped and not match:
                        out.append(("stopped_elsewhere", key))
                    elif not match:
                        out.append(("omission", key))
                    else:
                        out += [
                            (d.type, key)
                            for d in _compare(key, key, ref, item, other_doc.label, match[0])
                        ]
            else:
                in_ref = [
                    o
                    for o in ref_doc.items
                    if (o.vtm or o.name.lower()) == key
                    and (is_current(o, index) or is_stopped(o, index))
                ]
                if not in_ref:
                    out.append(("commission", key))
    # class duplication: pairwise over everything
    cur = [i for d in sources for i in d.items if is_current(i, index) and not i.as_needed]
    for i, a in enumerate(cur):
        for b in cur[i + 1 :]:
            if (
                a.therapeutic_class
                and a.therapeutic_class == b.therapeutic_class
                and a.vtm != b.vtm
            ):
                out.append(("duplication", a.therapeutic_class))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=100_000)
    ap.add_argument("--chunk", type=int, default=5_000)
    ap.add_argument("--baseline-patients", type=int, default=10_000)
    args = ap.parse_args()
    dictionary, vmps = build_dictionary()
    t = Templates(dictionary, vmps)
    rng = random.Random(4)
    fast = slow = fast_cpu = slow_cpu = 0.0
    slow_n = 0
    n_lines = n_disc = 0
    done = 0
    while done < args.patients:
        size = min(args.chunk, args.patients - done)
        batch = [make_patient(rng, t) for _ in range(size)]
        n_lines += sum(len(d.items) for p in batch for d in p)
        gc.collect()
        gc.disable()
        start, cpu0 = time.perf_counter(), time.process_time()
        for p in batch:
            n_disc += len(reconcile(p, INDEX).discrepancies)
        fast += time.perf_counter() - start
        fast_cpu += time.process_time() - cpu0
        if slow_n < args.baseline_patients:
            start, cpu0 = time.perf_counter(), time.process_time()
            for p in batch:
                baseline(p, INDEX)
            slow += time.perf_counter() - start
            slow_cpu += time.process_time() - cpu0
            slow_n += size
        gc.enable()
        done += size
    rate, rate_cpu = done / fast, done / fast_cpu
    base_rate, base_cpu = slow_n / slow, slow_n / slow_cpu
    print(f"patients            {done:,} (3 sources, {n_lines / done / 3:.1f} lines per source)")
    print(f"discrepancies       {n_disc:,} ({n_disc / done:.2f} per patient)")
    print(
        f"reconcile           {fast:.2f} s wall → {rate:,.0f} patients/s "
        f"({rate_cpu:,.0f}/s per CPU-second; target ≥ 5,000)"
    )
    print(
        f"baseline            {slow:.2f} s wall for {slow_n:,} → {base_rate:,.0f} patients/s "
        f"({base_cpu:,.0f}/s per CPU-second)"
    )
    print(
        f"ratio               {rate / base_rate:.1f}× the straightforward baseline (wall), "
        f"{rate_cpu / base_cpu:.1f}× (CPU)"
    )


if __name__ == "__main__":
    main()
