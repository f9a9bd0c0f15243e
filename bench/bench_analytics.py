"""Benchmark: national EPD month → Parquet → every runnable measure at every level.

    uv run python bench/bench_analytics.py [--practices 6500] [--seed 1] [--work DIR]
                                           [--reuse-store] [--skip-pandas]

Prints: generation time and raw rows; ingest rows/s over the raw CSV rows (target ≥ 1M/s);
measures wall time and peak memory (targets ≤ 20 s, ≤ 8 GB), split into planning (definitions →
per-code weights, Python) and the engine run; and, measured in the same run, the ratio against
(a) a straightforward pandas implementation of the same measures (goal: ours ≥ 10× faster) and
(b) one DuckDB pass summing the month by practice × presentation (goal: ours within 2× of it).

Each phase runs in a child process so its peak RSS is its own; times exclude interpreter start-up
and imports (every child imports duckdb, ibis with its DuckDB backend, pyarrow, pandas and the
ipmo modules first), include everything else. Each phase also reports its CPU seconds (all
threads): on a machine shared with other work, wall time stretches with the load average (printed
before and after each phase) while CPU seconds barely move.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PHASES = {}
LEVELS = ("practice", "pcn", "place", "icb", "region", "national")


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
    from ipmo.analytics.ingest.epd import ingest_epd

    files = sorted((work / "epd").glob("EPD_*.csv"))
    report = ingest_epd(files, work / "store")
    return {"raw_rows": report.raw_rows, "rows": report.rows}


@phase
def measures(work: Path, practices: int, seed: int) -> dict:
    from ipmo.analytics.compute.service import compute_from_store

    run = compute_from_store(work / "store")
    return {
        "measures": len(run.plans),
        "skipped": len(run.skipped),
        "value_rows": run.results.values.num_rows,
        "plan_seconds": run.seconds["plan"],
    }


@phase
def duckdb_floor(work: Path, practices: int, seed: int) -> dict:
    """Sum the month by practice × presentation. The outer sums make DuckDB compute the inner
    ones (a bare ``count(*)`` over the group-by lets it drop them and only count keys)."""
    import duckdb

    groups, *_ = duckdb.sql(
        f"""SELECT count(*), sum(items), sum(quantity), sum(actual_cost) FROM (
              SELECT practice, bnf_code, sum(items) AS items, sum(quantity) AS quantity,
                     sum(actual_cost) AS actual_cost
              FROM read_parquet('{work}/store/prescribing/*.parquet') GROUP BY ALL)"""
    ).fetchone()
    return {"rows": groups}


def _pandas_levels(frame, plan, level: str):
    """One measure at one level, the obvious way: group, divide, rank, deciles, savings."""
    sums = ["num", "den", "num_cost", "num_qty", "den_cost", "den_qty"]
    keys = ["month"] if level == "national" else [level, "month"]
    g = frame.groupby(keys)[sums].sum().reset_index()
    g["calc"] = g["num"] / g["den"].where(g["den"] != 0)
    by_month = g.groupby("month")["calc"]
    rank = by_month.rank(method="min") - 1
    count = by_month.transform("count")
    g["percentile"] = rank / (count - 1).where(count > 1, 1) * 100
    nat = frame.groupby("month")[sums].sum()
    nat_num_unit = (nat["num_cost"] / nat["num_qty"]).reindex(g["month"]).to_numpy()
    nat_other = (nat["den_cost"] - nat["num_cost"]) / (nat["den_qty"] - nat["num_qty"])
    nat_other_unit = nat_other.reindex(g["month"]).to_numpy()
    num_unit = (g["num_cost"] / g["num_qty"]).where(g["num_qty"] > 0, nat_num_unit)
    other_qty = g["den_qty"] - g["num_qty"]
    other_unit = ((g["den_cost"] - g["num_cost"]) / other_qty).where(other_qty > 0, nat_other_unit)
    totals = {}
    for c in range(10, 100, 10):
        p = by_month.transform(lambda s, q=c / 100: s.quantile(q))
        if not plan.definition.is_cost_based:
            g[f"saving_{c}"] = float("nan")
        elif plan.definition.is_percentage:
            pct = p * g["den_qty"] * num_unit + (g["den_qty"] - p * g["den_qty"]) * other_unit
            g[f"saving_{c}"] = g["den_cost"] - pct
        else:
            g[f"saving_{c}"] = (g["calc"] - p) * g["den"]
        totals[c] = g[f"saving_{c}"].where(g[f"saving_{c}"] > 0, 0).groupby(g["month"]).sum()
    return g, totals


def _pandas_side(df, side, rows, list_sizes, label: str):
    """Σ weight × column per practice-month for one side of a measure (list size / 1,000 for
    list-size sides), with the side's cost and quantity."""
    import pandas as pd

    if side.source == "list_size":
        if list_sizes is None:
            return None
        out = list_sizes.assign(v=list_sizes["total_list_size"] * side.scale, cost=0.0, qty=0.0)
        return out.set_index(["practice", "month"])[["v", "cost", "qty"]]
    index = 3 if label == "num" else 4
    w = pd.DataFrame(
        [(r[0], r[1], r[2], r[index]) for r in rows], columns=["bnf_code", "lo", "hi", "w"]
    ).dropna(subset=["w"])
    part = df[df.bnf_code.isin(w.bnf_code)].merge(w, on="bnf_code")
    if w.lo.notna().any() or w.hi.notna().any():  # month-keyed weights (nhse_bgts)
        lo = pd.to_datetime(part.lo).fillna(pd.Timestamp.min)
        hi = pd.to_datetime(part.hi).fillna(pd.Timestamp.max)
        month = pd.to_datetime(part.month)
        part = part[(month >= lo) & (month < hi)]
    part = part.assign(v=part[side.column] * part.w * side.scale)
    return part.groupby(["practice", "month"]).agg(
        v=("v", "sum"), cost=("actual_cost", "sum"), qty=("quantity", "sum")
    )


