"""The one cross-domain mechanism (``ipmo.hooks``): modules and values found by name."""

from __future__ import annotations

import sys
import types

import pytest

import ipmo
from ipmo import hooks


def test_plan_metrics_are_offered_by_the_domains_that_have_them():
    prefixes = [p.prefix for offered in hooks.offered("PLAN_METRICS") for p in offered]
    assert sorted(prefixes) == ["analytics", "carehomes", "review", "services", "workforce"]


def test_a_name_no_domain_offers_is_empty():
    assert hooks.offered("NO_SUCH_HOOK") == []
    assert hooks.offered_map("NO_SUCH_HOOK") == {}


def test_proposal_outcomes_reach_the_review_domain():
    from ipmo.review.service import proposal_outcome

    assert hooks.offered_map("PROPOSAL_OUTCOMES") == {"review-intervention": proposal_outcome}


def test_referral_activity_figures_are_offered_to_workforce():
    from ipmo.referrals.figures import activity_figures

    assert hooks.offered("PHARMACY_ACTIVITY_FIGURES") == [activity_figures]


def test_a_key_offered_twice_is_an_error(monkeypatch):
    one = types.SimpleNamespace(__name__="ipmo.a.hooks", OUTCOMES={"x": 1})
    two = types.SimpleNamespace(__name__="ipmo.b.hooks", OUTCOMES={"x": 2, "y": 3})
    monkeypatch.setattr(hooks, "_hook_modules", lambda: (one, two))
    with pytest.raises(hooks.HookError, match=r"OUTCOMES\['x'\].*ipmo.b.hooks"):
        hooks.offered_map("OUTCOMES")


def test_domain_modules_skip_packages_without_one_and_raise_on_a_broken_one(tmp_path, monkeypatch):
    for name, body in {
        "zz_fine": "VALUE = 1\n",
        "zz_broken": "import ipmo_no_such_module_anywhere\n",
    }.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("")
        (tmp_path / name / "probe.py").write_text(body)
    (tmp_path / "zz_without").mkdir()
    (tmp_path / "zz_without" / "__init__.py").write_text("")
    monkeypatch.setattr(ipmo, "__path__", [*ipmo.__path__, str(tmp_path)])
    for name in ("zz_fine", "zz_broken", "zz_without"):
        monkeypatch.delitem(sys.modules, f"ipmo.{name}", raising=False)
        monkeypatch.delitem(sys.modules, f"ipmo.{name}.probe", raising=False)

    found = hooks.domain_modules("probe", exclude=("zz_broken",))
    assert [m.__name__ for m in found] == ["ipmo.zz_fine.probe"]  # zz_without has none
    # an import error inside a found module is not "not offered": it propagates
    with pytest.raises(ModuleNotFoundError, match="ipmo_no_such_module_anywhere"):
        hooks.domain_modules("probe")


def test_every_published_name_of_every_package_resolves():
    """A package's ``__all__`` is its published face: each name must be there (eagerly or through
    ``published_later``), so a module moved away cannot leave a dangling name behind."""
    import importlib
    import pkgutil

    checked = 0
    for info in pkgutil.iter_modules(ipmo.__path__):
        if not info.ispkg:
            continue
        package = importlib.import_module(f"ipmo.{info.name}")
        for name in getattr(package, "__all__", ()):
            assert getattr(package, name) is not None, f"ipmo.{info.name}.{name}"
            checked += 1
    assert checked >= 30  # the faces of analytics, plans, records, review, patients, …


def test_a_name_published_later_loads_on_use_and_others_are_attribute_errors():
    getter = hooks.published_later({"offered_map": "ipmo.hooks"})
    assert getter("offered_map") is hooks.offered_map
    with pytest.raises(AttributeError):
        getter("not_published")
