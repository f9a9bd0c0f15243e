"""Security exceptions; the web layer maps each to one HTTP status with a readable reason."""


class NotAuthenticated(Exception):
    """No valid session or bearer token (401; pages redirect to sign-in)."""


class Forbidden(Exception):
    """The role lacks the activity (403)."""


class PatientNotFound(LookupError):
    """No patient with that NHS number in this ICS (404)."""


class PatientAccessDenied(Forbidden):
    """No legitimate relationship with this patient (403; the refusal is audited)."""
