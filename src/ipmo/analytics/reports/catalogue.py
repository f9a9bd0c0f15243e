"""Every measure the dashboard can show, and where each one comes from.

Three origins, so a user can tell them apart and filter (pages, API, CSV and report):

* ``openprescribing`` — the 80 definitions shipped unchanged in ``data/measure_definitions/``
  (bennettoxford/openprescribing, MIT); cited by their definition file and measure page;
* ``ipmo`` — ipmo's own measures (``ipmo_measures.py``): AWaRe Watch + Reserve (``aware.py``),
  biosimilar uptake (``biosimilars.py``), inhaler carbon (``inhalers.py``); cited by the module
  and the data table it reads;
* ``ics`` — measures an ICS writes in YAML (``ics_measures.py``); cited by the YAML file and its
  required ``source:`` text.

The definitions are ``report.report_definitions`` (the shipped 80 plus ipmo's, built against the
presentations of the loaded data, as ``service.cached_results`` builds them), so every measure in
the cached results has a name, a description and a direction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ipmo.analytics.measures import aware, biosimilars, inhalers
from ipmo.analytics.measures.definitions import MeasureDefinition
from ipmo.analytics.measures.ics_measures import load_ics_measure, shipped_dir
from ipmo.analytics.planning.ipmo_measures import ics_folders, shipped_measure_ids
from ipmo.analytics.reports.report import OP_DEFINITION_URL, OP_MEASURE_URL, report_definitions

ORIGINS = {"openprescribing": "OpenPrescribing", "ipmo": "ipmo", "ics": "ICS-defined"}
# ipmo's measure modules: (measure ids, or an id prefix ending in "_") → module, what it rests on
IPMO_MODULES: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (
        (aware.MEASURE_ID,),
        "ipmo/analytics/measures/aware.py",
        "UKHSA AWaRe 2024 classification of BNF 5.1 antibacterials by VTM "
        "(data/aware_vtms.csv), the list behind OpenPrescribing's aware_antibiotics",
    ),
    (
        (biosimilars.MEASURE_PREFIX,),
        "ipmo/analytics/measures/biosimilars.py",
        "NHS England commissioning framework for best value biological medicines; originator "
        "and biosimilar brands cited row by row in data/biosimilar_brands.csv",
    ),
    (
        (inhalers.MDI_SHARE_ID, inhalers.PER_1000_ID, inhalers.PER_INHALER_ID),
        "ipmo/analytics/measures/inhalers.py",
        "device classes as OpenPrescribing's environmental_inhalers; kg CO2e per inhaler cited "
        "row by row in data/inhaler_co2e.csv",
    ),
)
DIRECTIONS = {True: "Lower is better", False: "Higher is better", None: "No better direction"}


@dataclass(frozen=True)
class Source:
    """Where a measure comes from: its origin, a one-line citation, the file that defines it."""

    origin: str  # a key of ORIGINS
    text: str
    file: str
    links: tuple[tuple[str, str], ...] = ()  # (label, url)

    @property
    def label(self) -> str:
        return ORIGINS[self.origin]

    def as_dict(self) -> dict:
        return {
            "origin": self.origin, "label": self.label, "text": self.text, "file": self.file,
            "links": [{"label": label, "url": url} for label, url in self.links],
        }  # fmt: skip


def _ipmo_module(measure_id: str) -> tuple[str, str] | None:
    for ids, module, basis in IPMO_MODULES:
        if any(measure_id == i or (i.endswith("_") and measure_id.startswith(i)) for i in ids):
            return module, basis
    return None


def source_of(
    d: MeasureDefinition, shipped: Iterable[str], ics_files: dict[str, str] | None = None
) -> Source:
    """The citation of one definition (``shipped``: the OpenPrescribing ids; ``ics_files``:
    ICS measure id → its YAML file as shown to users)."""
    if d.id in set(shipped):
        return Source(
            "openprescribing",
            f"OpenPrescribing measure definition {d.id}.json",
            f"ipmo/analytics/data/measure_definitions/{d.id}.json",
            (("measure page", OP_MEASURE_URL.format(id=d.id)),
             ("definition", OP_DEFINITION_URL.format(id=d.id))),
        )  # fmt: skip
    if "ics" in d.tags and d.raw.get("source"):  # ics_measures.compile_measure sets both
        file = (ics_files or {}).get(d.id, f"{d.id}.yaml")
        return Source("ics", f"ICS-defined measure ({file}): {d.raw['source']}", file)
    module = _ipmo_module(d.id)
    if module is not None:
        return Source("ipmo", f"ipmo measure ({module[0]}): {module[1]}", module[0])
    return Source(
        "ipmo", f"ipmo measure {d.id}: {d.description}", "ipmo/analytics/planning/ipmo_measures.py"
    )


def ics_files(root: Path | None) -> dict[str, str]:
    """ICS measure id → its YAML file: ``ipmo/analytics/data/ics_measures/<name>`` for the
    shipped examples, ``<analytics data dir>/ics_measures/<name>`` for an ICS's own."""
    paths = [p for f in ics_folders(root) for p in sorted([*f.glob("*.yaml"), *f.glob("*.yml")])]
    stamp = tuple((str(p), p.stat().st_mtime_ns) for p in paths)
    return dict(_ics_files(stamp))


@lru_cache(maxsize=8)
def _ics_files(stamp: tuple[tuple[str, int], ...]) -> tuple[tuple[str, str], ...]:
    shipped = shipped_dir()
    out = []
    for name, _ in stamp:
        path = Path(name)
        shown = (
            f"ipmo/analytics/data/ics_measures/{path.name}"
            if path.parent == shipped
            else f"<analytics data dir>/ics_measures/{path.name}"
        )
        out.append((load_ics_measure(path).id, shown))
    return tuple(out)


@dataclass(frozen=True)
class Catalogue:
    """Definitions and sources by measure id; ``with_values``: ids that have cached results."""

    definitions: dict[str, MeasureDefinition]
    sources: dict[str, Source]
    with_values: frozenset[str] = frozenset()

    def __contains__(self, measure_id: object) -> bool:
        return measure_id in self.definitions

    def ids(self, origin: str | None = None) -> list[str]:
        return [i for i in self.definitions if origin in (None, self.sources[i].origin)]

    def info(self, measure_id: str) -> dict:
        """What every view says about a measure besides its numbers."""
        d, s = self.definitions[measure_id], self.sources[measure_id]
        return {
            "name": d.name, "description": d.description, "origin": s.origin,
            "origin_label": s.label, "low_is_good": d.low_is_good,
            "direction": DIRECTIONS[d.low_is_good], "source": s.text,
        }  # fmt: skip


def check_origin(origin: str | None) -> str | None:
    """None or a known origin; ValueError naming the choices otherwise ('' means all)."""
    if not origin:
        return None
    if origin not in ORIGINS:
        raise ValueError(f"origin must be one of {', '.join(ORIGINS)}")
    return origin


def load(root: Path, values=None) -> Catalogue:
    """The catalogue for the analytics folder ``root`` (``values``: the cached results' values
    table, to mark which measures have results)."""
    definitions = report_definitions(root)
    shipped = shipped_measure_ids()
    files = ics_files(root)
    sources = {i: source_of(d, shipped, files) for i, d in definitions.items()}
    present: frozenset[str] = frozenset()
    if values is not None:
        import pyarrow.compute as pc

        present = frozenset(pc.unique(values["measure"]).to_pylist()) & set(definitions)
    return Catalogue(definitions, sources, present)
