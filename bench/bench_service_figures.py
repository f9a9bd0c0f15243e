"""Benchmark: service figures over a year of an ICS's referrals on DuckDB (issue 15: ≈ 500,000
referrals ≤ 2 s).

    uv run python bench/bench_service_figures.py [--referrals 500000] [--seed 1]

A year of synthetic referrals (four pharmacy services, 350 pharmacies, 200 practices, NHS 111 and
GP senders, the demo's outcome mix) is loaded into an in-memory DuckDB table shaped like the
store's ``referrals`` table. Timed: the ONE counting statement of ``ipmo.referrals.figures``
(``counting_query``, compiled by SQLAlchemy for PostgreSQL, which DuckDB speaks) grouped per
service × month × pharmacy and per practice, then rolled up to pharmacy, PCN, place and ICB and
the rates derived (``activity_figures``' roll-up). Baseline, measured in the same run: the same
figures counted row by row in Python over the fetched rows (what a per-referral loop costs).
Prints both times, the ratio, and the ICS totals so a reader can check them against each other.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict


def load(con, n: int, seed: int) -> None:
    """``n`` referrals over a year, generated inside DuckDB (seeded): the demo's outcome mix,
    4% returned unaccepted, 10% still open, 5% re-routed once."""
    con.execute(f"SELECT setseed({(seed % 1000) / 1000})")
    con.execute(
        f"""
        CREATE TABLE referrals AS
        WITH base AS (
          SELECT i AS id,
                 TIMESTAMP '2025-04-01' + to_minutes(CAST(floor(random() * 525600) AS BIGINT))
                   AS created_at,
                 random() AS s, random() AS k, random() AS roll, random() AS o, random() AS r,
                 random() AS e, CAST(floor(random() * 350) AS INT) AS ph,
                 CAST(floor(random() * 200) AS INT) AS pr,
                 CAST(5 + floor(random() * 115) AS INT) AS acc,
                 CAST(10 + floor(random() * 890) AS INT) AS done
          FROM range({n}) t(i)
        )
        SELECT id,
          CASE WHEN s < 0.5 THEN 'pharmacy-first' WHEN s < 0.75 THEN 'urgent-repeat-supply'
               WHEN s < 0.9 THEN 'discharge-medicines-service' ELSE 'contraception' END
            AS service,
          CASE WHEN roll < 0.04 THEN 'failed' WHEN roll < 0.9 THEN 'completed' ELSE 'requested'
            END AS status,
          CASE WHEN roll < 0.04 THEN 'returned-to-referrer' WHEN roll >= 0.9 THEN NULL
               WHEN o < 0.55 THEN 'supplied' WHEN o < 0.70 THEN 'no-supply'
               WHEN o < 0.92 THEN 'advice-given' ELSE 'referred-on' END AS business_status,
          CASE WHEN roll >= 0.04 AND roll < 0.9 AND o >= 0.55 AND o < 0.70 THEN
               ['out-of-stock', 'not-clinically-appropriate', 'prescription-available',
                'other'][1 + CAST(floor(r * 4) AS INT)] END AS outcome_reason,
          CASE WHEN k < 0.45 THEN 'nhs111' ELSE 'practice' END AS sender_kind,
          'FZ' || lpad(CAST(ph AS VARCHAR), 4, '0') AS target_org_code,
          'Z' || lpad(CAST(pr AS VARCHAR), 5, '0') AS practice_code,
          created_at,
          CASE WHEN roll >= 0.04 AND roll < 0.9 THEN created_at + to_minutes(acc) END
            AS accepted_at,
          CASE WHEN roll >= 0.04 AND roll < 0.9 THEN created_at + to_minutes(acc + done) END
            AS completed_at,
          created_at + to_hours(CASE WHEN s < 0.5 THEN 24 WHEN s < 0.75 THEN 12 ELSE 72 END)
            AS due_by,
          CASE WHEN e < 0.05 THEN 1 ELSE 0 END AS escalations
        FROM base
        """
    )


COLUMNS = (
    "id, service, status, business_status, outcome_reason, sender_kind, target_org_code, "
    "practice_code, created_at, accepted_at, completed_at, due_by, escalations"
)


def orgs() -> tuple[dict, dict]:
    parents, kinds = {"QZZ": None}, {"QZZ": "icb"}
    for p in range(5):
        parents[f"0{p}Z"], kinds[f"0{p}Z"] = "QZZ", "place"
    for p in range(30):
        parents[f"UZ{p:04d}"], kinds[f"UZ{p:04d}"] = f"0{p % 5}Z", "pcn"
    for p in range(200):
        parents[f"Z{p:05d}"], kinds[f"Z{p:05d}"] = f"UZ{p % 30:04d}", "practice"
    for p in range(350):
        parents[f"FZ{p:04d}"], kinds[f"FZ{p:04d}"] = f"0{p % 5}Z", "pharmacy"
    return parents, kinds


def level(con, by: str) -> dict:
    """What ``activity_figures(by=…)`` does, on DuckDB: the counting statement, then the roll-up
    to ``by`` × service × month and the derived figures."""
    from sqlalchemy.dialects import postgresql

    from ipmo.referrals import figures as f

    parents, kinds = orgs()
    sql = str(
        f.counting_query("practice" if by == "pcn" else "pharmacy").compile(
            dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
        )
    )
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    records = f.rows_from(dict(zip(names, r, strict=True)) for r in cur.fetchall())
    group = f._group_of(parents, kinds, by)
    groups: dict[tuple, dict] = defaultdict(f.empty)
    for r in records:
        f.add(groups[(group(r["org_code"]), r["service"], r["month"])], r)
    return {k: g | f.derive(g) for k, g in groups.items()}


def baseline(con) -> dict:
    """Row by row in Python: fetch every referral and count it (ICB level only)."""
    rows = con.execute(f"SELECT {COLUMNS} FROM referrals").fetchall()
    totals: dict[str, float] = defaultdict(float)
    for (
        _i,
        service,
        status,
        outcome,
        _reason,
        sender,
        _t,
        _p,
        created,
        accepted,
        completed,
        due,
        _e,
    ) in rows:
        totals["referrals"] += 1
        totals["completed"] += status == "completed"
        totals["items_supplied"] += outcome == "supplied"
        totals["no_supply"] += outcome == "no-supply"
        totals["completed_in_time"] += status == "completed" and completed <= due
        if accepted is not None:
            totals["minutes_to_accept_total"] += (accepted - created).total_seconds() / 60
        if sender == "nhs111" and service == "urgent-repeat-supply":
            totals["nhs111_urgent"] += 1
    return totals


def main() -> None:
    import duckdb

    ap = argparse.ArgumentParser()
    ap.add_argument("--referrals", type=int, default=500_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    t = time.perf_counter()
    con = duckdb.connect()
    load(con, args.referrals, args.seed)
    print(f"generated {args.referrals:,} referrals in DuckDB in {time.perf_counter() - t:.1f} s")
    level(con, "icb")  # warm: DuckDB's first statement plans and allocates
    result, took = {}, {}
    for by in ("icb", "place", "pcn", "pharmacy"):
        t = time.perf_counter()
        result[by] = level(con, by)
        took[by] = time.perf_counter() - t
        print(
            f"service figures by {by} × service × month ({len(result[by]):,} rows): "
            f"{took[by]:.2f} s (target ≤ 2 s) — {'PASS' if took[by] <= 2 else 'FAIL'}"
        )
    t = time.perf_counter()
    base = baseline(con)
    base_took = time.perf_counter() - t
    print(f"all four levels: {sum(took.values()):.2f} s")
    print(f"baseline, row by row in Python (ICB totals only): {base_took:.2f} s")
    print(f"ratio baseline ÷ ours (ICB level): {base_took / took['icb']:.1f}×")
    icb: dict[str, float] = defaultdict(float)
    for g in result["icb"].values():  # the ICS totals, checked against the baseline
        for k in ("referrals", "completed", "items_supplied", "no_supply", "nhs111_urgent"):
            icb[k] += g[k]
    icb["completed_in_time"] = sum(g["completed_in_time"] for g in result["icb"].values())
    for k, v in icb.items():
        print(f"  ICS {k}: {int(v):,} (baseline {int(base[k]):,})")
    assert all(int(icb[k]) == int(base[k]) for k in icb), "the two counts disagree"
    share = icb["no_supply"] / (icb["items_supplied"] + icb["no_supply"])
    print(f"  ICS no-supply share of items: {share:.1%}")


if __name__ == "__main__":
    main()
