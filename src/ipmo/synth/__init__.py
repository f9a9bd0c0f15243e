"""The synthetic ICS generator: organisations, population, prescribing, labs and per-source lists.

``generate(session_or_engine, size="demo", seed=1)`` builds it (deterministic by seed and
``as_of``); ``DEMO_CODES`` names the first organisation of each kind for demo users.
"""

from ipmo.synth.generator import Report, SynthError, generate
from ipmo.synth.sizes import DEMO_CODES, SIZES, DemoCodes

__all__ = ["DEMO_CODES", "SIZES", "DemoCodes", "Report", "SynthError", "generate"]
