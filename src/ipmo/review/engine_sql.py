"""Evaluate every rule for a whole population at once, in DuckDB.

Input tables (any DuckDB relation with these columns — an extract of the store, Parquet files or
generated data):

- ``patients(patient_id, birth_date, sex, care_home, weight_kg, practice_code)``
- ``issues(patient_id, product_id, issue_date, dose_text)``
- ``products(product_id, dmd_code, name, bnf_code, vmp_code, vtm_code)``
- ``events(patient_id, code, onset_date, resolved_date)``
- ``observations(patient_id, code, kind, value, comparator, effective_date)``
- ``admissions(patient_id, admitted_on, is_fall)``

Each distinct primitive of every rule becomes one set-based query (the patients for whom it holds);
rules become boolean expressions over those sets. Products are classified once in Python with the
same ``product_info`` the per-patient engine uses (a few thousand rows), so only the rule logic is
implemented twice — and a property test checks the two implementations agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pyarrow as pa

from ipmo.review import expr as E
from ipmo.review.codelists import codes, kinds
from ipmo.review.facts import UNDATED
from ipmo.review.params import DEFAULT, Params
from ipmo.review.products import product_info
from ipmo.review.rules import Rule, all_rules
from ipmo.review.worklist import sql_in_cohort, sql_score

#: primitives per INSERT: fewer statements, but plans stay small
BATCH = 12
PRN_REGEX = r"\b(prn|as required|when required|as needed|if required)\b"


def _d(x: date) -> str:
    return f"DATE '{x.isoformat()}'"


def _q(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


@dataclass
class Compiler:
    t: date
    sets: set[str]

    def window(self, col: str, w: E.Window) -> str:
        lo, hi = w.bounds(self.t)
        return f"{col} <= {_d(hi)}" if lo is None else f"{col} BETWEEN {_d(lo)} AND {_d(hi)}"

    def cls_issues(self, cls: str, w: E.Window, regular: bool = False) -> str:
        prn = (
            f" AND NOT coalesce(regexp_matches(lower(i.dose_text), {_q(PRN_REGEX)}), FALSE)"
            if regular
            else ""
        )
        return (
            f"SELECT i.patient_id, i.issue_date, i.product_id FROM issues i "
            f"JOIN product_class c ON c.product_id = i.product_id AND c.cls = {_q(cls)} "
            f"WHERE {self.window('i.issue_date', w)}{prn}"
        )

    def events(self, codeset: str, w: E.Window, unresolved: bool = False) -> str:
        """(patient_id, d) of events in the set: conditions and observations."""
        self.sets.add(codeset)
        unres = (
            f" AND (e.resolved_date IS NULL OR e.resolved_date > {_d(self.t)})"
            if unresolved
            else ""
        )
        when = f"coalesce(e.onset_date, {_d(UNDATED)})"
        return (
            f"SELECT e.patient_id, {when} AS d FROM events e JOIN code_set s "
            f"ON s.code = e.code AND s.name = {_q(codeset)} WHERE {self.window(when, w)}{unres} "
            f"UNION ALL {self.obs(codeset, w, 'o.patient_id, o.effective_date AS d')}"
        )

    def obs(self, testset: str, w: E.Window, cols: str = "o.*") -> str:
        self.sets.add(testset)
        return (
            f"SELECT {cols} FROM observations o WHERE {self.window('o.effective_date', w)} AND "
            f"(o.code IN (SELECT code FROM code_set WHERE name = {_q(testset)}) OR "
            f"o.kind IN (SELECT kind FROM kind_set WHERE name = {_q(testset)}))"
        )

    def compile(self, e: E.Expr) -> str:  # noqa: C901 - one case per primitive
        """SQL selecting the patient_ids for which primitive ``e`` holds."""
        match e:
            case E.Issued(cls, w, n, regular):
                return _at_least(n, f"({self.cls_issues(cls, w, regular)})")
            case E.IssueSpan(cls, w, days):
                span = "date_diff('day', min(issue_date), max(issue_date))"
                return _at_least(days, f"({self.cls_issues(cls, w)})", span)
            case E.DistinctSubstances(cls, w, n, regular):
                issued = self.cls_issues(cls, w, regular)
                rows = f"({issued}) x JOIN product_attr a USING (product_id)"
                return _at_least(n, rows, SUBSTANCES)
            case E.CoIssued(a, b, w, gap):
                return (
                    f"SELECT DISTINCT x.patient_id FROM "
                    f"(SELECT DISTINCT patient_id, issue_date FROM ({self.cls_issues(a, w)})) x "
                    f"JOIN (SELECT DISTINCT patient_id, issue_date FROM "
                    f"({self.cls_issues(b, w)})) y ON x.patient_id = y.patient_id "
                    f"AND abs(date_diff('day', x.issue_date, y.issue_date)) < {gap}"
                )
            case E.MedicineCount(w, n):
                rows = (
                    f"issues i JOIN product_attr a USING (product_id) "
                    f"WHERE a.counts_poly AND {self.window('i.issue_date', w)}"
                )
                return _at_least(n, rows, SUBSTANCES)
            case E.AcbTotal(w, threshold):
                rows = (
                    f"(SELECT DISTINCT i.patient_id, b.ingredient, b.score FROM issues i "
                    f"JOIN product_acb b USING (product_id) WHERE {self.window('i.issue_date', w)})"
                )
                return _at_least(threshold, rows, "sum(score)")
            case E.AcbCount(w, min_score, n):
                rows = (
                    f"issues i JOIN product_acb b USING (product_id) "
                    f"WHERE b.score >= {min_score} AND {self.window('i.issue_date', w)}"
                )
                return _at_least(n, rows, "count(DISTINCT b.ingredient)")
            case E.HasEvent(codeset, w, unresolved, n):
                return _at_least(n, f"({self.events(codeset, w, unresolved)})")
            case E.LatestNotResolved(present, resolved, present_end):
                p = self.events(present, E.Window(None, present_end))
                r = self.events(resolved, E.EVER)
                return (
                    f"SELECT p.patient_id FROM (SELECT patient_id, max(d) AS d FROM ({p}) "
                    f"GROUP BY 1) p LEFT JOIN (SELECT patient_id, max(d) AS d FROM ({r}) "
                    f"GROUP BY 1) r USING (patient_id) WHERE r.d IS NULL OR r.d < p.d"
                )
            case E.TestDone(testset, w):
                return f"SELECT DISTINCT patient_id FROM ({self.obs(testset, w)})"
            case E.LabLatest(testset, w, op, thr, min_valid):
                found = f"SELECT * FROM ({self.obs(testset, w)}) WHERE value IS NOT NULL"
                return (
                    f"WITH f AS ({found}), l AS (SELECT patient_id, max(effective_date) AS d "
                    f"FROM f GROUP BY 1) SELECT DISTINCT f.patient_id FROM f JOIN l ON "
                    f"f.patient_id = l.patient_id AND f.effective_date = l.d "
                    f"WHERE {lab_predicate(op, thr, min_valid)}"
                )
            case E.AgeBetween(lo, hi):
                return (
                    f"SELECT patient_id FROM patients WHERE {age_sql(self.t)} BETWEEN {lo} AND {hi}"
                )
            case E.SexIs(sex):
                return f"SELECT patient_id FROM patients WHERE sex = {_q(sex)}"
            case E.CareHome():
                return (
                    f"SELECT patient_id FROM patients WHERE care_home UNION "
                    f"SELECT patient_id FROM ({self.events('carehome', E.EVER)})"
                )
            case E.Admitted(w, falls_only):
                fall = " AND is_fall" if falls_only else ""
                return (
                    f"SELECT DISTINCT patient_id FROM admissions WHERE "
                    f"{self.window('admitted_on', w)}{fall}"
                )
            case E.DoacDoseMismatch(w, lab_w):
                return self.doac(w, lab_w)
        raise TypeError(f"cannot compile {e!r}")

    def doac(self, w: E.Window, lab_w: E.Window) -> str:
        """Same logic as ``engine_python._doac`` and ``doac.allowed_strengths``."""

        def latest(testset: str, agg: str) -> str:
            f = (
                f"SELECT * FROM ({self.obs(testset, lab_w)}) WHERE value IS NOT NULL AND "
                f"(comparator IS NULL OR comparator = '')"
            )
            return (
                f"SELECT f.patient_id, {agg}(f.value) AS v FROM ({f}) f JOIN (SELECT "
                f"patient_id, max(effective_date) AS d FROM ({f}) GROUP BY 1) l ON "
                f"f.patient_id = l.patient_id AND f.effective_date = l.d GROUP BY 1"
            )

        d = (
            f"SELECT i.patient_id, i.issue_date, a.doac, a.strength_mg FROM issues i "
            f"JOIN product_attr a USING (product_id) WHERE a.doac IS NOT NULL AND "
            f"a.strength_mg IS NOT NULL AND {self.window('i.issue_date', w)}"
        )
        pgp = self.cls_issues("edoxaban_pgp_inhibitor", w)
        ver = self.cls_issues("verapamil", w)
        return f"""
        WITH d AS ({d}),
        dl AS (SELECT d.* FROM d JOIN (SELECT patient_id, max(issue_date) AS m FROM d GROUP BY 1)
               m ON d.patient_id = m.patient_id AND d.issue_date = m.m),
        c AS ({latest("creatinine", "max")}),
        wt AS ({latest("weight", "min")}),
        x AS (SELECT dl.patient_id, dl.doac, dl.strength_mg AS s, {age_sql(self.t)} AS age,
                     coalesce(wt.v, p.weight_kg) AS kg, c.v AS cr,
                     CASE WHEN p.sex = 'male' THEN 1.23 ELSE 1.04 END AS k,
                     dl.patient_id IN (SELECT patient_id FROM ({pgp})) AS pgp,
                     dl.patient_id IN (SELECT patient_id FROM ({ver})) AS ver
              FROM dl JOIN patients p USING (patient_id) LEFT JOIN c USING (patient_id)
              LEFT JOIN wt USING (patient_id)),
        y AS (SELECT *, CASE WHEN kg IS NOT NULL AND cr > 0 THEN (140 - age) * kg * k / cr END
              AS crcl FROM x)
        SELECT DISTINCT patient_id FROM y WHERE coalesce(CASE
          WHEN crcl IS NULL THEN CASE doac
            WHEN 'edoxaban' THEN pgp AND s <> 30.0
            WHEN 'dabigatran' THEN ver AND s <> 110.0 END
          ELSE NOT coalesce(CASE doac
          WHEN 'apixaban' THEN crcl >= 15 AND s = CASE WHEN
              (age >= 80)::INT + (kg <= 60)::INT + (cr >= 133)::INT >= 2 OR crcl < 30
              THEN 2.5 ELSE 5.0 END
          WHEN 'rivaroxaban' THEN crcl >= 15 AND s = CASE WHEN crcl < 50 THEN 15.0 ELSE 20.0 END
          WHEN 'edoxaban' THEN crcl >= 15 AND s = CASE WHEN crcl <= 50 OR kg <= 60 OR pgp
              THEN 30.0 ELSE 60.0 END
          WHEN 'dabigatran' THEN crcl >= 30 AND CASE WHEN age >= 80 OR ver THEN s = 110.0
              WHEN age >= 75 OR crcl <= 50 THEN s IN (110.0, 150.0) ELSE s = 150.0 END
          END, FALSE) END, FALSE)"""


#: how many distinct substances (``product_attr`` joined as ``a``)
SUBSTANCES = "count(DISTINCT a.substance_key)"


def _at_least(n: int, rows: str, measure: str = "count(*)") -> str:
    """SQL selecting the patient_ids whose ``rows`` (a FROM clause with one ``patient_id``
    column, and WHERE) reach ``n`` of ``measure``, an aggregate over a patient's rows."""
    return f"SELECT patient_id FROM {rows} GROUP BY 1 HAVING {measure} >= {n}"


