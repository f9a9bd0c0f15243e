"""The findings of ``findings.py`` as one DuckDB query, for an ICS's year of administrations.

Same rules, thresholds, wording and sources as the Python functions (the constants and
:data:`ipmo.carehomes.findings.TEXT` are shared; ``tests/carehomes/test_findings_sql.py`` checks
the two engines agree on the spec cases and on random data). The Python functions serve one
resident's page; this serves the whole population at once (≈ 90 million doses a year over
10,000 residents — ``bench/bench_carehomes_findings.py``).

Inputs are DuckDB relations (a table name or ``read_parquet('…')``):

* ``administrations``: resident (any type: the NHS number or a patient id), identifier,
  medicine_code, medicine_name, outcome, at, scheduled_at (TIMESTAMP, naive UTC), prn, covert;
* ``prn_on_record``: resident, medicine_code, medicine_name, started (DATE);
* ``best_interests``: resident, medicine_code (a recorded best-interests decision covers it);
* ``dementia``: resident (a dementia diagnosis on the GP record).

(``at`` is a DuckDB keyword: the query quotes it.) The result has one row per finding:
resident, rule, medicine_code, medicine_name, n (the count its summary states) and evidence
(administration identifiers, in time order).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb

from ipmo.carehomes.administrations import GIVEN, OMITTED, REFUSED
from ipmo.carehomes.findings import (
    ANTIPSYCHOTIC_REVIEW,
    NON_ADMIN_COUNT,
    NON_ADMIN_WINDOW,
    PRN_REGULAR_DAYS,
    PRN_REGULAR_WINDOW_DAYS,
    PRN_UNUSED_DAYS,
    TIME_CRITICAL_LATE,
    Finding,
    finding,
    is_antipsychotic,
    is_time_critical,
)

EMPTY_PRN = "(SELECT NULL AS resident, '' AS medicine_code, '' AS medicine_name, NULL::DATE AS started WHERE false)"  # noqa: E501
EMPTY_KEYS = "(SELECT NULL AS resident, '' AS medicine_code WHERE false)"
EMPTY_RESIDENTS = "(SELECT NULL AS resident WHERE false)"


@dataclass(frozen=True)
class Inputs:
    administrations: str
    prn_on_record: str = EMPTY_PRN
    best_interests: str = EMPTY_KEYS
    dementia: str = EMPTY_RESIDENTS


def _ts(value: datetime) -> str:
    return f"TIMESTAMP '{value.astimezone(UTC).replace(tzinfo=None).isoformat(' ')}'"


def _seconds(delta: timedelta) -> int:
    return int(delta.total_seconds())


def _in(names: list[str]) -> str:
    """``IN (…)`` over a literal list (DuckDB compares each dose with a constant list rather
    than probing a join); ``IN (NULL)`` — never true — when the list is empty."""
    return "IN (" + (", ".join("'" + n.replace("'", "''") + "'" for n in names) or "NULL") + ")"


# A resident's doses of one medicine as one list sorted in time order (ties by identifier, as
# the Python engine orders them): an aggregate without ORDER BY and one sort per list, where an
# ordered aggregate (``list(… ORDER BY …)``) buffers and sorts every group's rows apart.
_DOSES = "list_sort(list({'t': \"at\", 'identifier': identifier, 'name': medicine_name}))"
_IDS = "list_transform(doses, d -> d.identifier)"


def findings_query(con: duckdb.DuckDBPyConnection, inputs: Inputs, as_of: datetime) -> str:
    """The SQL computing every finding as of ``as_of`` (see the module's description).

    The medicine names are classed first (time-critical, antipsychotic) by the Python engine's
    own functions over the distinct names — a few hundred, not one test per dose.

    One pass over the administrations keeps the doses the three rules over the whole history
    can use (refused or omitted regular doses, covert doses, late time-critical doses: a few
    per cent of a year) with a flag per rule; each rule then works on that subset (the old
    query read the year once per rule). The rules over recent weeks (PRN use, antipsychotics)
    read only the recent doses: their time bound is pushed into the Parquet scan, which skips
    older row groups by their statistics. Lists of evidence are sorted once per list
    (``_DOSES``) rather than by an ordered aggregate. On a year of 87.6 million doses
    (bench_carehomes_findings, 2 threads) this takes about a quarter less CPU than one read per
    rule did (19–23 s → 15–16 s) for the same findings; the subset it keeps raises the peak
    memory from 0.75 to 1.6 GB. Wall time follows the machine's load (8–17 s measured)."""
    names = [
        n
        for (n,) in con.execute(
            f"SELECT DISTINCT medicine_name FROM {inputs.administrations}"
        ).fetchall()
    ]
    time_critical = _in([n for n in names if is_time_critical(n)])
    antipsychotics = _in([n for n in names if is_antipsychotic(n)])
    now = _ts(as_of)
    adm = inputs.administrations
    missed = f"('{REFUSED}', '{OMITTED}')"
    late = _seconds(TIME_CRITICAL_LATE)
    window = _seconds(NON_ADMIN_WINDOW)
    review = _seconds(ANTIPSYCHOTIC_REVIEW)
    order = 'ORDER BY "at", identifier'
    run = ", ".join(
        ["identifier"] + [f"lead(identifier, {k}) OVER w" for k in range(1, NON_ADMIN_COUNT)]
    )
    return f"""
WITH history AS MATERIALIZED (
    SELECT * FROM (
        SELECT resident, medicine_code, medicine_name, identifier, "at",
            NOT prn AND outcome IN {missed} AND "at" <= {now} AS is_missed,
            covert AND outcome = '{GIVEN}' AS is_covert,
            outcome = '{GIVEN}' AND scheduled_at IS NOT NULL
                AND epoch("at") - epoch(scheduled_at) > {late}
                AND medicine_name {time_critical} AS is_late
        FROM {adm}
    ) WHERE is_missed OR is_covert OR is_late
),
missed AS (
    SELECT resident, medicine_code, medicine_name, identifier, "at",
        lead("at", {NON_ADMIN_COUNT - 1}) OVER w AS last_at,
        [{run}] AS run,
        row_number() OVER w AS k
    FROM history WHERE is_missed
    WINDOW w AS (PARTITION BY resident, medicine_code {order})
),
repeated AS (
    SELECT resident, 'repeated-refusals-or-omissions' AS rule, medicine_code,
        arg_min(medicine_name, k) AS medicine_name, {NON_ADMIN_COUNT} AS n,
        arg_min(run, k) AS evidence
    FROM missed
    WHERE last_at IS NOT NULL AND epoch(last_at) - epoch("at") < {window}
    GROUP BY resident, medicine_code
),
prn_regular AS (
    SELECT resident, 'prn-used-regularly' AS rule, medicine_code,
        doses[1].name AS medicine_name, n, {_IDS} AS evidence
    FROM (
        SELECT resident, medicine_code, count(DISTINCT CAST("at" AS DATE)) AS n,
            {_DOSES} AS doses
        FROM {adm}
        WHERE prn AND outcome = '{GIVEN}'
            AND "at" > {now} - INTERVAL {PRN_REGULAR_WINDOW_DAYS} DAY AND "at" <= {now}
        GROUP BY resident, medicine_code
    ) WHERE n >= {PRN_REGULAR_DAYS}
),
given_lately AS (
    SELECT DISTINCT resident, medicine_code FROM {adm}
    WHERE outcome = '{GIVEN}' AND "at" > {now} - INTERVAL {PRN_UNUSED_DAYS} DAY AND "at" <= {now}
),
prn_unused AS (
    SELECT p.resident, 'prn-never-used' AS rule, p.medicine_code, p.medicine_name, 0 AS n,
        []::VARCHAR[] AS evidence
    FROM {inputs.prn_on_record} p
    WHERE p.started <= CAST({now} - INTERVAL {PRN_UNUSED_DAYS} DAY AS DATE)
        AND NOT EXISTS (SELECT 1 FROM given_lately g
            WHERE g.resident = p.resident AND g.medicine_code = p.medicine_code)
),
covert AS (
    SELECT resident, 'covert-without-best-interests' AS rule, medicine_code,
        doses[1].name AS medicine_name, len(doses) AS n, {_IDS} AS evidence
    FROM (
        SELECT a.resident, a.medicine_code, {_DOSES} AS doses
        FROM history a
        WHERE a.is_covert AND NOT EXISTS (SELECT 1 FROM {inputs.best_interests} b
            WHERE b.resident = a.resident AND b.medicine_code = a.medicine_code)
        GROUP BY a.resident, a.medicine_code
    )
),
late AS (
    SELECT resident, 'time-critical-late' AS rule, medicine_code,
        doses[1].name AS medicine_name, len(doses) AS n, {_IDS} AS evidence
    FROM (
        SELECT resident, medicine_code, {_DOSES} AS doses
        FROM history WHERE is_late GROUP BY resident, medicine_code
    )
),
antipsychotic AS (
    SELECT resident, 'antipsychotic-in-dementia' AS rule, medicine_code,
        doses[1].name AS medicine_name, len(doses) AS n, {_IDS} AS evidence
    FROM (
        SELECT a.resident, a.medicine_code, {_DOSES} AS doses
        FROM {adm} a SEMI JOIN {inputs.dementia} d ON d.resident = a.resident
        WHERE a.outcome = '{GIVEN}' AND a."at" <= {now}
            -- the bound the scan can push down (a second wider than the exact test below)
            AND a."at" > {now} - INTERVAL {review + 1} SECOND
            AND epoch({now}) - epoch(a."at") < {review}
            AND a.medicine_name {antipsychotics}
        GROUP BY a.resident, a.medicine_code
    )
)
SELECT * FROM repeated UNION ALL SELECT * FROM prn_regular UNION ALL SELECT * FROM prn_unused
UNION ALL SELECT * FROM covert UNION ALL SELECT * FROM late UNION ALL SELECT * FROM antipsychotic
"""


def findings_duckdb(
    con: duckdb.DuckDBPyConnection, inputs: Inputs, as_of: datetime
) -> list[tuple[object, Finding]]:
    """Every finding as (resident, :class:`Finding`), computed by DuckDB."""
    # con.sql, not con.execute: DuckDB 1.5.6's execute() of this query over a year of Parquet
    # stalled (every thread waiting, no CPU) where sql() of the same text returns in seconds
    rows = con.sql(findings_query(con, inputs, as_of)).fetchall()
    return [
        (resident, finding(rule, code, name, n, evidence))
        for resident, rule, code, name, n, evidence in rows
    ]


def prn_on_record_from(administrations: str) -> str:
    """PRN medicines "on record" as the store-backed findings read them: the eMAR has marked a
    dose of it PRN; started on the day of the first such dose (named as that dose)."""
    return f"""(SELECT resident, medicine_code,
        arg_min(medicine_name, "at") AS medicine_name, CAST(min("at") AS DATE) AS started
    FROM {administrations} WHERE prn GROUP BY resident, medicine_code)"""
