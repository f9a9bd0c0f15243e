"""Benchmark: every review rule over an ICS-sized population (default 1.5M patients).

Generates facts directly as DuckDB tables (hash-based, deterministic), evaluates all rules
set-based (``engine_sql``), then evaluates a sample of patients one by one with the per-patient
engine (``engine_python``) and extrapolates, printing the ratio. Targets: ≤120 s, ≤8 GB.

    uv run python bench/bench_review.py [patients] [sample]
"""

from __future__ import annotations

import resource
import sys
import time
from datetime import date

import duckdb

from ipmo.review.check import fired
from ipmo.review.codelists import codes
from ipmo.review.engine_sql import evaluate_population
from ipmo.review.facts import Event, Issue, Obs, PatientFacts, Stay

AS_OF = date(2024, 6, 30)
PRODUCTS = [
    "Ibuprofen 400mg tablets",
    "Naproxen 500mg tablets",
    "Omeprazole 20mg capsules",
    "Lansoprazole 15mg capsules",
    "Warfarin 1mg tablets",
    "Apixaban 5mg tablets",
    "Apixaban 2.5mg tablets",
    "Rivaroxaban 20mg tablets",
    "Edoxaban 60mg tablets",
    "Aspirin 75mg dispersible tablets",
    "Clopidogrel 75mg tablets",
    "Propranolol 40mg tablets",
    "Timolol 0.5% eye drops",
    "Bisoprolol 5mg tablets",
    "Verapamil 80mg tablets",
    "Ramipril 5mg capsules",
    "Lisinopril 10mg tablets",
    "Losartan 50mg tablets",
    "Furosemide 40mg tablets",
    "Spironolactone 25mg tablets",
    "Bendroflumethiazide 2.5mg tablets",
    "Amlodipine 5mg tablets",
    "Atorvastatin 20mg tablets",
    "Simvastatin 40mg tablets",
    "Metformin 500mg tablets",
    "Gliclazide 80mg tablets",
    "Methotrexate 2.5mg tablets",
    "Folic acid 5mg tablets",
    "Lithium carbonate 400mg tablets",
    "Amiodarone 200mg tablets",
    "Levothyroxine 50microgram tablets",
    "Amitriptyline 10mg tablets",
    "Sertraline 50mg tablets",
    "Citalopram 20mg tablets",
    "Mirtazapine 15mg tablets",
    "Oxybutynin 5mg tablets",
    "Diazepam 2mg tablets",
    "Zopiclone 7.5mg tablets",
    "Morphine sulfate 10mg tablets",
    "Co-codamol 30mg/500mg tablets",
    "Codeine phosphate 30mg tablets",
    "Tramadol 50mg capsules",
    "Senna 7.5mg tablets",
    "Lactulose solution",
    "Quetiapine 25mg tablets",
    "Risperidone 1mg tablets",
    "Prednisolone 5mg tablets",
    "Alendronic acid 70mg tablets",
    "Colecalciferol 800unit capsules",
    "Pregabalin 75mg capsules",
    "Gabapentin 300mg capsules",
    "Donepezil 5mg tablets",
    "Chlorphenamine 4mg tablets",
    "Levetiracetam 500mg tablets",
    "Allopurinol 100mg tablets",
    "Salbutamol 100micrograms/dose inhaler",
    "Paracetamol 500mg tablets",
    "Tamsulosin 400microgram capsules",
    "Doxazosin 2mg tablets",
    "Isosorbide mononitrate 20mg tablets",
    "Digoxin 125microgram tablets",
    "Dapagliflozin 10mg tablets",
    "Sodium valproate 200mg tablets",
    "Azathioprine 50mg tablets",
    "Carbamazepine 200mg tablets",
    "Unknown product",
]
SETS = [
    "pincer_pep",
    "pincer_gi_bleed",
    "pincer_ast",
    "pincer_ast_res",
    "pincer_hf",
    "af",
    "dementia",
    "falls",
    "vascular_disease",
    "chd",
    "diabetes_t2",
    "epilepsy",
    "osteoporosis",
    "gout",
    "palliative",
    "severe_frailty",
    "carehome",
    "smr",
]
KINDS = [
    ("egfr", 10, 110),
    ("potassium", 3, 6.5),
    ("sodium", 125, 148),
    ("creatinine", 50, 300),
    ("weight", 40, 120),
    ("heart_rate", 40, 100),
    ("fbc", None, None),
    ("lft", None, None),
    ("tft", None, None),
    ("lithium", 0.3, 1.2),
]