def age_sql(t: date) -> str:
    return (
        f"({t.year} - year(birth_date) - CASE WHEN month(birth_date) * 100 + day(birth_date)"
        f" > {t.month * 100 + t.day} THEN 1 ELSE 0 END)"
    )


def lab_predicate(op: str, thr: float, min_valid: float | None) -> str:
    """SQL twin of ``engine_python.lab_satisfies``."""
    c = "coalesce(comparator, '')"
    parts = [f"{c} <> '~'", f"value {op} {thr!r}"]
    if op in ("<", "<="):
        parts.append(f"{c} NOT IN ('>', '>=')")
    else:
        parts.append(f"{c} NOT IN ('<', '<=')")
    if min_valid is not None:
        parts.append(
            f"value >= {min_valid!r} AND NOT ({c} IN ('<', '<=') AND value <= {min_valid!r})"
        )
    return " AND ".join(parts)


def _bool(e: E.Expr, names: dict[E.Expr, str]) -> str:
    match e:
        case E.All(parts):
            return "(" + " AND ".join(_bool(p, names) for p in parts) + ")"
        case E.Any(parts):
            return "(" + " OR ".join(_bool(p, names) for p in parts) + ")"
        case E.Not(part):
            return f"(NOT {_bool(part, names)})"
        case E.Const(value):
            return "TRUE" if value else "FALSE"
    return names[e]


