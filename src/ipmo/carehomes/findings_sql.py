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


def _values(names: list[str]) -> str:
    return ", ".join("(" + "'" + n.replace("'", "''") + "')" for n in names) or "(NULL)"


def findings_query(con: duckdb.DuckDBPyConnection, inputs: Inputs, as_of: datetime) -> str:
    """The SQL computing every finding as of ``as_of`` (see the module's description).

    The medicine names are classed first (time-critical, antipsychotic) by the Python engine's
    own functions over the distinct names — a few hundred, not one test per dose."""
    names = [
        n
        for (n,) in con.execute(
            f"SELECT DISTINCT medicine_name FROM {inputs.administrations}"
        ).fetchall()
    ]
    time_critical = [n for n in names if is_time_critical(n)]
    antipsychotics = [n for n in names if is_antipsychotic(n)]
    now = _ts(as_of)
    # the relation is named in each part, never a CTE: DuckDB would materialise a CTE used
    # several times (a year's ~90 million doses in memory); each scan reads only its columns.
    adm = inputs.administrations
    missed = f"('{REFUSED}', '{OMITTED}')"
    order = 'ORDER BY "at", identifier'
    run = ", ".join(
        ["identifier"] + [f"lead(identifier, {k}) OVER w" for k in range(1, NON_ADMIN_COUNT)]
    )
    return f"""
WITH time_critical AS (SELECT * FROM (VALUES {_values(time_critical)}) t(medicine_name)),
antipsychotics AS (SELECT * FROM (VALUES {_values(antipsychotics)}) t(medicine_name)),
missed AS (
    SELECT resident, medicine_code, medicine_name, identifier, "at",
        lead("at", {NON_ADMIN_COUNT - 1}) OVER w AS last_at,
        [{run}] AS run,
        row_number() OVER w AS k
    FROM {adm} WHERE NOT prn AND outcome IN {missed} AND "at" <= {now}
    WINDOW w AS (PARTITION BY resident, medicine_code {order})
),
repeated AS (
    SELECT resident, 'repeated-refusals-or-omissions' AS rule, medicine_code,
        arg_min(medicine_name, k) AS medicine_name, {NON_ADMIN_COUNT} AS n,
        arg_min(run, k) AS evidence
    FROM missed
    WHERE last_at IS NOT NULL
        AND epoch(last_at) - epoch("at") < {_seconds(NON_ADMIN_WINDOW)}
    GROUP BY resident, medicine_code
),
prn_regular AS (
    SELECT resident, 'prn-used-regularly' AS rule, medicine_code,
        first(medicine_name {order}) AS medicine_name, count(DISTINCT CAST("at" AS DATE)) AS n,
        list(identifier {order}) AS evidence
    FROM {adm}
    WHERE prn AND outcome = '{GIVEN}'
        AND "at" > {now} - INTERVAL {PRN_REGULAR_WINDOW_DAYS} DAY AND "at" <= {now}
    GROUP BY resident, medicine_code
    HAVING count(DISTINCT CAST("at" AS DATE)) >= {PRN_REGULAR_DAYS}
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
    SELECT a.resident, 'covert-without-best-interests' AS rule, a.medicine_code,
        first(a.medicine_name ORDER BY a."at", a.identifier) AS medicine_name, count(*) AS n,
        list(a.identifier ORDER BY a."at", a.identifier) AS evidence
    FROM {adm} a
    WHERE a.covert AND a.outcome = '{GIVEN}'
        AND NOT EXISTS (SELECT 1 FROM {inputs.best_interests} b
            WHERE b.resident = a.resident AND b.medicine_code = a.medicine_code)
    GROUP BY a.resident, a.medicine_code
),
late AS (
    SELECT resident, 'time-critical-late' AS rule, medicine_code,
        first(medicine_name {order}) AS medicine_name, count(*) AS n,
        list(identifier {order}) AS evidence
    FROM {adm}
    WHERE outcome = '{GIVEN}' AND scheduled_at IS NOT NULL
        AND epoch("at") - epoch(scheduled_at) > {_seconds(TIME_CRITICAL_LATE)}
        AND medicine_name IN (SELECT medicine_name FROM time_critical)
    GROUP BY resident, medicine_code
),
antipsychotic AS (
    SELECT a.resident, 'antipsychotic-in-dementia' AS rule, a.medicine_code,
        first(a.medicine_name ORDER BY a."at", a.identifier) AS medicine_name, count(*) AS n,
        list(a.identifier ORDER BY a."at", a.identifier) AS evidence
    FROM {adm} a SEMI JOIN {inputs.dementia} d ON d.resident = a.resident
    WHERE a.outcome = '{GIVEN}' AND a."at" <= {now}
        AND epoch({now}) - epoch(a."at") < {_seconds(ANTIPSYCHOTIC_REVIEW)}
        AND a.medicine_name IN (SELECT medicine_name FROM antipsychotics)
    GROUP BY a.resident, a.medicine_code
)
SELECT * FROM repeated UNION ALL SELECT * FROM prn_regular UNION ALL SELECT * FROM prn_unused
UNION ALL SELECT * FROM covert UNION ALL SELECT * FROM late UNION ALL SELECT * FROM antipsychotic
"""


def findings_duckdb(
    con: duckdb.DuckDBPyConnection, inputs: Inputs, as_of: datetime
) -> list[tuple[object, Finding]]:
    """Every finding as (resident, :class:`Finding`), computed by DuckDB."""
    rows = con.execute(findings_query(con, inputs, as_of)).fetchall()
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
