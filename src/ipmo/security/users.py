"""User accounts and the development identity provider.

In production ipmo would sit behind NHS CIS2 (OpenID Connect); the development provider here signs
users in with a username and password and gives them the same :class:`Principal` CIS2 would.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ipmo.organisations.models import Organisation, OrgKind
from ipmo.security.errors import NotAuthenticated
from ipmo.security.models import User
from ipmo.security.passwords import hash_password, verify_password
from ipmo.security.principal import Principal
from ipmo.security.roles import get_role
from ipmo.security.tokens import InvalidToken, read_token

DEMO_PASSWORD = "demo-password"

# username, display name, role, kind of organisation the demo user works for
DEMO_USERS: list[tuple[str, str, str, str]] = [
    ("pcn.pharmacist", "Priya Shah (PCN pharmacist)", "pcn-pharmacist", OrgKind.PCN),
    (
        "community.pharmacist",
        "Tom Ellis (community pharmacist)",
        "community-pharmacist",
        OrgKind.PHARMACY,
    ),
    (
        "hospital.pharmacist",
        "Grace Okafor (hospital pharmacist)",
        "hospital-pharmacist",
        OrgKind.TRUST,
    ),
    ("gp", "Dr Alan Moore (GP)", "gp", OrgKind.PRACTICE),
    ("nhs111", "Sam Reid (NHS 111 clinician)", "nhs111-clinician", OrgKind.NHS111),
    ("carehome", "Jo Baker (care-home staff)", "care-home-staff", OrgKind.CARE_HOME),
    ("analyst", "Lee Chan (ICS analyst)", "ics-analyst", OrgKind.ICB),
    ("workforce.lead", "Ana Silva (ICS workforce lead)", "ics-workforce-lead", OrgKind.ICB),
    (
        "safety.officer",
        "Mo Hussain (ICS medicines safety officer)",
        "ics-medicines-safety",
        OrgKind.ICB,
    ),
    ("admin", "Admin (system administrator)", "admin", OrgKind.ICB),
]


class UserError(ValueError):
    pass


def create_user(
    session: Session,
    username: str,
    display_name: str,
    role_code: str,
    org_code: str,
    password: str,
    *,
    password_hash: str | None = None,
) -> User:
    get_role(role_code)  # ValueError for an unknown role
    if session.scalar(select(Organisation.id).where(Organisation.ods_code == org_code)) is None:
        raise UserError(f"unknown organisation code {org_code!r}")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise UserError(f"user {username!r} already exists")
    user = User(
        username=username,
        display_name=display_name,
        role_code=role_code,
        org_code=org_code,
        password_hash=password_hash or hash_password(password),
    )
    session.add(user)
    session.flush()
    return user


def seed_demo_users(session: Session, password: str = DEMO_PASSWORD) -> list[User]:
    """One demo user per role, each at the first organisation of the right kind (by ODS code)."""
    created = []
    shared_hash = hash_password(password)  # one scrypt for all demo users: they share a password
    for username, name, role, kind in DEMO_USERS:
        if session.scalar(select(User.id).where(User.username == username)):
            continue
        org = session.scalar(
            select(Organisation.ods_code)
            .where(Organisation.kind == kind)
            .order_by(Organisation.ods_code)
        )
        if org is None:
            continue
        user = create_user(session, username, name, role, org, password, password_hash=shared_hash)
        created.append(user)
    return created


def authenticate(session: Session, username: str, password: str) -> Principal:
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active or not verify_password(password, user.password_hash):
        raise NotAuthenticated("unknown username or wrong password")
    return Principal.from_user(user)


def principal_for_user_id(session: Session, user_id: int, generation: int) -> Principal:
    user = session.get(User, user_id)
    if user is None or not user.active or user.token_generation != generation:
        raise NotAuthenticated("session or token revoked")
    return Principal.from_user(user)


def organisation_name(session: Session, ods_code: str) -> str:
    """The organisation's name for the page header (the ODS code if it is not known)."""
    name = session.scalar(select(Organisation.name).where(Organisation.ods_code == ods_code))
    return name or ods_code


def principal_from_token(session: Session, secret: str, token: str, ttl: int) -> Principal:
    try:
        user_id, generation = read_token(secret, token, ttl)
    except InvalidToken as exc:
        raise NotAuthenticated(str(exc)) from None
    return principal_for_user_id(session, user_id, generation)
