"""Who may see the medicines dashboard: every analytics route and page needs ``analytics.view``
(population figures only; no patient-level data leaves the analytics zone)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from ipmo.security import Activity, Principal
from ipmo.web.deps import require
from ipmo.web.nav import NavItem

Analyst = Annotated[Principal, Depends(require(Activity.ANALYTICS_VIEW))]


@dataclass
class Selection:
    """What an overview is filtered by (query parameters): the organisation level, the
    organisation and the measures' origin (openprescribing | ipmo | ics; empty: all)."""

    org_type: str = "icb"
    org_code: str = ""
    origin: str = ""


Selected = Annotated[Selection, Depends()]


def nav_item(title: str, href: str, hint: str) -> NavItem:
    """A home-page link to an analytics page, shown to users who may see the dashboard."""
    return NavItem(title, href, Activity.ANALYTICS_VIEW, hint)
