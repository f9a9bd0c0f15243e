"""The referrals domain's errors. The web app maps each to its HTTP status and title in one
table (``ipmo.web.errors``); the messages are sentences a user can act on."""

from __future__ import annotations


class ReferralError(ValueError):
    """Bad input for a referral (HTTP 422); nothing is written. ``field`` names the form field
    at fault, when there is one (the page links its error summary to it)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NoRelationship(ReferralError):
    """The sender has no relationship with the patient and gave no reason, or a DMS referral
    without an admission to the sender's trust (HTTP 422; the refusal is audited). A number not
    in this ICS gets the same error."""

    def __init__(self, message: str, nhs_number: str | None, audit_reason: str) -> None:
        super().__init__(message, "no_relationship_reason")
        self.nhs_number = nhs_number
        self.audit_reason = audit_reason


class ReferralConflict(Exception):
    """Somebody else changed the referral first, or it is in the wrong state (HTTP 409)."""


class ReferralNotFound(LookupError):
    """No such referral (HTTP 404)."""


class NotInvolved(PermissionError):
    """The user's organisation is not the one that may do this (HTTP 403)."""
