"""ipmo's own measures — the ones none of the peers publishes — added to a run with ``with_ipmo``.

* ``aware.py`` — antibiotics in the AWaRe Watch + Reserve groups;
* ``biosimilars.py`` — biosimilar uptake, one measure per molecule found in the data;
* ``inhalers.py`` — MDI share and inhaler kg CO2e per 1,000 patients and per inhaler;
* ``ics_measures.py`` — measures an ICS writes in YAML: the shipped examples, plus any in
  ``<analytics data dir>/ics_measures/``.

All are OpenPrescribing-format ``MeasureDefinition``s built against the presentations in the
data, so the engine runs them with the shipped 80 in one pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path

from ipmo.analytics.measures.aware import aware_definition
from ipmo.analytics.measures.biosimilars import biosimilar_definitions
from ipmo.analytics.measures.definitions import MeasureDefinition
from ipmo.analytics.measures.ics_measures import load_ics_measures, shipped_dir
from ipmo.analytics.measures.inhalers import inhaler_definitions
from ipmo.analytics.planning import plan_cache
from ipmo.analytics.planning.dmd_views import shipped_index


def shipped_measure_ids() -> set[str]:
    """Ids of the shipped OpenPrescribing definitions (file names; ICS ids may not reuse them)."""
    folder = Path(str(resources.files("ipmo.analytics") / "data" / "measure_definitions"))
    return {p.stem for p in folder.glob("*.json")}


def ics_folders(root: Path | None = None) -> list[Path]:
    """The shipped example folder, and ``<root>/ics_measures`` when it exists (``root``: the
    analytics data folder, default from settings)."""
    if root is None:
        from ipmo.config import get_settings

        root = get_settings().analytics_dir
    own = root / "ics_measures"
    return [shipped_dir(), *([own] if own.is_dir() else [])]


def ipmo_definitions(
    presentations: Mapping[str, str], ics: Iterable[Path] | None = None
) -> list[MeasureDefinition]:
    """Every ipmo measure for the presentations in the data (BNF code → name); cached on disk
    keyed by the presentations, the ICS measure files and the shipped code (``plan_cache.py``)."""
    folders = ics_folders() if ics is None else list(ics)
    cache_key = plan_cache.key(
        "ipmo-definitions",
        repr(sorted(presentations.items())),
        plan_cache.folder_fingerprint(folders),
    )
    return plan_cache.cached(cache_key, lambda: _build(presentations, folders))


def _build(presentations: Mapping[str, str], folders: list[Path]) -> list[MeasureDefinition]:
    index = shipped_index()  # the dictionary read once for these and the dm+d views
    return [
        aware_definition(presentations),
        *biosimilar_definitions(presentations, index=index),
        *inhaler_definitions(presentations, index=index),
        *load_ics_measures(folders, reserved=shipped_measure_ids()).values(),
    ]


def with_ipmo_measures(
    definitions: Sequence[MeasureDefinition], presentations: Mapping[str, str]
) -> list[MeasureDefinition]:
    """``definitions`` plus the ipmo measures whose ids they do not already hold."""
    present = {d.id for d in definitions}
    extra = [d for d in ipmo_definitions(presentations) if d.id not in present]
    return [*definitions, *extra]
