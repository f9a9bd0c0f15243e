"""The synthetic ICS generator: organisations, population, prescribing, labs and per-source lists.

``generate(session_or_engine, size="demo", seed=1)`` builds it (deterministic by seed and
``as_of``); ``DEMO_CODES`` names the first organisation of each kind for demo users;
``generate_national_epd`` writes a national month of EPD-format prescribing for the dashboard.
"""

from ipmo.synth.generator import Report, SynthError, generate
from ipmo.synth.sizes import DEMO_CODES, SIZES, DemoCodes

__all__ = [
    "DEMO_CODES",
    "SIZES",
    "DemoCodes",
    "Report",
    "SynthError",
    "generate",
    "generate_national_epd",
]


def __getattr__(name: str):
    # the national EPD generator (DuckDB, the EPD profile) loads only when asked for
    if name == "generate_national_epd":
        from ipmo.synth.national_epd import generate_national_epd

        return generate_national_epd
    raise AttributeError(name)