def prepare_products(con: duckdb.DuckDBPyConnection) -> None:
    """Classify each distinct product once (Python) into product_class/attr/acb tables."""
    rows = con.execute(
        "SELECT product_id, dmd_code, name, bnf_code, vmp_code, vtm_code FROM products"
    ).fetchall()
    cls_rows, attr_rows, acb_rows = [], [], []
    for pid, dmd, name, bnf, vmp, vtm in rows:
        info = product_info(dmd or "", name or "", bnf, vmp, vtm)
        cls_rows += [(pid, c) for c in info.classes]
        attr_rows.append(
            (pid, info.substance_key, info.counts_for_polypharmacy, info.doac, info.strength_mg)
        )
        acb_rows += [(pid, ing, s) for ing, s in info.acb]
    con.execute("CREATE OR REPLACE TEMP TABLE product_class (product_id BIGINT, cls VARCHAR)")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE product_attr (product_id BIGINT, substance_key "
        "VARCHAR, counts_poly BOOLEAN, doac VARCHAR, strength_mg DOUBLE)"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE product_acb (product_id BIGINT, ingredient "
        "VARCHAR, score INTEGER)"
    )
    for table, data in (
        ("product_class", cls_rows),
        ("product_attr", attr_rows),
        ("product_acb", acb_rows),
    ):
        _append(con, table, data)


def _load_sets(con: duckdb.DuckDBPyConnection, names: set[str]) -> None:
    con.execute("CREATE OR REPLACE TEMP TABLE code_set (name VARCHAR, code VARCHAR)")
    con.execute("CREATE OR REPLACE TEMP TABLE kind_set (name VARCHAR, kind VARCHAR)")
    _append(con, "code_set", [(n, c) for n in sorted(names) for c in codes(n)])
    _append(con, "kind_set", [(n, k) for n in sorted(names) for k in kinds(n)])


def _append(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple]) -> None:
    """Bulk insert through Arrow (executemany is row-at-a-time and slow)."""
    if not rows:
        return
    cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
    con.register("_review_rows", pa.table({c: [r[i] for r in rows] for i, c in enumerate(cols)}))
    con.execute(f"INSERT INTO {table} SELECT * FROM _review_rows")
    con.unregister("_review_rows")