@phase
def pandas_baseline(work: Path, practices: int, seed: int) -> dict:
    """The same measures (same definitions and plans as ``measures``) written the obvious way:
    one filter + groupby per measure side, then one groupby per level."""
    import pandas as pd
    import pyarrow.parquet as pq

    from ipmo.analytics.measures.definitions import load_definitions
    from ipmo.analytics.planning.ipmo_measures import with_ipmo_measures
    from ipmo.analytics.planning.plan import plan_measures

    store = work / "store"
    columns = ["month", "practice", "bnf_code", "items", "quantity", "actual_cost"]
    df = pd.read_parquet(store / "prescribing", columns=columns)
    orgs = pd.read_parquet(store / "practices.parquet")
    names = pq.read_table(store / "presentations.parquet").to_pydict()
    list_sizes = None
    if (store / "list_sizes.parquet").exists():
        list_sizes = pd.read_parquet(store / "list_sizes.parquet")
    start = time.perf_counter()
    codes = dict(zip(names["bnf_code"], names["bnf_name"], strict=True))
    plans, _ = plan_measures(with_ipmo_measures(list(load_definitions().values()), codes), codes)
    plan_seconds = time.perf_counter() - start
    grid = df[["practice", "month"]].drop_duplicates().merge(orgs, on="practice")
    grid["national"] = "ENG"
    value_rows = 0
    for plan in plans:
        rows = list(plan.rows())
        frame = grid.set_index(["practice", "month"])
        for label, side in (("num", plan.numerator), ("den", plan.denominator)):
            s = _pandas_side(df, side, rows, list_sizes, label)
            for col, src in ((label, "v"), (f"{label}_cost", "cost"), (f"{label}_qty", "qty")):
                frame[col] = 0.0 if s is None else s[src].reindex(frame.index).fillna(0.0)
        frame = frame.reset_index()
        for level in LEVELS:
            g, _ = _pandas_levels(frame[frame[level].notna()], plan, level)
            value_rows += len(g)
    return {"measures": len(plans), "value_rows": value_rows, "plan_seconds": plan_seconds}


