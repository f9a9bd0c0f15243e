"""Who is acting: the user, their role and the organisation they act for."""

from __future__ import annotations

from dataclasses import dataclass

from ipmo.security.roles import Activity, Role, get_role


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    display_name: str
    role: Role
    org_code: str

    @property
    def activities(self) -> frozenset[Activity]:
        return self.role.activities

    def can(self, activity: Activity) -> bool:
        return activity in self.role.activities

    @classmethod
    def from_user(cls, user) -> Principal:
        return cls(
            user.id, user.username, user.display_name, get_role(user.role_code), user.org_code
        )
