"""Jinja environment: the NHS.UK frontend macros plus every domain's ``templates/`` folder."""

from __future__ import annotations

import importlib.util
import pkgutil
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import ChainableUndefined, ChoiceLoader, Environment, FileSystemLoader, PackageLoader

import ipmo
from ipmo.security.roles import Activity
from ipmo.web.csrf import csrf_field, csrf_value
from ipmo.web.dates import nhs_date, nhs_datetime, nhs_month

WEB_DIR = Path(__file__).parent


def _template_dirs() -> list[str]:
    dirs = [str(WEB_DIR / "templates")]
    for info in pkgutil.iter_modules(ipmo.__path__):
        path = Path(ipmo.__path__[0]) / info.name / "templates"
        if info.ispkg and info.name != "web" and path.is_dir():
            dirs.append(str(path))
    return dirs


def _environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader(
            [FileSystemLoader(_template_dirs()), PackageLoader("nhsuk_frontend_jinja", "templates")]
        ),
        undefined=ChainableUndefined,  # required by nhsuk-frontend-jinja
        autoescape=True,
    )
    env.filters["nhs_date"] = nhs_date
    env.filters["nhs_datetime"] = nhs_datetime
    env.filters["nhs_month"] = nhs_month
    env.filters["nhs_number"] = spaced_nhs_number
    env.globals["csrf_field"] = csrf_field  # every <form method="post"> renders it
    env.globals["csrf_value"] = csrf_value
    return env


def spaced_nhs_number(digits: str | None) -> str:
    """ "9990000018" → "999 000 0018", the way NHS numbers are written and read out."""
    text = digits or ""
    return f"{text[:3]} {text[3:6]} {text[6:]}" if len(text) == 10 and text.isdigit() else text


templates = Jinja2Templates(env=_environment())
assert importlib.util.find_spec("nhsuk_frontend_jinja") is not None


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
):
    principal = getattr(request.state, "principal", None)
    ctx = {
        "principal": principal,
        "org_name": getattr(request.state, "org_name", None) or getattr(principal, "org_code", ""),
        "navigation": navigation(request, principal),
    }
    ctx.update(context or {})
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)


# administration for the administrator, then one patient's care (what the day is spent on), then
# population work
NAV_ORDER = [
    Activity.USERS_ADMIN,  # only the administrator has these two: their work comes first
    Activity.AUDIT_VIEW,
    Activity.RECORD_VIEW,
    Activity.REVIEW_VIEW,
    Activity.REFERRAL_RECEIVE,
    Activity.REFERRAL_SEND,
    Activity.REFERRAL_VIEW,
    Activity.ANALYTICS_VIEW,
    Activity.PLAN_VIEW,
    Activity.WORKFORCE_VIEW,
]


REFERRALS_FIRST = [
    Activity.REFERRAL_SEND,
    Activity.REFERRAL_VIEW,
    Activity.REFERRAL_RECEIVE,
    *(a for a in NAV_ORDER if not a.value.startswith("referral.")),
]


def navigation(request: Request, principal: Any) -> list[dict[str, Any]]:
    """The header links for the signed-in role: every domain's NAV item whose activity the role
    has; the one whose address is the longest prefix of this page's is marked current."""
    if principal is None or request.url.path == "/":
        return []  # the home page's cards are the same links, described
    order = NAV_ORDER
    if not principal.can(Activity.RECORD_RECONCILE) and not principal.can(Activity.REVIEW_VIEW):
        # a role that sees a record only through its referrals (NHS 111): referring comes first
        order = REFERRALS_FIRST
    items = sorted(
        (n for n in getattr(request.app.state, "nav", []) if n.offered_to(principal)),
        key=lambda n: order.index(n.activity) if n.activity in order else len(order),
    )
    path = request.url.path
    matches = [n.href for n in items if path == n.href or path.startswith(n.href.rstrip("/") + "/")]
    current = max(matches, key=len, default=None)
    return [{"href": n.href, "text": n.title, "current": n.href == current} for n in items]
