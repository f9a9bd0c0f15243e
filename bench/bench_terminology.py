"""Terminology figures: dictionary load, store load, dm+d import, lookups and name matching.

Baselines measured in the same run: a linear scan over the dictionary rows for lookups, and one
store query per code for batch resolution. Run: ``uv run python bench/bench_terminology.py``.
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

from ipmo.store import create_store_engine, init_store, session_scope
from ipmo.terminology import Dictionary, load_starter_dictionary, lookup
from ipmo.terminology.dictionary import read_artifact
from ipmo.terminology.dmd_xml import import_release

SHARED = Path(__file__).resolve().parents[2] / "shared"


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    rows, t_read = timed(read_artifact)
    d, t_dict = timed(lambda: Dictionary(rows))
    print(f"read artifact: {len(rows):,} rows in {t_read:.2f}s; Dictionary built in {t_dict:.2f}s")

    codes = random.Random(1).sample(sorted(d.rows), 2000)
    _, t_mem = timed(lambda: [d.lookup(c) for c in codes])
    _, t_scan = timed(lambda: [next(r for r in rows if r["id"] == c) for c in codes[:200]])
    per_mem, per_scan = t_mem / len(codes), t_scan / 200
    print(f"in-memory lookup: {per_mem * 1e6:.1f} µs/code; linear-scan baseline "
          f"{per_scan * 1e6:.0f} µs/code; ratio {per_scan / per_mem:,.0f}x")  # fmt: skip

    with tempfile.TemporaryDirectory() as tmp:
        engine = create_store_engine(f"sqlite:///{Path(tmp) / 'b.sqlite3'}")
        init_store(engine)
        with session_scope(engine) as s:
            inserted, t_load = timed(lambda: load_starter_dictionary(s))
        print(f"load_starter_dictionary (SQLite): {sum(inserted.values()):,} rows in {t_load:.2f}s")
        with session_scope(engine) as s:
            _, t_db = timed(lambda: [lookup(s, c) for c in codes[:500]])
        per_db = t_db / 500
        print(f"store lookup: {per_db * 1e6:.0f} µs/code; in-memory is {per_db / per_mem:,.0f}x "
              "faster for batch work")  # fmt: skip
        fixtures = SHARED / "peers" / "openprescribing" / "dmd_fixtures"
        if fixtures.exists():
            with session_scope(engine) as s:
                rel, t_imp = timed(lambda: import_release(
                    s, fixtures / "release_1",
                    bnf_mapping=fixtures / "bnf_snomed_mapping" / "mapping.xlsx"))  # fmt: skip
            print(f"import-dmd fixture release_1 ({sum(rel.counts().values()):,} rows): "
                  f"{t_imp:.2f}s")  # fmt: skip

    names = [r["name"] for r in rows if r["kind"] == "AMP" and r["name"]][:3000]
    _ = d.name_index
    hits, t_match = timed(lambda: [d.match_by_name(n) for n in names])
    matched = sum(1 for h in hits if h)
    each = t_match / len(names) * 1e6
    print(
        f"match_by_name: {len(names):,} AMP names in {t_match:.2f}s ({each:.0f} µs each), "
        f"{matched / len(names):.0%} matched a VMP"
    )


if __name__ == "__main__":
    main()
