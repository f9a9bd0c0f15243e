"""Practice list sizes by age band and sex → total list size and STAR-PU denominators.

Input: NHS Digital "Patients registered at a GP practice" (quinary age bands × sex; columns
PUBLICATION, EXTRACT_DATE, ORG_TYPE, ORG_CODE, ONS_CODE, POSTCODE, SEX, AGE_GROUP_5,
NUMBER_OF_PATIENTS), as in fixtures/list_size_star_pu/. STAR-PU weights are the 2013 HSCIC
prescribing units (``data/star_pu_weights.json``, from OpenPrescribing's
``frontend/star_pu_weights.json``): ``{name: {band: [male, female]}}`` on ten-year bands, so the
quinary bands are folded (5_9 + 10_14 → 5-14 … and 75_79 … 95+ → 75+), as OpenPrescribing's list
size import does. The same ten-year bands are kept per sex as OpenPrescribing's
``practice_statistics`` columns (``male_0_4``, ``female_35_44`` … ``female_75_plus``:
``band_columns``), which some measures use as denominators (cmpaperpt, tamoxifen). ASTRO-PU is
not computed: its weights are not in ../shared (see README).
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from collections.abc import Mapping
from datetime import date, datetime
from importlib import resources
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ipmo.analytics.ingest import datastore
from ipmo.analytics.ingest.epd import IngestError

BAND_OF: dict[str, str] = {"0_4": "0-4", "5_9": "5-14", "10_14": "5-14"}
for _lo, _band in ((15, "15-24"), (25, "25-34"), (35, "35-44"), (45, "45-54"), (55, "55-64")):
    BAND_OF |= {f"{_lo}_{_lo + 4}": _band, f"{_lo + 5}_{_lo + 9}": _band}
BAND_OF |= {"65_69": "65-74", "70_74": "65-74"}
BAND_OF |= {b: "75+" for b in ("75_79", "80_84", "85_89", "90_94", "95+")}
COLUMNS = ["PUBLICATION", "EXTRACT_DATE", "ORG_TYPE", "ORG_CODE", "ONS_CODE", "POSTCODE", "SEX"]
COLUMNS += ["AGE_GROUP_5", "NUMBER_OF_PATIENTS"]


def band_column(sex: str, band: str) -> str:
    """practice_statistics' name for a sex and ten-year band: ("FEMALE", "35-44") → female_35_44."""
    return f"{sex.lower()}_{band.replace('-', '_').replace('+', '_plus')}"


BAND_COLUMNS = tuple(
    band_column(sex, band) for sex in ("MALE", "FEMALE") for band in dict.fromkeys(BAND_OF.values())
)


def band_counts(counts: Mapping[tuple[str, str], int]) -> dict[str, int]:
    """Patients per ``BAND_COLUMNS`` column from quinary (sex, band) counts."""
    out = dict.fromkeys(BAND_COLUMNS, 0)
    for (sex, band5), n in counts.items():
        if band5 in BAND_OF and sex in ("MALE", "FEMALE"):
            out[band_column(sex, BAND_OF[band5])] += n
    return out


def star_pu_weights() -> dict[str, dict[str, list[float]]]:
    path = resources.files("ipmo.analytics") / "data" / "star_pu_weights.json"
    return json.loads(path.read_text())


def star_pu(
    counts: Mapping[tuple[str, str], int], weights: Mapping[str, Mapping[str, list[float]]]
) -> dict[str, float]:
    """STAR-PU per weighting: Σ patients in (sex, ten-year band) × that band's weight.

    ``counts`` maps (``"MALE"``/``"FEMALE"``, quinary band such as ``"5_9"``) → patients.
    """
    folded: dict[tuple[str, str], int] = defaultdict(int)
    for (sex, band5), n in counts.items():
        if band5 in BAND_OF and sex in ("MALE", "FEMALE"):
            folded[(sex, BAND_OF[band5])] += n
    return {
        name: sum(n * table[band][0 if sex == "MALE" else 1] for (sex, band), n in folded.items())
        for name, table in weights.items()
    }


