"""The DuckDB findings agree with the Python ones: on every spec case and on random data."""

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from tests.carehomes.test_findings import AS_OF, adm

from ipmo.carehomes.administrations import OUTCOMES, Administration
from ipmo.carehomes.findings import RULES, all_findings
from ipmo.carehomes.findings_sql import Inputs, findings_duckdb

LEVODOPA = "Co-careldopa 25mg/100mg tablets"
RISPERIDONE = "Risperidone 500microgram tablets"
LACTULOSE = {"444": ("Lactulose", date(2026, 1, 1))}
# (administrations, PRN medicines on record, best-interests decisions, dementia) per resident:
# the spec cases of test_findings.py, positive and negative
SPEC_CASES = [
    ([adm("refused", 8), adm("omitted", 10), adm("refused", 14), adm("given", 15)], {}, set(), 0),
    ([adm("refused", 1), adm("refused", 5), adm("refused", 9)], {}, set(), 0),
    ([adm("refused", 10), adm("withheld", 11), adm("omitted", 12)], {}, set(), 0),
    ([adm("refused", d, prn=True) for d in (10, 11, 12)], {}, set(), 0),
    ([adm("refused", 10), adm("refused", 11), adm("refused", 12, code="333")], {}, set(), 0),
    ([adm("given", d, code="111", prn=True) for d in (9, 10, 12, 13, 15)], {}, set(), 0),
    ([adm("given", d, code="111", prn=True) for d in (9, 10, 12, 13)], {}, set(), 0),
    ([adm("given", 13, h, code="111", prn=True) for h in (9, 18)], {}, set(), 0),
    ([adm("given", d) for d in (9, 10, 11, 12, 13, 14)], {}, set(), 0),
    ([adm("refused", d, prn=True) for d in range(9, 16)], {}, set(), 0),
    ([adm("given", 1, code="111", prn=True)], LACTULOSE, set(), 0),
    ([adm("given", 3, code="444", prn=True)], LACTULOSE, set(), 0),
    ([], {"444": ("Lactulose", date(2026, 3, 1))}, set(), 0),
    ([adm("given", 10, covert=True), adm("given", 11)], {}, set(), 0),
    ([adm("given", 10, covert=True)], {}, {"222"}, 0),
    ([adm("given", 10, code="555", name=LEVODOPA, late_min=31)], {}, set(), 0),
    ([adm("given", 10, code="555", name=LEVODOPA, late_min=30)], {}, set(), 0),
    ([adm("given", 10, late_min=90), adm("given", 10, code="555", name=LEVODOPA)], {}, set(), 0),
    ([adm("refused", 10, code="555", name=LEVODOPA, late_min=90)], {}, set(), 0),
    ([adm("given", d, code="666", name=RISPERIDONE) for d in (1, 2)], {}, set(), 1),
    ([adm("given", 1, code="666", name=RISPERIDONE)], {}, set(), 0),
    ([adm("refused", 1, code="666", name=RISPERIDONE), adm("given", 2)], {}, set(), 1),
]
MEDICINES = [
    ("222", "Sertraline 50mg tablets"),
    ("555", LEVODOPA),
    ("666", RISPERIDONE),
    ("111", "Paracetamol 500mg tablets"),
    ("444", "Lactulose oral solution"),
]


def _random_cases(n: int, seed: int) -> list:
    rng = random.Random(seed)
    cases = []
    for r in range(n):
        admins = []
        for k in range(rng.randint(0, 60)):
            code, name = rng.choice(MEDICINES)
            sched = AS_OF - timedelta(days=rng.randint(0, 50), hours=rng.choice((0, 5, 10)))
            at = sched + timedelta(minutes=rng.choice((0, 10, 30, 31, 45, 120)))
            admins.append(
                Administration(
                    f"r{r}-{k}",
                    "9000000009",
                    code,
                    name,
                    rng.choice(OUTCOMES + ("given",) * 3),
                    at,
                    sched if rng.random() < 0.8 else None,
                    prn=rng.random() < 0.3,
                    covert=rng.random() < 0.1,
                )
            )
        on_record = {"444": ("Lactulose oral solution", date(2026, 1, rng.randint(1, 28)))}
        cases.append((admins, on_record if r % 2 else {}, {"222"} if r % 3 else set(), r % 2))
    return cases


def _key(pair: tuple) -> tuple:
    return (pair[0], pair[1].rule, pair[1].medicine_code)


