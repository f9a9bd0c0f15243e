"""Medicines optimisation case finding: PINCER, STOPP/START, ACB and SMR-cohort rules over the
store, the SMR worklist and the population rates.

Published names (other domains import only these): the practice rates the analytics dashboard
shows — :func:`practice_review_rates` (patients flagged per 1,000 registered, per practice and
rule, disclosure-controlled), :func:`rates_table`, :data:`RATE_FAMILIES`, :class:`PracticeRuleRate`;
:func:`codelist` (a shipped code set by name, e.g. ``"dementia"``: SNOMED CT codes).
"""

from ipmo.review.codelists import codes as codelist
from ipmo.review.rates import FAMILIES as RATE_FAMILIES
from ipmo.review.rates import PracticeRuleRate, practice_review_rates, rates_table

__all__ = [
    "RATE_FAMILIES",
    "PracticeRuleRate",
    "codelist",
    "practice_review_rates",
    "rates_table",
]
