"""What the referrals domain offers other domains, found by name (``ipmo.hooks``).

* ``PHARMACY_ACTIVITY_FIGURES`` — ``activity_figures(session, by=…, month=…)``: referral counts,
  outcomes and median times per pharmacy and month (the workforce service evaluation reads them).
"""

from __future__ import annotations

from ipmo.referrals.figures import activity_figures

PHARMACY_ACTIVITY_FIGURES = activity_figures
