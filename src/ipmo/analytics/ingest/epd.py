"""Ingest of the NHSBSA English Prescribing Dataset (EPD) into the analytics Parquet tables.

Two published layouts are accepted, recognised by their exact header (anything else is refused):

* ``epd_2016`` — the 26-column layout (AREA_TEAM_*, BNF_CODE, ADQUSAGE …) of
  fixtures/epd_format/EPD_201601.csv;
* ``epd_snomed`` — "EPD with SNOMED code" published since 2025 (fixtures/README.md §4): ICB_NAME /
  ICB_CODE, BNF_CHEMICAL_SUBSTANCE_CODE / _NAME, BNF_PRESENTATION_CODE / _NAME, ADQ_USAGE and a
  trailing SNOMED_CODE, which is dropped as OpenPrescribing does.

Rows are aggregated to practice × BNF presentation × month (pack-size rows merge: items, NIC,
ACTUAL_COST and TOTAL_QUANTITY are summed), and practices whose code ends in ``998``
(unidentified prescribers, OpenPrescribing issue #349) are dropped. Practice attributes feed the
org hierarchy: place = first three characters of PCO_CODE, ICB = AREA_TEAM_CODE / ICB_CODE.

For the chemicals in ``PER_ITEM_CHEMICALS`` the same scan also keeps items by quantity per item
(EPD ``QUANTITY`` = TOTAL_QUANTITY / ITEMS; OpenPrescribing's
``raw_prescribing_normalised.quantity_per_item``) in ``per_item/<YYYY-MM>.parquet``: the big
grouping set carries the quantity per item as an extra key for those chemicals only (NULL for the
rest), and their presentation rows are summed back.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ipmo.analytics.ingest import datastore

_ADDRESS = ["ADDRESS_1", "ADDRESS_2", "ADDRESS_3", "ADDRESS_4", "POSTCODE"]
_MEASURES = ["QUANTITY", "ITEMS", "TOTAL_QUANTITY"]
LAYOUTS: dict[str, list[str]] = {
    "epd_2016": [
        "YEAR_MONTH", "REGIONAL_OFFICE_NAME", "REGIONAL_OFFICE_CODE", "AREA_TEAM_NAME",
        "AREA_TEAM_CODE", "PCO_NAME", "PCO_CODE", "PRACTICE_NAME", "PRACTICE_CODE", *_ADDRESS,
        "BNF_CHEMICAL_SUBSTANCE", "CHEMICAL_SUBSTANCE_BNF_DESCR", "BNF_CODE", "BNF_DESCRIPTION",
        "BNF_CHAPTER_PLUS_CODE", *_MEASURES, "ADQUSAGE", "NIC", "ACTUAL_COST", "UNIDENTIFIED",
    ],
    "epd_snomed": [
        "YEAR_MONTH", "REGIONAL_OFFICE_NAME", "REGIONAL_OFFICE_CODE", "ICB_NAME", "ICB_CODE",
        "PCO_NAME", "PCO_CODE", "PRACTICE_NAME", "PRACTICE_CODE", *_ADDRESS,
        "BNF_CHEMICAL_SUBSTANCE_CODE", "BNF_CHEMICAL_SUBSTANCE_NAME", "BNF_PRESENTATION_CODE",
        "BNF_PRESENTATION_NAME", "BNF_CHAPTER_PLUS_CODE", *_MEASURES, "ADQ_USAGE", "NIC",
        "ACTUAL_COST", "UNIDENTIFIED", "SNOMED_CODE",
    ],
}  # fmt: skip
# BNF chemicals read by the per-item measures (measure_definitions/*.json on
# raw_prescribing_normalised): amox_500_15_caps 0501013B0; doxy_100_6_qty 0501030I0, 0501030Z0;
# excess_pens 0601023AW, 0601023AZ; morphine_solution_high_quantity 0407020Q0 (morphine sulfate);
# seven_day_prescribing 0205051R0, 0212000B0, 0212000Y0, 0602010V0, 0206020A0;
# uti_antibiotics_3_day 0501015P0, 0501080W0, 0501130R0, 0501070AE.
PER_ITEM_CHEMICALS = (
    "0205051R0", "0206020A0", "0212000B0", "0212000Y0", "0407020Q0", "0501013B0", "0501015P0",
    "0501030I0", "0501030Z0", "0501070AE", "0501080W0", "0501130R0", "0601023AW", "0601023AZ",
    "0602010V0",
)  # fmt: skip
# layout → (ICB column, BNF code column, BNF name column)
_ROLES = {
    "epd_2016": ("AREA_TEAM_CODE", "BNF_CODE", "BNF_DESCRIPTION"),
    "epd_snomed": ("ICB_CODE", "BNF_PRESENTATION_CODE", "BNF_PRESENTATION_NAME"),
}
_TYPES = {"ITEMS": "BIGINT", "QUANTITY": "DOUBLE", "TOTAL_QUANTITY": "DOUBLE", "NIC": "DOUBLE"}
_TYPES |= {"ACTUAL_COST": "DOUBLE", "ADQUSAGE": "DOUBLE", "ADQ_USAGE": "DOUBLE"}


class IngestError(ValueError):
    """Bad input; the message names the file (and row when there is one)."""


@dataclass(frozen=True)
class IngestReport:
    files: int
    raw_rows: int
    rows: int  # practice × presentation × month rows written
    dropped_unidentified_rows: int
    months: tuple[str, ...]


def detect_layout(path: Path) -> str:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), None)
    except (OSError, UnicodeDecodeError) as exc:
        raise IngestError(f"{path}: cannot read: {exc}") from exc
    if not header:
        raise IngestError(f"{path}: empty file, expected an EPD header row")
    header = [h.strip().upper() for h in header]
    for name, columns in LAYOUTS.items():
        if header == columns:
            return name
    best = min(LAYOUTS, key=lambda n: len(set(LAYOUTS[n]) ^ set(header)))
    unknown = [h for h in header if h not in LAYOUTS[best]]
    missing = [c for c in LAYOUTS[best] if c not in header]
    detail = []
    if unknown:
        detail.append(f"unknown columns {', '.join(unknown)}")
    if missing:
        detail.append(f"missing {', '.join(missing)}")
    if not detail:
        detail.append("columns out of order")
    raise IngestError(f"{path}: not an EPD layout (closest {best}: {'; '.join(detail)})")


_REQUIRED_NUMBERS = ("ITEMS", "TOTAL_QUANTITY", "ACTUAL_COST", "NIC")


def _read_sql(path: Path, layout: str) -> str:
    """DuckDB's reader over one file: the layout's columns and types, nothing auto-detected.

    Keys and required numbers are read with ``force_not_null``: an empty number is then a
    conversion error that names its line (rather than a NULL to count in every group); an empty
    key is found on the grouped rows."""
    columns = ", ".join(f"'{c}': '{_TYPES.get(c, 'VARCHAR')}'" for c in LAYOUTS[layout])
    _, code, _ = _ROLES[layout]
    not_null = ", ".join(
        f"'{c}'" for c in ("YEAR_MONTH", "PRACTICE_CODE", code, *_REQUIRED_NUMBERS)
    )
    quoted = str(path).replace("'", "''")
    return (
        f"read_csv('{quoted}', header = true, delim = ',', columns = {{{columns}}}, quote = '\"', "
        "escape = '\"', strict_mode = true, null_padding = false, auto_detect = false, "
        f"force_not_null = [{not_null}])"
    )


def _month_sql() -> str:
    # YEAR_MONTH is 2016_01 in old files and 201601 in current ones
    return "TRY_STRPTIME(REPLACE(YEAR_MONTH, '_', ''), '%Y%m')::DATE"


# grouping sets of the one scan: GROUPING(PRACTICE_NAME, name column) tells them apart
_ROWS, _PRACTICES, _NAMES = 3, 1, 2


_CHEMICALS_SQL = ", ".join(f"'{c}'" for c in PER_ITEM_CHEMICALS)


def _aggregate_sql(path: Path, layout: str) -> str:
    """One scan, three groupings (the whole cost of an ingest):

    * month × practice × presentation (× quantity per item for ``PER_ITEM_CHEMICALS``): the
      four sums and the raw row count;
    * month × practice with its name, PCO (place) and ICB / region codes;
    * month × presentation with its name.

    The strings constant per practice or presentation are grouping keys of the two small sets
    rather than ``any_value`` aggregates of the big one: copying them into ~8.6M groups costs
    nearly as much as the rest of the ingest. Dates are parsed and keys checked afterwards on
    the grouped rows.
    """
    icb, code, name = _ROLES[layout]
    per_item = (
        f"CASE WHEN LEFT({code}, 9) IN ({_CHEMICALS_SQL}) THEN round(TOTAL_QUANTITY / ITEMS, 6) END"
    )
    return f"""
        SELECT {_month_sql()} AS month, YEAR_MONTH, PRACTICE_CODE AS practice,
               {code} AS bnf_code, {name} AS bnf_name, PRACTICE_NAME AS practice_name,
               LEFT(PCO_CODE, 3) AS place, {icb} AS icb, REGIONAL_OFFICE_CODE AS region,
               quantity_per_item, grouping_set, items, quantity, actual_cost, net_cost, raw_rows
        FROM (
            SELECT YEAR_MONTH, PRACTICE_CODE, {code}, {name}, PRACTICE_NAME, PCO_CODE, {icb},
                   REGIONAL_OFFICE_CODE, {per_item} AS quantity_per_item,
                   GROUPING(PRACTICE_NAME, {name}) AS grouping_set,
                   sum(ITEMS)::BIGINT AS items,
                   sum(TOTAL_QUANTITY)::DOUBLE AS quantity, sum(ACTUAL_COST)::DOUBLE AS actual_cost,
                   sum(NIC)::DOUBLE AS net_cost, count(*) AS raw_rows
            FROM {_read_sql(path, layout)}
            GROUP BY GROUPING SETS (
                (YEAR_MONTH, PRACTICE_CODE, {code}, {per_item}),
                (YEAR_MONTH, PRACTICE_CODE, PRACTICE_NAME, PCO_CODE, {icb}, REGIONAL_OFFICE_CODE),
                (YEAR_MONTH, {code}, {name})))
    """


def _first_bad_row(con: duckdb.DuckDBPyConnection, path: Path, layout: str) -> str:
    """Only on the error path: scan again, in file order, for the first row with a bad key."""
    _, code, _ = _ROLES[layout]
    month = _month_sql()
    con.execute("SET preserve_insertion_order = true")  # row_number() in file order
    row = con.execute(
        f"""SELECT n, YEAR_MONTH, PRACTICE_CODE, {code} FROM (
              SELECT row_number() OVER () + 1 AS n, * FROM {_read_sql(path, layout)})
            WHERE {month} IS NULL OR coalesce(PRACTICE_CODE, '') = '' OR coalesce({code}, '') = ''
            ORDER BY n LIMIT 1"""
    ).fetchone()
    if row is None:
        return f"{path}: malformed rows"
    n, year_month, practice, bnf = row
    if not practice or not bnf:
        return f"{path}, row {n}: missing practice or BNF code"
    return f"{path}, row {n}: YEAR_MONTH {year_month!r} is not YYYYMM or YYYY_MM"


def _duckdb_error(path: Path, exc: Exception) -> IngestError:
    """DuckDB's multi-line CSV error → one line naming the file, the row and the cause."""
    text = str(exc)
    line = re.search(r"Line: (\d+)", text)
    cause = re.search(
        r"(Error when converting column .*|Expected Number of Columns: \d+ Found: \d+)", text
    )
    reason = cause.group(1) if cause else re.sub(r"^[A-Za-z ]*Error: ", "", text.splitlines()[0])
    reason = reason.replace("Expected Number of Columns", "expected columns").strip()
    empty = re.fullmatch(r'Error when converting column "(\w+)"\.', reason)
    if empty:  # force_not_null: an empty required number
        reason = f"a required number ({empty.group(1)}) is empty"
    where = f"{path}, row {line.group(1)}" if line else str(path)
    return IngestError(f"{where}: {reason}")


