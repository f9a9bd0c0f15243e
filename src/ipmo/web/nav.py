"""Navigation items a domain offers on the home page and in the header: shown only to roles
with the activity and, where an item names the roles it serves, only to those roles (a page a
role may open but that would be empty or beside the point for its work is not offered)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ipmo.security.roles import Activity, Role


class _Principal(Protocol):
    @property
    def role(self) -> Role: ...

    def can(self, activity: Activity) -> bool: ...


@dataclass(frozen=True)
class NavItem:
    title: str
    href: str
    activity: Activity
    description: str = ""
    # role codes that have a use for the item; empty: every role with the activity
    roles: frozenset[str] = frozenset()

    def offered_to(self, principal: _Principal) -> bool:
        return principal.can(self.activity) and (
            not self.roles or principal.role.code in self.roles
        )
