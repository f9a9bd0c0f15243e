"""The synthetic ICS generator: organisations, population, prescribing, labs and per-source lists.

``generate(session_or_engine, size="demo", seed=1)`` builds it (deterministic by seed and
``as_of``); ``DEMO_CODES`` names the first organisation of each kind for demo users;
``generate_national_epd`` writes a national month of EPD-format prescribing for the dashboard;
``BulkWriter`` loads rows in bulk (sqlite3 ``executemany``, PostgreSQL ``COPY``) for any domain.
"""

from ipmo.hooks import published_later
from ipmo.synth.generator import Report, SynthError, generate
from ipmo.synth.sizes import DEMO_CODES, SIZES, DemoCodes
from ipmo.synth.writer import BulkWriter

__all__ = [
    "BulkWriter",
    "DEMO_CODES",
    "SIZES",
    "DemoCodes",
    "Report",
    "SynthError",
    "generate",
    "generate_national_epd",
]

# the national EPD generator (DuckDB, the EPD profile) loads only when asked for
__getattr__ = published_later({"generate_national_epd": "ipmo.synth.national_epd"})
