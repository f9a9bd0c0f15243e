"""Demo hook: a few months of synthetic EPD-format prescribing for the dashboard.

The analytics zone is pseudonymised and national-shaped, so the demo uses the national EPD
generator (per-practice shape from the real samples) at a small scale rather than the direct-care
store's patients.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlalchemy import Engine

from ipmo.analytics.epd import ingest_epd
from ipmo.analytics.inequalities import populate_demo as populate_demo_deprivation
from ipmo.synth.national_epd import generate_national_epd

DEMO_MONTHS = ("2025_07", "2025_08", "2025_09", "2025_10", "2025_11", "2025_12")
DEMO_PRACTICES = 60


def populate(engine: Engine, seed: int) -> str:  # noqa: ARG001 - the analytics zone has no store
    with tempfile.TemporaryDirectory() as tmp:
        files = [
            generate_national_epd(Path(tmp), seed + i, practices=DEMO_PRACTICES, month=m).path
            for i, m in enumerate(DEMO_MONTHS)
        ]
        report = ingest_epd(files)
    populate_demo_deprivation(seed)  # synthetic IMD deciles for the inequality view
    return str(report)
