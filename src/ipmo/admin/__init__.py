"""Administration (issue 14): user management in the development identity provider for the
admin role (create, disable, change role, reset password, revoke sessions and tokens) and the
audit log viewer for the roles allowed to read it (filters, verifying the MAC chain from the
page). Every administrative act writes an audit entry (``admin.*``) in ``actions.py``.

Published names: :class:`UserNotFound` (its HTTP status is in the web app's one error table,
``ipmo.web.errors``); loaded on first use.
"""

from typing import TYPE_CHECKING

from ipmo.hooks import published_later

if TYPE_CHECKING:
    from ipmo.admin.actions import UserNotFound

__all__ = ["UserNotFound"]
__getattr__ = published_later({"UserNotFound": "ipmo.admin.actions"})
