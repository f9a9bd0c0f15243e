"""What the care-homes domain offers other domains, found by name (``ipmo.hooks``).

* ``REVIEW_FINDINGS`` — the review domain adds care-home residents' eMAR findings to the SMR
  worklist's reasons (care-home residents are a DES SMR cohort) and to the patient's review page.
* ``PLAN_METRICS`` — ``carehomes.<name>`` metrics (doses refused or omitted, residents with
  findings) for plan objectives.
"""

from __future__ import annotations

from ipmo.carehomes.evidence import worklist_reasons
from ipmo.carehomes.plan_metrics import CarehomeMetrics

REVIEW_FINDINGS = {"carehomes": worklist_reasons}
PLAN_METRICS = (CarehomeMetrics(),)
