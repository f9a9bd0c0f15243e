"""Prepare the demo store once (cached in the data folder) and say how to sign in.

Steps, each skipped when already done: migrate the store; load the starter dm+d dictionary; generate
the synthetic ICS (``ipmo synth --size demo``); run every domain's ``demo.populate(engine, seed)``
hook (referral streams, workforce …); create one demo user per role.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, func, select

from ipmo.config import Settings
from ipmo.hooks import domain_modules
from ipmo.organisations import Organisation
from ipmo.security.users import DEMO_PASSWORD, DEMO_USERS, seed_demo_users
from ipmo.store import session_scope
from ipmo.synth import generate
from ipmo.terminology import load_starter_dictionary

Say = Callable[[str], None]


def _domain_hooks() -> list:
    return [m for m in domain_modules("demo", exclude=("demo", "synth")) if hasattr(m, "populate")]


def already_prepared(marker: Path, store: str, has_orgs: bool) -> dict | None:
    """What the data folder's marker says was prepared, if it speaks for this store: the same
    folder with another ``IPMO_DATABASE_URL``, or an emptied store, is prepared again (a
    PostgreSQL store beside a SQLite demo's folder was left empty, and every sign-in failed)."""
    if not marker.exists() or not has_orgs:
        return None
    info = json.loads(marker.read_text())
    return info if info.get("store", store) == store else None


def prepare_demo(
    engine: Engine, settings: Settings, size: str = "demo", seed: int = 1, say: Say = print
) -> dict:
    marker = settings.data_dir / "demo.json"
    store = engine.url.render_as_string(hide_password=True)
    with session_scope(engine) as s:
        has_orgs = (s.scalar(select(func.count(Organisation.id))) or 0) > 0
    info = already_prepared(marker, store, has_orgs)
    if info is not None:
        say(
            f"Using the demo ICS already generated in {settings.data_dir} "
            f"({info['size']}, seed {info['seed']})."
        )
        return info
    started = time.perf_counter()
    steps: dict[str, object] = {}
    say("Loading the starter dm+d dictionary …")
    with session_scope(engine) as s:
        steps["dictionary"] = str(load_starter_dictionary(s))
    if not has_orgs:
        say(f"Generating the synthetic ICS (size {size}, seed {seed}) …")
        steps["synth"] = str(generate(engine, size=size, seed=seed, progress=True))
    for module in _domain_hooks():
        say(f"Populating {module.__name__.split('.')[1]} …")
        steps[module.__name__] = str(module.populate(engine, seed))
    with session_scope(engine) as s:
        seed_demo_users(s)
    info = {
        "size": size,
        "seed": seed,
        "store": store,
        "seconds": round(time.perf_counter() - started, 1),
    }
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(info, indent=2))
    return info


def demo_logins() -> list[tuple[str, str, str]]:
    return [(username, DEMO_PASSWORD, name) for username, name, _role, _kind in DEMO_USERS]