def generate(con: duckdb.DuckDBPyConnection, n: int) -> None:
    t = AS_OF.isoformat()
    con.execute(
        "CREATE TABLE products (product_id BIGINT, dmd_code VARCHAR, name VARCHAR, "
        "bnf_code VARCHAR, vmp_code VARCHAR, vtm_code VARCHAR)"
    )
    con.executemany(
        "INSERT INTO products VALUES (?, ?, ?, NULL, NULL, NULL)",
        [(i + 1, str(i + 1), name) for i, name in enumerate(PRODUCTS)],
    )
    np_ = len(PRODUCTS)
    con.execute(f"""CREATE TABLE patients AS SELECT range AS patient_id,
        DATE '1925-01-01' + CAST(hash(range, 1) % 29000 AS INTEGER) AS birth_date,
        CASE hash(range, 2) % 2 WHEN 0 THEN 'female' ELSE 'male' END AS sex,
        hash(range, 3) % 60 = 0 AS care_home,
        CASE WHEN hash(range, 4) % 3 = 0 THEN NULL ELSE 45 + hash(range, 5) % 60 END::DOUBLE
            AS weight_kg,
        'P' || (range % 250)::VARCHAR AS practice_code FROM range({n})""")
    con.execute(f"""CREATE TEMP TABLE courses AS SELECT p.patient_id, c.range AS k,
        1 + hash(p.patient_id, c.range, 7) % {np_} AS product_id,
        CAST(hash(p.patient_id, c.range, 8) % 720 AS INTEGER) AS start_ago,
        1 + hash(p.patient_id, c.range, 9) % 8 AS n_issues,
        CASE WHEN hash(p.patient_id, c.range, 10) % 8 = 0 THEN 'one when required'
             ELSE 'one daily' END AS dose_text
        FROM patients p, range(9) c WHERE c.range < hash(p.patient_id, 11) % 10""")
    con.execute(f"""CREATE TABLE issues AS SELECT patient_id, product_id,
        DATE '{t}' - start_ago + CAST(j.range * 28 AS INTEGER) AS issue_date, dose_text
        FROM courses, range(8) j WHERE j.range < n_issues AND start_ago - j.range * 28 >= -5
        ORDER BY issue_date""")
    codes_list = [sorted(codes(s))[0] for s in SETS]
    con.execute(
        "CREATE TEMP TABLE pool AS SELECT * FROM (VALUES "
        + ", ".join(f"({i}, '{c}')" for i, c in enumerate(codes_list))
        + ") v(i, code)"
    )
    con.execute(f"""CREATE TABLE events AS SELECT p.patient_id, pool.code,
        CASE WHEN hash(p.patient_id, e.range, 13) % 10 = 0 THEN NULL
             ELSE DATE '{t}' - CAST(hash(p.patient_id, e.range, 14) % 1500 AS INTEGER) END
             AS onset_date,
        CASE WHEN hash(p.patient_id, e.range, 15) % 12 = 0
             THEN DATE '{t}' - CAST(hash(p.patient_id, e.range, 16) % 300 AS INTEGER) END
             AS resolved_date
        FROM patients p, range(5) e JOIN pool ON pool.i = hash(p.patient_id, e.range, 12)
             % {len(codes_list)}
        WHERE e.range < hash(p.patient_id, 17) % 6""")
    kinds = ", ".join(
        f"({i}, '{k}', {lo if lo is not None else 'NULL'}, {hi if hi is not None else 'NULL'})"
        for i, (k, lo, hi) in enumerate(KINDS)
    )
    con.execute(f"CREATE TEMP TABLE kinds AS SELECT * FROM (VALUES {kinds}) v(i, kind, lo, hi)")
    con.execute(f"""CREATE TABLE observations AS SELECT p.patient_id, '' AS code, k.kind,
        CASE WHEN k.lo IS NULL THEN NULL ELSE
             round(k.lo + (k.hi - k.lo) * (hash(p.patient_id, o.range, 19) % 1000) / 1000.0, 1)
        END AS value,
        CASE WHEN hash(p.patient_id, o.range, 20) % 25 = 0 THEN '>' END AS comparator,
        DATE '{t}' - CAST(hash(p.patient_id, o.range, 21) % 700 AS INTEGER) AS effective_date
        FROM patients p, range(7) o JOIN kinds k ON k.i = hash(p.patient_id, o.range, 18)
             % {len(KINDS)}
        WHERE o.range < hash(p.patient_id, 22) % 8""")
    con.execute(f"""CREATE TABLE admissions AS SELECT patient_id,
        DATE '{t}' - CAST(hash(patient_id, 23) % 365 AS INTEGER) AS admitted_on,
        hash(patient_id, 24) % 3 = 0 AS is_fall FROM patients
        WHERE hash(patient_id, 25) % 12 = 0""")