PREAMBLE = (
    "import json, sys, time, resource; sys.path.insert(0, 'bench'); import bench_analytics as b; "
    "import duckdb, ibis, ibis.backends.duckdb, pyarrow, pandas, sqlglot; "
    "import ipmo.analytics.compute.service, ipmo.analytics.ingest.epd, ipmo.synth.national_epd; "
)


def run_phase(name: str, work: Path, practices: int, seed: int) -> tuple[float, dict, float]:
    """Run one phase in a child; return (seconds, result, peak RSS GB of that child)."""
    code = PREAMBLE + (
        "u = resource.getrusage(resource.RUSAGE_SELF); c = u.ru_utime + u.ru_stime; "
        "t = time.perf_counter(); "
        f"r = b.PHASES[{name!r}](b.Path({str(work)!r}), {practices}, {seed}); "
        "r['_seconds'] = time.perf_counter() - t; "
        "u = resource.getrusage(resource.RUSAGE_SELF); r['_cpu'] = u.ru_utime + u.ru_stime - c; "
        "r['_rss'] = u.ru_maxrss; print(json.dumps(r))"
    )
    load = os.getloadavg()[0]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{name} failed:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["_load"] = f"load {load:.1f}→{os.getloadavg()[0]:.1f}"
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
        s, r, mem = run_phase("generate", work, args.practices, args.seed)
        print(
            f"generate      {s:7.1f} s  {r['raw_rows']:,} raw rows ({args.practices:,} practices)"
            f", cpu {r['_cpu']:.1f} s, peak {mem:.2f} GB, {r['_load']}"
        )
    if not (args.reuse_store and list((work / "store" / "prescribing").glob("*.parquet"))):
        s_ing, r, mem = run_phase("ingest", work, args.practices, args.seed)
        print(
            f"ingest        {s_ing:7.1f} s  {r['raw_rows'] / s_ing / 1e6:5.2f} M raw rows/s "
            f"(target ≥ 1), cpu {r['_cpu']:.1f} s, peak {mem:.2f} GB → {r['rows']:,} rows, "
            f"{r['_load']}"
        )
    s_m, r, mem = run_phase("measures", work, args.practices, args.seed)
    plan = r["plan_seconds"]
    print(
        f"measures      {s_m:7.1f} s  peak {mem:.2f} GB (targets ≤ 20 s, ≤ 8 GB): "
        f"{r['measures']} measures, {r['value_rows']:,} values, {r['skipped']} skipped; "
        f"planning {plan:.1f} s + engine {s_m - plan:.1f} s, cpu {r['_cpu']:.1f} s, {r['_load']}"
    )
    s_f, r, _ = run_phase("duckdb_floor", work, args.practices, args.seed)
    print(
        f"duckdb floor  {s_f:7.1f} s  one pass practice × presentation ({r['rows']:,} groups), "
        f"cpu {r['_cpu']:.1f} s, {r['_load']}"
    )
    print(
        f"  ratio measures / floor = {s_m / s_f:.2f} whole run, {(s_m - plan) / s_f:.2f} engine "
        "only (goal ≤ 2)"
    )
    if not args.skip_pandas:
        s_p, r, _ = run_phase("pandas_baseline", work, args.practices, args.seed)
        p_plan = r["plan_seconds"]
        print(
            f"pandas        {s_p:7.1f} s  same {r['measures']} measures, "
            f"{r['value_rows']:,} values; planning {p_plan:.1f} s + pandas {s_p - p_plan:.1f} s, "
            f"cpu {r['_cpu']:.1f} s, {r['_load']}"
        )
        print(
            f"  ratio pandas / ours = {s_p / s_m:.1f}× whole run, "
            f"{(s_p - p_plan) / (s_m - plan):.1f}× after the shared planning (goal ≥ 10)"
        )


if __name__ == "__main__":
    main()
