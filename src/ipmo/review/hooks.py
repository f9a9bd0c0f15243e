"""What the review domain offers other domains, found by name (``ipmo.hooks``).

* ``PROPOSAL_OUTCOMES`` — the records domain calls ``proposal_outcome`` when a change proposed
  from a review intervention (origin ``review-intervention:<id>``) is accepted or rejected.
* ``PLAN_METRICS`` — ``review.<rule id>`` metrics for plan objectives.
* ``WARM_UP`` — loads the code sets and product tables at start-up.
* ``FHIR_DETECTED_ISSUES`` / ``FHIR_TASKS`` / ``FHIR_TASK_READS`` — findings as DetectedIssues and
  interventions as Tasks for the FHIR API's DetectedIssue and Task routes (records, referrals).
"""

from __future__ import annotations

from ipmo.review.actions import (
    fhir_findings,
    fhir_intervention_task,
    fhir_intervention_tasks,
)
from ipmo.review.codelists import code_sets, product_dictionary
from ipmo.review.fhir_output import TASK_PREFIX
from ipmo.review.plan_metrics import ReviewMetrics
from ipmo.review.products import acb_scores
from ipmo.review.service import proposal_outcome

PROPOSAL_OUTCOMES = {"review-intervention": proposal_outcome}


def WARM_UP() -> None:  # noqa: N802 - a hook name, like the others here
    """The code sets and product tables the rules read, loaded at start-up."""
    code_sets()
    product_dictionary()
    acb_scores()


PLAN_METRICS = (ReviewMetrics(),)
FHIR_DETECTED_ISSUES = fhir_findings
FHIR_TASKS = fhir_intervention_tasks
FHIR_TASK_READS = {TASK_PREFIX: fhir_intervention_task}