def facts_for(con: duckdb.DuckDBPyConnection, ids: list[int]) -> list[PatientFacts]:
    id_list = ", ".join(map(str, ids))
    out = {
        pid: PatientFacts(pid, b, s, care_home=c, weight_kg=w)
        for pid, b, s, c, w in con.execute(
            f"SELECT patient_id, birth_date, sex, care_home, weight_kg FROM patients "
            f"WHERE patient_id IN ({id_list})"
        ).fetchall()
    }
    for pid, dmd, name, d, dose in con.execute(
        f"SELECT patient_id, dmd_code, name, issue_date, dose_text FROM issues JOIN products "
        f"USING (product_id) WHERE patient_id IN ({id_list})"
    ).fetchall():
        out[pid].issues.append(Issue(dmd, name, d, dose_text=dose))
    for pid, code, onset, resolved in con.execute(
        f"SELECT * FROM events WHERE patient_id IN ({id_list})"
    ).fetchall():
        out[pid].events.append(Event(code, "", onset, resolved))
    for pid, code, kind, value, comp, d in con.execute(
        f"SELECT * FROM observations WHERE patient_id IN ({id_list})"
    ).fetchall():
        out[pid].observations.append(Obs(code, kind, d, value, None, comp))
    for pid, d, fall in con.execute(
        f"SELECT * FROM admissions WHERE patient_id IN ({id_list})"
    ).fetchall():
        out[pid].admissions.append(Stay(d, fall))
    return list(out.values())


def _cpu() -> float:
    """CPU seconds of this process (user + system): honest when the machine is shared."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _threads(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("SELECT current_setting('threads')").fetchone()[0]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_500_000
    sample = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    con = duckdb.connect()
    con.execute("SET memory_limit = '6GB'")
    con.execute("SET enable_progress_bar = false")
    t0 = time.perf_counter()
    generate(con, n)
    t_gen = time.perf_counter() - t0
    counts = {
        t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("patients", "issues", "events", "observations", "admissions")
    }
    print(f"generated in {t_gen:.1f} s: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))

    t0, c0 = time.perf_counter(), _cpu()
    rules = evaluate_population(con, AS_OF)
    t_sql, c_sql = time.perf_counter() - t0, _cpu() - c0
    hits = sum(
        con.execute(f"SELECT count_if(n{i}) FROM review_results").fetchone()[0]
        for i in range(len(rules))
    )
    on_list = con.execute("SELECT count_if(in_cohort) FROM review_results").fetchone()[0]
    print(
        f"set-based (DuckDB): {len(rules)} rules over {n:,} patients in {t_sql:.1f} s; "
        f"(CPU {c_sql:.1f} s on {_threads(con)} threads); {hits:,} findings, "
        f"{on_list:,} on the SMR worklist"
    )

    ids = [
        r[0]
        for r in con.execute(
            f"SELECT patient_id FROM patients USING SAMPLE {sample} ROWS (reservoir, 42)"
        ).fetchall()
    ]
    pop = facts_for(con, ids)
    t0, c0 = time.perf_counter(), _cpu()
    py_hits = sum(len(fired(f, AS_OF)) for f in pop)
    t_py, c_py = time.perf_counter() - t0, _cpu() - c0
    per_patient = t_py / len(pop)
    extrapolated = per_patient * n
    print(
        f"one by one (Python): {len(pop):,} patients in {t_py:.2f} s "
        f"({per_patient * 1000:.2f} ms/patient, {py_hits:,} findings) → {extrapolated:.0f} s "
        f"extrapolated to {n:,}"
    )
    print(
        f"ratio one-by-one / set-based: {extrapolated / t_sql:.1f}x wall-clock, "
        f"{c_py / len(pop) * n / c_sql:.1f}x CPU time"
    )
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    print(f"peak resident memory: {peak_gb:.2f} GB (targets: ≤120 s, ≤8 GB)")


if __name__ == "__main__":
    main()
