"""Pharmacy First: the seven clinical pathways as versioned data, the pharmacist's consultation
(for referrals and walk-ins), urgent medicine supply, the Update Record back to the GP practice,
and claim readiness.

Other domains use what ``hooks.py`` offers (consultation rows and figures). Published names: the
use cases' errors (:class:`ConsultationError`, :class:`UnknownPathway`,
:class:`ConsultationNotFound`, :class:`ConsultationConflict`), whose HTTP statuses are in the web
app's one table (``ipmo.web.errors``); loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ipmo.hooks import published_later

if TYPE_CHECKING:
    from ipmo.pharmacyfirst.pathways import UnknownPathway
    from ipmo.pharmacyfirst.service import (
        ConsultationConflict,
        ConsultationError,
        ConsultationNotFound,
    )

__all__ = ["ConsultationConflict", "ConsultationError", "ConsultationNotFound", "UnknownPathway"]
__getattr__ = published_later(
    dict.fromkeys(
        ["ConsultationConflict", "ConsultationError", "ConsultationNotFound"],
        "ipmo.pharmacyfirst.service",
    )
    | {"UnknownPathway": "ipmo.pharmacyfirst.pathways"}
)