def _month(text: str, where: str) -> date:
    for fmt in ("%d-%b-%y", "%d%b%Y", "%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text.strip().title(), fmt).date().replace(day=1)
        except ValueError:
            continue
    raise IngestError(f"{where}: EXTRACT_DATE {text!r} is not a date")


def read_list_sizes(path: Path) -> pa.Table:
    """One row per practice and month: total_list_size, ``star_pu_<weighting>`` and the
    age-band × sex columns (``BAND_COLUMNS``)."""
    weights = star_pu_weights()
    totals: dict[tuple[str, date], int] = {}
    bands: dict[tuple[str, date], dict[tuple[str, str], int]] = defaultdict(dict)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = [h.strip().upper() for h in next(reader, [])]
        if header != COLUMNS:
            raise IngestError(f"{path}: not a GP list size file (expected {', '.join(COLUMNS)})")
        for number, row in enumerate(reader, start=2):
            where = f"{path}, row {number}"
            if len(row) != len(COLUMNS):
                raise IngestError(f"{where}: expected {len(COLUMNS)} columns, found {len(row)}")
            record = dict(zip(COLUMNS, row, strict=True))
            if not re.fullmatch(r"\d+", record["NUMBER_OF_PATIENTS"].strip()):
                raise IngestError(f"{where}: NUMBER_OF_PATIENTS is not a whole number")
            key = (record["ORG_CODE"].strip(), _month(record["EXTRACT_DATE"], where))
            n = int(record["NUMBER_OF_PATIENTS"])
            if record["SEX"] == "ALL" and record["AGE_GROUP_5"] == "ALL":
                totals[key] = n
            else:
                bands[key][(record["SEX"], record["AGE_GROUP_5"])] = n
    keys = sorted(set(totals) | set(bands))
    columns: dict[str, list] = {
        "practice": [k[0] for k in keys],
        "month": [k[1] for k in keys],
        "total_list_size": [totals.get(k) for k in keys],
    }
    units = [star_pu(bands[k], weights) for k in keys]
    for name in weights:
        columns[f"star_pu_{name}"] = [u[name] for u in units]
    folded = [band_counts(bands[k]) for k in keys]
    for column in BAND_COLUMNS:
        columns[column] = pa.array([f[column] for f in folded], pa.int64())
    return pa.table(columns)


def ingest_list_sizes(path: Path, root: Path | None = None) -> int:
    """Replace the list sizes for the practice-months in ``path``; returns rows written."""
    root = datastore.data_dir(root)
    table = read_list_sizes(path)
    final = root / "list_sizes.parquet"
    if final.exists():
        old = pq.read_table(final)
        new_keys = set(zip(table["practice"].to_pylist(), table["month"].to_pylist(), strict=True))
        keep = [
            (p, m) not in new_keys
            for p, m in zip(old["practice"].to_pylist(), old["month"].to_pylist(), strict=True)
        ]
        old = old.filter(pa.array(keep))
        for field in table.schema:  # a file written before the age-band columns: nulls there
            if field.name not in old.column_names:
                old = old.append_column(field, pa.nulls(old.num_rows, field.type))
        table = pa.concat_tables([old.select(table.column_names), table.cast(old.schema)])
    with datastore.staged() as writes:
        pq.write_table(table, writes.path_for(final))
    return table.num_rows


def list_size_side(columns_sql: str, where_sql: str | None) -> tuple[dict[str, float], tuple]:
    """A custom side on ``{hscic}.practice_statistics`` → (column → factor, gate).

    Accepted: ``[SUM|MAX](col [+ col …]) [+ …] [/ k]`` over ``BAND_COLUMNS`` or
    total_list_size (one row per practice and month, so SUM and MAX are the value itself), and a
    WHERE of ``1 = 1`` or ``col > n`` (the gate: practices failing it get no value on that side,
    as the peer's query returns no row for them). Anything else raises ValueError."""
    import sqlglot
    import sqlglot.expressions as sx

    known = {*BAND_COLUMNS, "total_list_size"}
    select = sqlglot.parse_one(f"SELECT {columns_sql} FROM t WHERE {where_sql or '1 = 1'}",
                               read="bigquery")  # fmt: skip
    (expr,) = select.expressions
    expr = expr.this if isinstance(expr, sx.Alias) else expr
    scale = 1.0
    while isinstance(expr, sx.Paren):
        expr = expr.this
    if isinstance(expr, sx.Div) and isinstance(expr.expression, sx.Literal):
        scale, expr = 1 / float(expr.expression.this), expr.this
    factors: dict[str, float] = {}

    def add(node) -> None:
        while isinstance(node, (sx.Paren, sx.Sum, sx.Max)):
            node = node.this
        if isinstance(node, sx.Add):
            add(node.this)
            add(node.expression)
        elif isinstance(node, sx.Column) and node.name.lower() in known:
            factors[node.name.lower()] = factors.get(node.name.lower(), 0.0) + scale
        else:
            raise ValueError(f"unsupported list-size expression {node.sql()!r}")

    add(expr)
    where = select.args["where"].this
    gate: tuple = ()
    if isinstance(where, sx.GT) and isinstance(where.this, sx.Column):
        column = where.this.name.lower()
        if column not in known or not isinstance(where.expression, sx.Literal):
            raise ValueError(f"unsupported list-size condition {where.sql()!r}")
        gate = (column, float(where.expression.this))
    elif where.sql() != "1 = 1":
        raise ValueError(f"unsupported list-size condition {where.sql()!r}")
    return factors, gate
