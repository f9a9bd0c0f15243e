"""What the care-homes domain offers other domains, found by name (``ipmo.hooks``).

* ``REVIEW_FINDINGS`` — the review domain adds care-home residents' eMAR findings to the SMR
  worklist's reasons (care-home residents are a DES SMR cohort) and to the patient's review page.
* ``PLAN_METRICS`` — ``carehomes.<name>`` metrics (doses refused or omitted, residents with
  findings) for plan objectives.
* ``HTTP_ERRORS`` — the care-home use cases' errors and their HTTP status.
"""

from __future__ import annotations

from ipmo.carehomes.actions import BestInterestsError, NotYourHome, StaffInputError
from ipmo.carehomes.evidence import worklist_reasons
from ipmo.carehomes.ingest import IngestError
from ipmo.carehomes.plan_metrics import CarehomeMetrics

REVIEW_FINDINGS = {"carehomes": worklist_reasons}
PLAN_METRICS = (CarehomeMetrics(),)
HTTP_ERRORS = {
    IngestError: (422, "Check the administrations"),
    BestInterestsError: (422, "Check the best-interests decision"),
    StaffInputError: (422, "Check the record"),
    NotYourHome: (403, "Not your care home"),
}
