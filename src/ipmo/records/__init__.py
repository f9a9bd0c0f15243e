"""The One Medication Record: source lists in, reconciled record out, proposed changes.

Published names (other domains import only these; loaded on first use, so importing the package
does not load the reconciliation): :func:`current_medications` (the current list on a day, e.g.
for a referral) and :func:`propose_change` (a change another domain proposes on the record,
audited; its outcome comes back through that domain's ``PROPOSAL_OUTCOMES`` hook);
:func:`record_pharmacy_supply` with :class:`PharmacySupply` (a medicine a community pharmacy
supplied, added to the record as a pharmacy source, audited) and
:func:`withdraw_pharmacy_supplies` (supplies the pharmacy withdrew, taken out again, audited).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ipmo.hooks import published_later

if TYPE_CHECKING:
    from ipmo.records.service import current_medications, propose_change
    from ipmo.records.supplies import (
        PharmacySupply,
        record_pharmacy_supply,
        withdraw_pharmacy_supplies,
    )

__all__ = [
    "PharmacySupply",
    "current_medications",
    "propose_change",
    "record_pharmacy_supply",
    "withdraw_pharmacy_supplies",
]
__getattr__ = published_later(
    dict.fromkeys(["current_medications", "propose_change"], "ipmo.records.service")
    | dict.fromkeys(
        ["PharmacySupply", "record_pharmacy_supply", "withdraw_pharmacy_supplies"],
        "ipmo.records.supplies",
    )
)
