"""Organisations of the ICS (ODS codes, kinds, hierarchy, pharmacy services): part of the spine.

Published names (other packages import only these): :class:`Organisation`, :class:`OrgKind`,
:class:`PharmacyService`.
"""

from ipmo.organisations.models import Organisation, OrgKind, PharmacyService

__all__ = ["OrgKind", "Organisation", "PharmacyService"]
