"""Medicines optimisation case finding: PINCER, STOPP/START, ACB and SMR-cohort rules over the
store, the SMR worklist and the population rates.

Published names (other domains import only these): the practice rates the analytics dashboard
shows — :func:`practice_review_rates` (patients flagged per 1,000 registered, per practice and
rule, disclosure-controlled), :func:`rates_table`, :data:`RATE_FAMILIES`, :class:`PracticeRuleRate`;
the review use cases' errors (:class:`ReviewInputError`, :class:`IdempotencyKeyReused`: their
HTTP statuses are in the web app's one table, ``ipmo.web.errors``; loaded on first use);
:func:`codelist` (a shipped code set by name, e.g. ``"dementia"``: SNOMED CT codes).
"""

from typing import TYPE_CHECKING

from ipmo.hooks import published_later
from ipmo.review.codelists import codes as codelist
from ipmo.review.rates import FAMILIES as RATE_FAMILIES
from ipmo.review.rates import PracticeRuleRate, practice_review_rates, rates_table

if TYPE_CHECKING:
    from ipmo.review.actions import IdempotencyKeyReused, ReviewInputError

__all__ = [
    "RATE_FAMILIES",
    "IdempotencyKeyReused",
    "PracticeRuleRate",
    "ReviewInputError",
    "codelist",
    "practice_review_rates",
    "rates_table",
]
# the errors live with the use cases (actions), which load the whole review machinery
__getattr__ = published_later(
    dict.fromkeys(["IdempotencyKeyReused", "ReviewInputError"], "ipmo.review.actions")
)
