"""The one call the CLI, API and benchmark use: measures over the analytics data on an engine."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ipmo.analytics.compute.engine import LEVELS, MeasureResults, run_measures
from ipmo.analytics.ingest import datastore
from ipmo.analytics.measures.definitions import MeasureDefinition, load_definitions
from ipmo.analytics.measures.ics_measures import load_ics_measures
from ipmo.analytics.planning.ipmo_measures import shipped_measure_ids, with_ipmo_measures
from ipmo.analytics.planning.plan import MeasurePlan, plan_measures


@dataclass(frozen=True)
class MeasureRun:
    results: MeasureResults
    plans: list[MeasurePlan]
    skipped: dict[str, str]  # measure id → why it cannot run on this data
    seconds: dict[str, float] = field(default_factory=dict)  # "plan", "engine": wall time


def presentations(con) -> dict[str, str]:
    """Every BNF code in the data with a name (custom SQL may filter on names)."""
    if "presentations" in con.list_tables():
        table = con.to_pyarrow(con.table("presentations"))
        return dict(zip(table["bnf_code"].to_pylist(), table["bnf_name"].to_pylist(), strict=True))
    p = con.table("prescribing")
    table = con.to_pyarrow(p.group_by("bnf_code").aggregate(bnf_name=p.bnf_name.min()))
    return dict(zip(table["bnf_code"].to_pylist(), table["bnf_name"].to_pylist(), strict=True))


def select_definitions(
    definitions: dict[str, MeasureDefinition], ids: Iterable[str] | None
) -> list[MeasureDefinition]:
    if not ids:
        return list(definitions.values())
    unknown = [i for i in ids if i not in definitions]
    if unknown:
        raise KeyError(f"unknown measure {', '.join(unknown)}")
    return [definitions[i] for i in ids]


def compute(
    con,
    definitions: Sequence[MeasureDefinition],
    levels: Sequence[str] = tuple(LEVELS),
    with_ipmo: bool = False,
) -> MeasureRun:
    """Run ``definitions`` (plus ipmo's own measures when ``with_ipmo``: ipmo_measures.py)."""
    start = time.perf_counter()
    codes = presentations(con)
    definitions = with_ipmo_measures(definitions, codes) if with_ipmo else definitions
    plans, skipped = plan_measures(definitions, codes)
    if not plans:
        raise ValueError("none of the selected measures can run on this data: " + str(skipped))
    planned = time.perf_counter()
    results = run_measures(con, plans, levels)
    seconds = {"plan": planned - start, "engine": time.perf_counter() - planned}
    return MeasureRun(results, plans, skipped, seconds)


def compute_from_store(
    root: Path | None = None,
    engine: str = "duckdb",
    measure_ids: Iterable[str] | None = None,
    levels: Sequence[str] = tuple(LEVELS),
    definitions_dir: Path | None = None,
) -> MeasureRun:
    root = datastore.data_dir(root)
    definitions = select_definitions(load_definitions(definitions_dir), measure_ids)
    con = datastore.connect(engine, root)
    return compute(con, definitions, levels, with_ipmo=not measure_ids)


def compute_with_ics(
    ics_dir: Path,
    root: Path | None = None,
    engine: str = "duckdb",
    measure_ids: Iterable[str] | None = None,
    levels: Sequence[str] | None = None,
):
    """``compute_from_store`` with the ICS measures of ``ics_dir`` added (and selectable
    by ``measure_ids``); ``ipmo analytics measures --ics-measures DIR``. Every file in the folder
    is validated before anything runs."""
    extra = load_ics_measures([ics_dir], reserved=shipped_measure_ids())
    ids = list(measure_ids or [])
    definitions = select_definitions(load_definitions() | extra, ids)
    con = datastore.connect(engine, datastore.data_dir(root))
    return compute(con, definitions, tuple(levels or LEVELS), with_ipmo=not ids)


def results_paths(root: Path) -> tuple[Path, Path]:
    return root / "measure_values.parquet", root / "measure_globals.parquet"


def ics_measures_key(root: Path) -> str:
    """Name, size and mtime of each YAML measure in ``<root>/ics_measures`` (an ICS's own,
    ipmo_measures.ics_folders): adding, removing or editing one changes the key."""
    own = root / "ics_measures"
    files = sorted([*own.glob("*.yaml"), *own.glob("*.yml")]) if own.is_dir() else []
    return json.dumps([[p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in files])


def cached_results(root: Path) -> MeasureResults | None:
    """All shipped measures at every level, computed once per data change and kept as Parquet.

    Pages and the API read this file rather than recompute (a run takes seconds; a page must
    not). The cache is rebuilt when any input table is newer than it, or when the ICS's own YAML
    measures changed (``ics_measures_key``, kept next to it). None when no data loaded.
    """
    import pyarrow.parquet as pq

    values_path, globals_path = results_paths(root)
    inputs = datastore.prescribing_files(root)
    if not inputs or not (root / "practices.parquet").exists():
        return None
    inputs += [p for p in (root / "practices.parquet", root / "list_sizes.parquet") if p.exists()]
    newest = max(p.stat().st_mtime for p in inputs)
    key_path, key = root / "measure_cache_key.json", ics_measures_key(root)
    if (
        not (values_path.exists() and globals_path.exists() and key_path.exists())
        or values_path.stat().st_mtime < newest
        or key_path.read_text() != key
    ):
        definitions = list(load_definitions().values())
        run = compute(datastore.connect_duckdb(root), definitions, with_ipmo=True)
        with datastore.staged() as writes:
            pq.write_table(run.results.values, writes.path_for(values_path))
            pq.write_table(run.results.globals, writes.path_for(globals_path))
            writes.path_for(key_path).write_text(key)
        return run.results
    return _read_results(values_path, globals_path, key)


# the results as last read, per file: every dashboard request used to read the Parquet files again
# (issue 20's profile: the dashboard, 2 % of requests, took a quarter of the workers' time)
_read: dict[Path, tuple[tuple[int, int, str], MeasureResults]] = {}
_read_lock = threading.Lock()


def _read_results(values_path: Path, globals_path: Path, key: str) -> MeasureResults:
    import pyarrow.parquet as pq

    stamp = (values_path.stat().st_mtime_ns, globals_path.stat().st_mtime_ns, key)
    with _read_lock:
        held = _read.get(values_path)
        if held is not None and held[0] == stamp:
            return held[1]
        results = MeasureResults(pq.read_table(values_path), pq.read_table(globals_path))
        _read[values_path] = (stamp, results)
        return results
