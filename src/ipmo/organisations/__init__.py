"""Organisations of the ICS (ODS codes, kinds, hierarchy, pharmacy services): part of the spine.

Published names (other packages import only these): :class:`Organisation`, :class:`OrgKind`,
:class:`PharmacyService` and
:data:`SERVICE_LABELS` (the services' names people read).
"""

from ipmo.organisations.models import (
    SERVICE_LABELS,
    Organisation,
    OrgKind,
    PharmacyService,
)

__all__ = [
    "SERVICE_LABELS",
    "OrgKind",
    "Organisation",
    "PharmacyService",
]
