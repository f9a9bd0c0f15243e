"""Administration (issue 14): user management in the development identity provider for the
admin role (create, disable, change role, reset password, revoke sessions and tokens) and the
audit log viewer for the roles allowed to read it (filters, verifying the MAC chain from the
page). Every administrative act writes an audit entry (``admin.*``) in ``actions.py``."""
