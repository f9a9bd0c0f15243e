"""Clinical risk management (DCB0129): the hazard log as data, its checker and the report.

The hazard log (``docs/safety/hazard-log.yaml``) names, for every hazard, the design controls (the
code that prevents it) and the test controls (the tests that prove it, by pytest id). The checker
makes the log a promise CI keeps: every cited test exists and is collected, every hazard has a
test control, and every clinical rule, discrepancy class and referral service the code carries is
named by some hazard, so a new rule without a hazard fails the build.
"""

from ipmo.safety.checker import Finding, check_log, clinical_items
from ipmo.safety.hazard_log import DEFAULT_LOG, Hazard, HazardLog, HazardLogError, load
from ipmo.safety.report import render_html, test_evidence

__all__ = [
    "DEFAULT_LOG",
    "Finding",
    "Hazard",
    "HazardLog",
    "HazardLogError",
    "check_log",
    "clinical_items",
    "load",
    "render_html",
    "test_evidence",
]