#: primitives evaluated together in one pass per kind (a join with a small table of their
#: parameters) instead of one query each: the population is scanned once, not 80 times.
BATCHED = (
    E.Issued,
    E.DistinctSubstances,
    E.MedicineCount,
    E.HasEvent,
    E.TestDone,
)
_EPOCH = date(1, 1, 1)


def _specs(con: duckdb.DuckDBPyConnection, name: str, cols: str, rows: list[tuple]) -> None:
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} ({cols})")
    _append(con, name, rows)


def _batched_issues(
    con: duckdb.DuckDBPyConnection,
    comp: Compiler,
    prims: list[tuple[int, E.Issued | E.DistinctSubstances]],
) -> None:
    """Issued and DistinctSubstances in one aggregation over issues × classes: one count per
    distinct (window, regular-only) pair and one distinct-substance count per DistinctSubstances
    window, then each primitive is a threshold on its column."""
    if not prims:
        return
    t = comp.t
    cols: dict[tuple[str, E.Window, bool], str] = {}
    exprs = []
    for _, p in prims:
        kind = "n" if isinstance(p, E.Issued) else "s"
        key = (kind, p.window, p.regular_only)
        if key in cols:
            continue
        cols[key] = f"c{len(cols)}"
        cond = comp.window("i.issue_date", p.window) + (" AND NOT i.prn" if p.regular_only else "")
        exprs.append(
            f"count(*) FILTER (WHERE {cond}) AS {cols[key]}"
            if kind == "n"
            else f"count(DISTINCT a.substance_key) FILTER (WHERE {cond}) AS {cols[key]}"
        )
    classes = ", ".join(_q(c) for c in sorted({p.cls for _, p in prims}))
    # PRN is decided once per distinct dose text, not once per issue
    con.execute(f"""CREATE OR REPLACE TEMP TABLE prn_texts AS SELECT dose_text FROM
        (SELECT DISTINCT dose_text FROM issues WHERE dose_text IS NOT NULL)
        WHERE regexp_matches(lower(dose_text), {_q(PRN_REGEX)})""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE class_counts AS SELECT i.patient_id, c.cls,
        {", ".join(exprs)} FROM (SELECT *, coalesce(dose_text IN (SELECT dose_text FROM
        prn_texts), FALSE) AS prn FROM issues WHERE issue_date <= {_d(t)}) i
        JOIN product_class c USING (product_id) JOIN product_attr a USING (product_id)
        WHERE c.cls IN ({classes}) GROUP BY 1, 2""")
    selects = []
    for k, p in prims:
        kind = "n" if isinstance(p, E.Issued) else "s"
        threshold = p.min_count if isinstance(p, E.Issued) else p.n
        col = cols[(kind, p.window, p.regular_only)]
        selects.append(
            f"SELECT patient_id, {k} FROM class_counts WHERE cls = {_q(p.cls)} AND "
            f"{col} >= {threshold}"
        )
    for start in range(0, len(selects), 40):
        con.execute("INSERT INTO review_hits " + " UNION ALL ".join(selects[start : start + 40]))


