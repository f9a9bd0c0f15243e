"""Benchmark: national EPD month → Parquet → every runnable measure at every level.

    uv run python bench/bench_analytics.py [--practices 6500] [--seed 1] [--work DIR]

Prints: generation time and raw rows; ingest rows/s (target ≥ 1M/s); measures wall time and peak
memory (targets ≤ 20 s, ≤ 8 GB); and, measured in the same run, the ratio against
(a) a straightforward pandas implementation of the same measures (goal: ours ≥ 10× faster) and
(b) one DuckDB pass summing the month by practice × presentation (goal: ours within 2× of it).
Each phase runs in a child process so its peak RSS is its own; times exclude interpreter start-up
and imports (measured after ``import ibis, duckdb, pandas``), include everything else.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

PHASES = {}


def phase(fn):
    PHASES[fn.__name__] = fn
    return fn


@phase
def generate(work: Path, practices: int, seed: int) -> dict:
    from ipmo.synth.national_epd import generate_national_epd

    result = generate_national_epd(work / "epd", seed, practices=practices)
    return {"raw_rows": result.raw_rows, "path": str(result.path)}


@phase
def ingest(work: Path, practices: int, seed: int) -> dict:
    from ipmo.analytics.epd import ingest_epd

    files = sorted((work / "epd").glob("EPD_*.csv"))
    report = ingest_epd(files, work / "store")
    return {"raw_rows": report.raw_rows, "rows": report.rows}


@phase
def measures(work: Path, practices: int, seed: int) -> dict:
    from ipmo.analytics.service import compute_from_store

    run = compute_from_store(work / "store")
    return {
        "measures": len(run.plans),
        "skipped": len(run.skipped),
        "value_rows": run.results.values.num_rows,
    }


@phase
def duckdb_floor(work: Path, practices: int, seed: int) -> dict:
    import duckdb

    rows = duckdb.sql(
        f"""SELECT count(*) FROM (
              SELECT practice, bnf_code, sum(items), sum(quantity), sum(actual_cost)
              FROM read_parquet('{work}/store/prescribing/*.parquet') GROUP BY ALL)"""
    ).fetchone()[0]
    return {"rows": rows}


@phase
def pandas_baseline(work: Path, practices: int, seed: int) -> dict:
    """The same measures written the obvious way: one filter + groupby per measure and level."""
    import pandas as pd

    from ipmo.analytics.definitions import load_definitions
    from ipmo.analytics.plan import plan_measures

    df = pd.read_parquet(work / "store" / "prescribing")
    orgs = pd.read_parquet(work / "store" / "practices.parquet")
    names = df.groupby("bnf_code")["bnf_name"].first().to_dict()
    plans, _ = plan_measures(load_definitions().values(), names)
    levels = ["practice", "pcn", "place", "icb", "region"]
    out = []
    for plan in plans:
        sides = {}
        for label, side in (("num", plan.numerator), ("den", plan.denominator)):
            if side.source == "list_size":
                sides[label] = None
                continue
            w = pd.Series(side.weights, name="w", dtype="float64")
            w.index = w.index.astype(str)
            part = df[df.bnf_code.isin(w.index)].join(w, on="bnf_code")
            part["v"] = part[side.column] * part["w"] * side.scale
            sides[label] = part.groupby("practice").agg(
                v=("v", "sum"), cost=("actual_cost", "sum"), qty=("quantity", "sum")
            )
        base = orgs.set_index("practice")[levels[1:]]
        frame = base.copy()
        for label in ("num", "den"):
            s = sides[label]
            frame[label] = 0.0 if s is None else s["v"].reindex(frame.index).fillna(0.0)
            for c in ("cost", "qty"):
                frame[f"{label}_{c}"] = 0.0 if s is None else s[c].reindex(frame.index).fillna(0)
        frame = frame.reset_index()
        for level in levels:
            g = frame.groupby(level)[["num", "den", "num_cost", "num_qty", "den_cost", "den_qty"]]
            g = g.sum()
            g["calc"] = g["num"] / g["den"].where(g["den"] != 0)
            g["percentile"] = g["calc"].rank(method="min", pct=False).sub(1)
            g["percentile"] = g["percentile"] / (g["calc"].notna().sum() - 1) * 100
            for c in range(10, 100, 10):
                p = g["calc"].quantile(c / 100)
                nuc = g["num_cost"] / g["num_qty"]
                ouc = (g["den_cost"] - g["num_cost"]) / (g["den_qty"] - g["num_qty"])
                g[f"saving_{c}"] = g["den_cost"] - (
                    p * g["den_qty"] * nuc + (g["den_qty"] - p * g["den_qty"]) * ouc
                )
            out.append(len(g))
    return {"measures": len(plans), "value_rows": sum(out)}


def run_phase(name: str, work: Path, practices: int, seed: int) -> tuple[float, dict, float]:
    """Run one phase in a child; return (seconds, result, peak RSS GB of that child)."""
    code = (
        "import json, sys, time; sys.path.insert(0, 'bench'); import bench_analytics as b; "
        "import duckdb, ibis, pyarrow, ipmo.analytics.service, ipmo.synth.national_epd; "
        + ("import pandas; " if name == "pandas_baseline" else "")
        + "t = time.perf_counter(); "
        f"r = b.PHASES[{name!r}](b.Path({str(work)!r}), {practices}, {seed}); "
        "r['_seconds'] = time.perf_counter() - t; "
        "import resource; r['_rss'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; "
        "print(json.dumps(r))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{name} failed:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result.pop("_seconds"), result, result.pop("_rss") / 1024 / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--practices", type=int, default=6500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument("--reuse-store", action="store_true", help="skip ingest if already done")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="ipmo-bench-analytics-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"work folder {work}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print("(a load average above the CPU count means other work shares the machine: times scale)")
    if not list((work / "epd").glob("EPD_*.csv")):
        s, r, _ = run_phase("generate", work, args.practices, args.seed)
        print(
            f"generate      {s:7.1f} s  {r['raw_rows']:,} raw rows ({args.practices:,} practices)"
        )
    if not (args.reuse_store and list((work / "store" / "prescribing").glob("*.parquet"))):
        s_ing, r, mem = run_phase("ingest", work, args.practices, args.seed)
        print(
            f"ingest        {s_ing:7.1f} s  {r['raw_rows'] / s_ing / 1e6:5.2f} M rows/s "
            f"(target ≥ 1), peak {mem:.2f} GB → {r['rows']:,} rows"
        )
    s_m, r, mem = run_phase("measures", work, args.practices, args.seed)
    print(
        f"measures      {s_m:7.1f} s  peak {mem:.2f} GB (targets ≤ 20 s, ≤ 8 GB): "
        f"{r['measures']} measures, {r['value_rows']:,} values, {r['skipped']} skipped"
    )
    s_f, r, _ = run_phase("duckdb_floor", work, args.practices, args.seed)
    print(f"duckdb floor  {s_f:7.1f} s  one pass practice × presentation ({r['rows']:,} groups)")
    print(f"  ratio measures / floor = {s_m / s_f:.2f} (goal ≤ 2)")
    if not args.skip_pandas:
        s_p, r, _ = run_phase("pandas_baseline", work, args.practices, args.seed)
        print(f"pandas        {s_p:7.1f} s  same {r['measures']} measures, naive")
        print(f"  ratio pandas / ours = {s_p / s_m:.1f}× (goal ≥ 10)")


if __name__ == "__main__":
    main()
