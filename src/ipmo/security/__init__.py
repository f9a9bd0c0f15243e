"""Security spine: identity, roles → activities, legitimate relationships and the audit log.

Import what a domain needs from here::

    from ipmo.security import Activity, Principal, require
    from ipmo.security.access import check_patient_access, audit_event
"""

from ipmo.security.errors import Forbidden, NotAuthenticated, PatientAccessDenied, PatientNotFound
from ipmo.security.principal import Principal
from ipmo.security.roles import ROLES, Activity, Role

__all__ = [
    "Activity",
    "Forbidden",
    "NotAuthenticated",
    "PatientAccessDenied",
    "PatientNotFound",
    "Principal",
    "ROLES",
    "Role",
    "require",
]


def __getattr__(name: str):
    # `require` is a FastAPI dependency; import lazily so CLI-only code does not load the web stack
    if name == "require":
        from ipmo.web.deps import require

        return require
    raise AttributeError(name)