def _batched_hits(
    con: duckdb.DuckDBPyConnection, comp: Compiler, prims: list[tuple[int, E.Expr]]
) -> None:
    """Same semantics as ``Compiler.compile`` for Issued, HasEvent and TestDone."""
    t = comp.t

    def lohi(w: E.Window) -> tuple[date, date]:
        lo, hi = w.bounds(t)
        return lo or _EPOCH, hi

    _batched_issues(
        con, comp, [(k, p) for k, p in prims if isinstance(p, E.Issued | E.DistinctSubstances)]
    )
    counts = [(k, p) for k, p in prims if isinstance(p, E.MedicineCount)]
    for w in {p.window for _, p in counts}:
        lo, hi = lohi(w)
        ks = [(k, p.n) for k, p in counts if p.window == w]
        con.execute(f"""CREATE OR REPLACE TEMP TABLE med_counts AS SELECT i.patient_id,
            count(DISTINCT a.substance_key) AS n FROM issues i JOIN product_attr a
            USING (product_id) WHERE a.counts_poly AND i.issue_date BETWEEN {_d(lo)} AND
            {_d(hi)} GROUP BY 1""")
        con.execute(
            "INSERT INTO review_hits "
            + " UNION ALL ".join(
                f"SELECT patient_id, {k} FROM med_counts WHERE n >= {n}" for k, n in ks
            )
        )
    # observations carry no id: number them so one matched by both code and kind counts once
    con.execute(
        "CREATE OR REPLACE TEMP TABLE obs_numbered AS SELECT row_number() OVER () AS oid,"
        " patient_id, code, kind, effective_date FROM observations"
    )
    con.execute("""CREATE OR REPLACE TEMP TABLE obs_sets AS SELECT DISTINCT * FROM (
        SELECT o.oid, o.patient_id, o.effective_date, s.name FROM obs_numbered o
          JOIN code_set s ON s.code = o.code
        UNION ALL SELECT o.oid, o.patient_id, o.effective_date, s.name FROM obs_numbered o
          JOIN kind_set s ON s.kind = o.kind)""")
    events = [
        (k, p.codeset, *lohi(p.window), p.unresolved, p.min_count)
        for k, p in prims
        if isinstance(p, E.HasEvent)
    ]
    _specs(
        con,
        "spec_event",
        "k INTEGER, name VARCHAR, lo DATE, hi DATE, unresolved BOOLEAN, min_count INTEGER",
        events,
    )
    con.execute(f"""INSERT INTO review_hits SELECT ev.patient_id, s.k FROM (
          SELECT e.patient_id, cs.name, coalesce(e.onset_date, {_d(UNDATED)}) AS d,
                 e.resolved_date FROM events e JOIN code_set cs ON cs.code = e.code
          UNION ALL SELECT patient_id, name, effective_date, NULL FROM obs_sets) ev
        JOIN spec_event s ON s.name = ev.name
        WHERE ev.d BETWEEN s.lo AND s.hi
          AND (NOT s.unresolved OR ev.resolved_date IS NULL OR ev.resolved_date > {_d(t)})
        GROUP BY ev.patient_id, s.k, s.min_count HAVING count(*) >= s.min_count""")
    tests = [(k, p.testset, *lohi(p.window)) for k, p in prims if isinstance(p, E.TestDone)]
    _specs(con, "spec_test", "k INTEGER, name VARCHAR, lo DATE, hi DATE", tests)
    con.execute("""INSERT INTO review_hits SELECT DISTINCT o.patient_id, s.k FROM obs_sets o
        JOIN spec_test s ON s.name = o.name WHERE o.effective_date BETWEEN s.lo AND s.hi""")


