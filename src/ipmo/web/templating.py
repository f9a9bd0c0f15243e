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
from ipmo.web.dates import nhs_date, nhs_datetime

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
    return env


templates = Jinja2Templates(env=_environment())
assert importlib.util.find_spec("nhsuk_frontend_jinja") is not None


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
):
    ctx = {"principal": getattr(request.state, "principal", None)}
    ctx.update(context or {})
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)
