"""The system-wide medicines dashboard: OpenPrescribing-format prescribing measures at every
organisation level, on DuckDB, PostgreSQL or Spark (README.md).

Published names (other packages import only these; loaded on first use, so importing the package
does not load the Ibis engine): :func:`compute_from_store` and :func:`cached_results` (measures
over the analytics store), :func:`load_definitions` (the shipped measure definitions) and
:data:`LEVELS` (organisation levels). Other domains reach analytics through ``hooks.py``
(``PLAN_METRICS``) rather than importing it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ipmo.hooks import published_later

if TYPE_CHECKING:
    from ipmo.analytics.compute.levels import LEVELS
    from ipmo.analytics.compute.service import cached_results, compute_from_store
    from ipmo.analytics.measures.definitions import load_definitions

__all__ = ["LEVELS", "cached_results", "compute_from_store", "load_definitions"]
__getattr__ = published_later(
    {
        "LEVELS": "ipmo.analytics.compute.levels",
        "cached_results": "ipmo.analytics.compute.service",
        "compute_from_store": "ipmo.analytics.compute.service",
        "load_definitions": "ipmo.analytics.measures.definitions",
    }
)
