"""A small analytics folder for report and inequality tests: synthetic EPD months (real BNF codes,
so shipped measures have values), practices grouped into two PCNs, and IMD deciles."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ipmo.analytics.compute.service import cached_results
from ipmo.analytics.ingest.epd import ingest_epd
from ipmo.analytics.reports.inequalities import store_deprivation
from ipmo.synth.national_epd import generate_national_epd

MONTHS = ("2025_01", "2025_02", "2025_03")
PCNS = ("U00001", "U00002")


def build(root: Path, practices: int = 20, with_deprivation: bool = True) -> dict[str, int]:
    """Fill ``root`` (an analytics folder); returns the practice → IMD decile mapping used."""
    files = [
        generate_national_epd(root.parent / "epd", 11 + i, practices=practices, month=m).path
        for i, m in enumerate(MONTHS)
    ]
    ingest_epd(files, root)
    table = pq.read_table(root / "practices.parquet")
    codes = table["practice"].to_pylist()
    pcn = pa.array([PCNS[i % 2] for i in range(len(codes))], pa.string())
    table = table.set_column(table.schema.get_field_index("pcn"), "pcn", pcn)
    pq.write_table(table, root / "practices.parquet")
    deciles = {code: i % 10 + 1 for i, code in enumerate(codes)}
    if with_deprivation:
        store_deprivation(deciles, root)
    cached_results(root)  # compute the measure cache once
    return deciles


def copy_into(source: Path, target: Path) -> None:
    """Copy a built folder, keeping modification times so the measure cache stays valid."""
    shutil.copytree(source, target, dirs_exist_ok=True)


def practice_codes(root: Path) -> list[str]:
    table = pq.read_table(root / "practices.parquet")
    return sorted(pc.unique(table["practice"]).to_pylist())