def evaluate_population(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    params: Params = DEFAULT,
    rules: tuple[Rule, ...] | None = None,
) -> list[Rule]:
    """Create ``review_results``: one row per patient with ``d{i}``/``n{i}`` booleans per rule
    (denominator; denominator AND criteria), plus ``score`` and ``in_cohort``. Returns the rules
    in column order."""
    rules = rules or all_rules(params)
    con.execute("SET enable_progress_bar = false")
    prepare_products(con)
    comp = Compiler(as_of, set())
    names: dict[E.Expr, str] = {}
    for r in rules:
        for prim in E.primitives(r.denominator) + E.primitives(r.criteria):
            if not isinstance(prim, E.Const) and prim not in names:
                names[prim] = f"f{len(names)}"
    keyed = {prim: k for k, prim in enumerate(names)}
    batched = [p for p in names if isinstance(p, BATCHED)]
    for p in batched:
        comp.sets.add(getattr(p, "codeset", None) or getattr(p, "testset", None) or "")
    queries = [(keyed[p], comp.compile(p)) for p in names if not isinstance(p, BATCHED)]
    comp.sets.discard("")
    _load_sets(con, comp.sets)
    con.execute("CREATE OR REPLACE TEMP TABLE review_hits (patient_id BIGINT, k INTEGER)")
    _batched_hits(con, comp, [(keyed[p], p) for p in batched])
    selects = [f"SELECT DISTINCT patient_id, {k} FROM ({q})" for k, q in queries]
    for start in range(0, len(selects), BATCH):
        con.execute("INSERT INTO review_hits " + " UNION ALL ".join(selects[start : start + BATCH]))
    # pivot hits to one boolean column per primitive through 62-bit masks: a few bit_or
    # aggregates instead of one aggregate per primitive over every hit
    words = range((len(names) + 61) // 62)
    masks = ", ".join(
        f"bit_or(CASE WHEN k // 62 = {w} THEN (1::BIGINT << (k % 62)) ELSE 0::BIGINT END) AS m{w}"
        for w in words
    )
    flags = ", ".join(
        f"coalesce((h.m{k // 62} >> {k % 62}) & 1 = 1, FALSE) AS {n}"
        for k, n in enumerate(names.values())
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE review_flags AS SELECT p.patient_id, {flags} "
        f"FROM patients p LEFT JOIN (SELECT patient_id, {masks} FROM review_hits GROUP BY 1)"
        f" h USING (patient_id)"
    )
    cols = []
    index = {r.id: i for i, r in enumerate(rules)}
    for i, r in enumerate(rules):
        d = _bool(r.denominator, names)
        cols.append(f"{d} AS d{i}")
        cols.append(f"({d} AND {_bool(r.criteria, names)}) AS n{i}")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE review_rules AS SELECT patient_id, "
        f"{', '.join(cols)} FROM review_flags"
    )
    flags_only = {r.id for r in rules if r.kind == "flag"}

    def col(rid: str) -> str:
        return f"n{index[rid]}" if rid in flags_only else "FALSE"

    con.execute(
        f"CREATE OR REPLACE TEMP TABLE review_results AS SELECT *, "
        f"{sql_score(col, params)} AS score, ({sql_in_cohort(col, params)}) AS in_cohort "
        f"FROM review_rules"
    )
    return list(rules)


def hits(con: duckdb.DuckDBPyConnection, rules: list[Rule]) -> set[tuple[int, str]]:
    """(patient_id, rule_id) for every rule that fired (used by tests and the worklist)."""
    out: set[tuple[int, str]] = set()
    for i, r in enumerate(rules):
        for (pid,) in con.execute(f"SELECT patient_id FROM review_results WHERE n{i}").fetchall():
            out.add((pid, r.id))
    return out