def _both(cases: list, as_of: datetime, parquet: Path | None = None) -> tuple[list, list]:
    """Both engines' findings; with ``parquet`` the DuckDB engine reads the administrations as
    monthly Parquet files written there (as the ICS-year analysis does)."""
    python = sorted(
        (
            (r, f)
            for r, (admins, prn, best, dementia) in enumerate(cases)
            for f in all_findings(admins, as_of, prn, best, bool(dementia))
        ),
        key=_key,
    )
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE adm (resident INT, identifier VARCHAR, medicine_code VARCHAR, "
        'medicine_name VARCHAR, outcome VARCHAR, "at" TIMESTAMP, scheduled_at TIMESTAMP, '
        "prn BOOLEAN, covert BOOLEAN)"
    )
    rows = [
        (r, *(a.row()[i] for i in (0, 2, 3, 4, 5, 6)), a.prn, a.covert)
        for r, (admins, *_rest) in enumerate(cases)
        for a in admins
    ]
    if rows:
        con.executemany("INSERT INTO adm VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.execute(
        "CREATE TABLE prn (resident INT, medicine_code VARCHAR, medicine_name VARCHAR, "
        "started DATE)"
    )
    con.execute("CREATE TABLE best (resident INT, medicine_code VARCHAR)")
    con.execute("CREATE TABLE dementia (resident INT)")
    for r, (_admins, prn, best, dementia) in enumerate(cases):
        for code, (name, started) in prn.items():
            con.execute("INSERT INTO prn VALUES (?, ?, ?, ?)", (r, code, name, started))
        for code in best:
            con.execute("INSERT INTO best VALUES (?, ?)", (r, code))
        if dementia:
            con.execute("INSERT INTO dementia VALUES (?)", (r,))
    administrations = "adm"
    if parquet is not None:
        con.execute(
            f'COPY (SELECT *, month("at") AS m FROM adm ORDER BY "at") TO \'{parquet}\' '
            "(FORMAT parquet, PARTITION_BY (m), ROW_GROUP_SIZE 2048)"
        )
        administrations = (
            f"(SELECT * EXCLUDE (m) FROM read_parquet('{parquet}/*/*.parquet', "
            "hive_partitioning = true))"
        )
    inputs = Inputs(administrations, "prn", "best", "dementia")
    sql = sorted(findings_duckdb(con, inputs, as_of), key=_key)
    return python, sql


def test_both_engines_agree_on_every_spec_case():
    python, sql = _both(SPEC_CASES, AS_OF)
    assert {f.rule for _r, f in python} == set(RULES)  # every rule's positive case fired
    assert sql == python


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_both_engines_agree_on_random_administrations(seed):
    as_of = datetime(2026, 3, 15, 20, 0, tzinfo=UTC)
    python, sql = _both(_random_cases(40, seed), as_of)
    assert len(python) > 20
    assert sql == python


def test_both_engines_agree_over_a_year_read_from_monthly_parquet(tmp_path):
    """A year of doses (many per medicine: long runs of refusals, doses near each window's edge)
    read from Parquet, whose row groups the recent-weeks rules skip by their time statistics."""
    as_of = datetime(2026, 12, 31, 23, 0, tzinfo=UTC)
    rng = random.Random(7)
    cases = []
    for r in range(12):
        admins = []
        for k in range(400):
            code, name = rng.choice(MEDICINES)
            sched = as_of - timedelta(days=rng.randint(0, 364), hours=rng.choice((0, 5, 10)))
            at = sched + timedelta(minutes=rng.choice((0, 31, 45)))
            if k % 50 == 0:  # on the 6-week, 28-day and 7-day edges
                at = as_of - rng.choice((timedelta(weeks=6), timedelta(days=28), timedelta(7)))
                at += timedelta(seconds=rng.choice((-1, 0, 1)))
            outcome = rng.choice(("given", "given", "refused", "omitted", "withheld"))
            covert = rng.random() < 0.05
            admins.append(
                Administration(f"y{r}-{k}", None, code, name, outcome, at, sched, None)
                if rng.random() < 0.9
                else Administration(f"y{r}-{k}", None, code, name, "given", at, prn=True)
            )
            if covert:
                admins[-1] = Administration(f"y{r}-{k}", None, code, name, "given", at, covert=True)
        on_record = {"444": ("Lactulose oral solution", date(2026, 1, rng.randint(1, 28)))}
        cases.append((admins, on_record, {"222"} if r % 3 else set(), r % 2))
    python, sql = _both(cases, as_of, tmp_path / "administrations")
    assert {f.rule for _r, f in python} >= set(RULES) - {"prn-never-used", "prn-used-regularly"}
    assert sql == python
