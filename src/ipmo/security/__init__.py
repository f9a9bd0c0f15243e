"""Security spine: identity, roles → activities, legitimate relationships and the audit log.

Import what a domain needs from here::

    from ipmo.security import Activity, Principal
    from ipmo.security.access import check_patient_access, audit_event
    from ipmo.web.deps import require  # the FastAPI dependency lives with the web kit

(The spine never imports the web layer, so ``require`` is not re-exported here.)
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
]
