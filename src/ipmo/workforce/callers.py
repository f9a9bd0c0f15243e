"""Who may call the workforce routes: the activity each class of page and API route requires."""

from ipmo.security import Activity
from ipmo.web.deps import caller

VIEW = caller(Activity.WORKFORCE_VIEW)
DETAIL = caller(Activity.WORKFORCE_DETAIL)
EDIT = caller(Activity.WORKFORCE_EDIT)
ANALYTICS = caller(Activity.ANALYTICS_VIEW)
