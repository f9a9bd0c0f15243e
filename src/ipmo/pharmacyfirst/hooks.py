"""What the Pharmacy First domain offers other domains, found by name (``ipmo.hooks``).

* ``PHARMACY_FIRST_CONSULTATIONS`` — ``consultation_rows(session, month=None, org_codes=None)``:
  one dict per consultation (no patient identifiers; fields ``figures.ROW_FIELDS``): kind
  (clinical-pathway / urgent-supply), channel, referral reference, pharmacy, month, pathway and
  its version, gateway passed, outcome (the referrals vocabulary), no-supply reason, items
  supplied / not supplied.
* ``PHARMACY_FIRST_FIGURES`` — ``consultation_figures(session, month=None, org_codes=None)``:
  ``{(pharmacy, "YYYY-MM"): {consultations, completed, items_supplied, no_supply, …}}``, the
  same rows summed (definitions in :mod:`ipmo.pharmacyfirst.figures`).
"""

from __future__ import annotations

from ipmo.pharmacyfirst.figures import consultation_figures, consultation_rows

PHARMACY_FIRST_CONSULTATIONS = consultation_rows
PHARMACY_FIRST_FIGURES = consultation_figures