def ingest_epd(
    paths: Sequence[Path], root: Path | None = None, threads: int | None = None
) -> IngestReport:
    """Validate every file, then write all months together (or nothing).

    Cost: one parallel DuckDB scan + group-by per file (CSV → practice × presentation × month
    rows in memory), then one Parquet write per month; the checks, counts, practices and
    presentations read the grouped rows, never the CSV again."""
    root = datastore.data_dir(root)
    layouts = [(Path(p), detect_layout(Path(p))) for p in paths]
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    con.execute("SET preserve_insertion_order = false")
    raw = dropped = 0
    seen: dict[object, Path] = {}
    for index, (path, layout) in enumerate(layouts):
        try:
            con.execute(f"CREATE TEMP TABLE grouped_{index} AS {_aggregate_sql(path, layout)}")
        except duckdb.Error as exc:
            raise _duckdb_error(path, exc) from exc
        bad, total, unidentified, months = datastore.one_row(
            con.execute(
                f"""SELECT count(*) FILTER (month IS NULL OR coalesce(practice, '') = ''
                                           OR coalesce(bnf_code, '') = ''),
                       sum(raw_rows), coalesce(sum(raw_rows) FILTER (practice LIKE '%998'), 0),
                       list(DISTINCT month) FILTER (month IS NOT NULL)
                FROM grouped_{index} WHERE grouping_set = {_ROWS}"""
            )
        )
        if bad:
            raise IngestError(_first_bad_row(con, path, layout))
        raw += int(total or 0)
        dropped += int(unidentified)
        for month in months or []:
            if month in seen:
                raise IngestError(f"{path}: month {month:%Y-%m} is also in {seen[month]}")
            seen[month] = path
    groups = " UNION ALL ".join(f"SELECT * FROM grouped_{i}" for i in range(len(layouts)))
    con.execute(f"CREATE TEMP VIEW grouped AS {groups}")
    con.execute(
        f"""CREATE TEMP TABLE names AS SELECT month, bnf_code, any_value(bnf_name) AS bnf_name
            FROM grouped WHERE grouping_set = {_NAMES} GROUP BY ALL"""
    )
    con.execute(
        f"""CREATE TEMP VIEW kept_rows AS SELECT * FROM grouped
            WHERE grouping_set = {_ROWS} AND practice NOT LIKE '%998'"""
    )
    per_item = f"LEFT(bnf_code, 9) IN ({_CHEMICALS_SQL})"
    con.execute(  # per-item chemicals' rows are split by quantity per item: sum them back
        f"""CREATE TEMP VIEW agg AS
            SELECT g.month, g.practice, g.bnf_code, n.bnf_name, g.items, g.quantity,
                   g.actual_cost, g.net_cost
            FROM (SELECT month, practice, bnf_code, items, quantity, actual_cost, net_cost
                  FROM kept_rows WHERE NOT {per_item}
                  UNION ALL
                  SELECT month, practice, bnf_code, sum(items)::BIGINT, sum(quantity),
                         sum(actual_cost), sum(net_cost)
                  FROM kept_rows WHERE {per_item} GROUP BY month, practice, bnf_code) g
            JOIN names n ON g.month = n.month AND g.bnf_code = n.bnf_code"""
    )
    con.execute(
        f"""CREATE TEMP VIEW practice_rows AS
            SELECT month, practice, practice_name, place, icb, region FROM grouped
            WHERE grouping_set = {_PRACTICES} AND practice NOT LIKE '%998'"""
    )
    months = sorted(seen)
    rows = 0
    with datastore.staged() as writes:
        for month in months:
            final = datastore.prescribing_dir(root) / f"{month:%Y-%m}.parquet"
            tmp = writes.path_for(final)
            (written,) = datastore.one_row(
                con.execute(
                    f"""COPY (SELECT * FROM agg WHERE month = DATE '{month}')
                    TO '{tmp}' (FORMAT parquet, COMPRESSION snappy)"""
                )
            )
            rows += int(written)
            final = datastore.per_item_dir(root) / f"{month:%Y-%m}.parquet"
            con.execute(
                f"""COPY (SELECT month, practice, bnf_code, quantity_per_item, items, quantity,
                                 actual_cost
                          FROM kept_rows WHERE month = DATE '{month}' AND {per_item})
                    TO '{writes.path_for(final)}' (FORMAT parquet, COMPRESSION snappy)"""
            )
        _stage_practices(con, root, writes)
        datastore.stage_presentations(con, root, writes, "names")
    return IngestReport(len(layouts), raw, rows, dropped, tuple(f"{m:%Y-%m}" for m in months))


def _stage_practices(con, root: Path, writes: datastore.StagedWrites) -> None:
    """Add practices first seen in this EPD; keep existing rows (an orgs file knows PCNs)."""
    final = root / "practices.parquet"
    con.execute(
        """CREATE TEMP TABLE new_practices AS
           SELECT practice, arg_max(practice_name, month) AS name, NULL::VARCHAR AS pcn,
                  arg_max(place, month) AS place, arg_max(icb, month) AS icb,
                  arg_max(region, month) AS region
           FROM practice_rows GROUP BY practice"""
    )
    if final.exists():
        old = f"read_parquet('{final}')"
        query = f"""SELECT * FROM {old} UNION ALL
                    SELECT * FROM new_practices
                    WHERE practice NOT IN (SELECT practice FROM {old})"""
    else:
        query = "SELECT * FROM new_practices"
    tmp = writes.path_for(final)
    con.execute(f"COPY ({query} ORDER BY practice) TO '{tmp}' (FORMAT parquet)")
