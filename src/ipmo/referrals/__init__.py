"""Referrals between organisations (BaRS messaging, lifecycle, routing, outbox, DMS).

Published names (other domains import only these; loaded on first use): the outcome vocabulary
:class:`Outcome`, :class:`NoSupplyReason` and :class:`EscalateTo` (one vocabulary for every
pharmacy outcome: the Pharmacy First consultations use it too); :func:`read` (open a referral the
user's organisation is party to, audited) and :func:`record_outcome` (complete it with its
outcome, a :class:`ReferralOutcome`, access-checked, audited and version-checked) — both from
``actions``; ``LABELS``
(what people read for each code); the use cases' errors (:class:`ReferralError`,
:class:`NotInvolved`, :class:`ReferralConflict`, :class:`ReferralNotFound`: their HTTP statuses
are in the web app's one table, ``ipmo.web.errors``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ipmo.hooks import published_later

if TYPE_CHECKING:
    from ipmo.referrals.actions import read, record_outcome
    from ipmo.referrals.errors import NotInvolved, ReferralConflict, ReferralError, ReferralNotFound
    from ipmo.referrals.labels import LABELS
    from ipmo.referrals.lifecycle import EscalateTo, NoSupplyReason, Outcome
    from ipmo.referrals.outcome_details import ReferralOutcome

__all__ = [
    "LABELS",
    "EscalateTo",
    "NoSupplyReason",
    "NotInvolved",
    "Outcome",
    "ReferralConflict",
    "ReferralError",
    "ReferralNotFound",
    "ReferralOutcome",
    "read",
    "record_outcome",
]
__getattr__ = published_later(
    dict.fromkeys(["EscalateTo", "NoSupplyReason", "Outcome"], "ipmo.referrals.lifecycle")
    | dict.fromkeys(["read", "record_outcome"], "ipmo.referrals.actions")
    | {"LABELS": "ipmo.referrals.labels", "ReferralOutcome": "ipmo.referrals.outcome_details"}
    | dict.fromkeys(
        ["NotInvolved", "ReferralConflict", "ReferralError", "ReferralNotFound"],
        "ipmo.referrals.errors",
    )
)
