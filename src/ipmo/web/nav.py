"""Navigation items a domain offers on the home page (shown only to roles with the activity)."""

from __future__ import annotations

from dataclasses import dataclass

from ipmo.security.roles import Activity


@dataclass(frozen=True)
class NavItem:
    title: str
    href: str
    activity: Activity
    description: str = ""
