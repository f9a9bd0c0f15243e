"""Evaluate rules for one patient in memory, returning findings with their evidence.

This is the direct-care path (``ipmo review check``, the patient review page). It interprets the
same expression trees that ``engine_sql`` compiles; a Hypothesis property test checks that both
give the same answers on generated populations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any as AnyT

from ipmo.review import expr as E
from ipmo.review.codelists import codes, kinds
from ipmo.review.doac import allowed_strengths, cockcroft_gault
from ipmo.review.drug_classes import CLASSES
from ipmo.review.facts import Issue, Obs, PatientFacts
from ipmo.review.products import ProductInfo, product_info

PRN = re.compile(r"\b(prn|as required|when required|as needed|if required)\b")
Evidence = list[dict[str, AnyT]]


def is_prn(dose_text: str | None) -> bool:
    return dose_text is not None and PRN.search(dose_text.lower()) is not None


def info(issue: Issue) -> ProductInfo:
    return product_info(issue.dmd_code, issue.name, issue.bnf_code, issue.vmp_code, issue.vtm_code)


def _issue_ev(i: Issue, what: str) -> dict[str, AnyT]:
    return {
        "type": "issue",
        "what": what,
        "dmd_code": i.dmd_code,
        "name": i.name,
        "date": i.issue_date.isoformat(),
    }


def _obs_ev(o: Obs) -> dict[str, AnyT]:
    return {
        "type": "observation",
        "code": o.code,
        "test": o.kind,
        "value": o.value,
        "unit": o.unit,
        "comparator": o.comparator,
        "date": o.effective_date.isoformat(),
    }


def _in(d: date, lo: date | None, hi: date) -> bool:
    return (lo is None or lo <= d) and d <= hi


def lab_satisfies(o: Obs, op: str, threshold: float, min_valid: float | None) -> bool:
    """One result against a threshold, with the comparator rules of ``expr.LabLatest``."""
    v, c = o.value, o.comparator
    if v is None or c == "~":
        return False
    if op in ("<", "<=") and c in (">", ">="):
        return False
    if op in (">", ">=") and c in ("<", "<="):
        return False
    if min_valid is not None and (v < min_valid or (c in ("<", "<=") and v <= min_valid)):
        return False
    return {"<": v < threshold, "<=": v <= threshold, ">": v > threshold, ">=": v >= threshold}[op]


@dataclass
class Context:
    facts: PatientFacts
    t: date
    _memo: dict[E.Expr, tuple[bool, Evidence]] = field(default_factory=dict)

    @cached_property
    def issues(self) -> list[tuple[Issue, ProductInfo]]:
        return [(i, info(i)) for i in self.facts.issues if i.issue_date <= self.t]

    def of_class(self, cls: str, w: E.Window, regular_only: bool = False) -> list[Issue]:
        lo, hi = w.bounds(self.t)
        return [
            i
            for i, p in self.issues
            if cls in p.classes
            and _in(i.issue_date, lo, hi)
            and not (regular_only and is_prn(i.dose_text))
        ]

    def in_window(self, w: E.Window) -> list[tuple[Issue, ProductInfo]]:
        lo, hi = w.bounds(self.t)
        return [(i, p) for i, p in self.issues if _in(i.issue_date, lo, hi)]

    def events(self, codeset: str, w: E.Window, unresolved: bool = False):
        lo, hi = w.bounds(self.t)
        cs, ks = codes(codeset), kinds(codeset)
        out: list[tuple[date, dict[str, AnyT]]] = []
        for e in self.facts.events:
            if e.code in cs and _in(e.when, lo, hi):
                if unresolved and e.resolved_date is not None and e.resolved_date <= self.t:
                    continue
                out.append(
                    (
                        e.when,
                        {
                            "type": "condition",
                            "code": e.code,
                            "term": e.term,
                            "date": e.onset_date.isoformat() if e.onset_date else None,
                        },
                    )
                )
        for o in self.facts.observations:
            if (o.code in cs or o.kind in ks) and _in(o.effective_date, lo, hi):
                out.append((o.effective_date, _obs_ev(o)))
        return out

    def obs(self, testset: str, w: E.Window) -> list[Obs]:
        lo, hi = w.bounds(self.t)
        cs, ks = codes(testset), kinds(testset)
        return [
            o
            for o in self.facts.observations
            if (o.code in cs or o.kind in ks) and _in(o.effective_date, lo, hi)
        ]


def evaluate(e: E.Expr, ctx: Context) -> tuple[bool, Evidence]:
    if e not in ctx._memo:
        ctx._memo[e] = _eval(e, ctx)
    return ctx._memo[e]


def _absent(what: str) -> Evidence:
    return [{"type": "absent", "what": what}]


def _eval(e: E.Expr, ctx: Context) -> tuple[bool, Evidence]:  # noqa: C901 - one case per node
    t = ctx.t
    match e:
        case E.All(parts):
            ev: Evidence = []
            for p in parts:
                ok, pe = evaluate(p, ctx)
                if not ok:
                    return False, []
                ev += pe
            return True, ev
        case E.Any(parts):
            ev, hit = [], False
            for p in parts:
                ok, pe = evaluate(p, ctx)
                if ok:
                    hit, ev = True, ev + pe
            return hit, ev
        case E.Not(part):
            ok, _ = evaluate(part, ctx)
            return (not ok), ([] if ok else _absent(describe(part)))
        case E.Const(value):
            return value, []
        case E.Issued(cls, w, n, regular):
            found = ctx.of_class(cls, w, regular)
            return len(found) >= n, [_issue_ev(i, CLASSES[cls].title) for i in found]
        case E.IssueSpan(cls, w, days):
            found = ctx.of_class(cls, w)
            if not found:
                return False, []
            dates = [i.issue_date for i in found]
            ok = (max(dates) - min(dates)).days >= days
            return ok, [_issue_ev(i, CLASSES[cls].title) for i in found]
        case E.DistinctSubstances(cls, w, n, regular):
            lo, hi = w.bounds(t)
            in_class = [
                (i, p)
                for i, p in ctx.issues
                if cls in p.classes
                and _in(i.issue_date, lo, hi)
                and not (regular and is_prn(i.dose_text))
            ]
            ok = len({p.substance_key for _, p in in_class}) >= n
            return ok, [_issue_ev(i, CLASSES[cls].title) for i, _ in in_class]
        case E.CoIssued(a, b, w, gap):
            xs, ys = ctx.of_class(a, w), ctx.of_class(b, w)
            pairs = [
                (x, y) for x in xs for y in ys if abs((x.issue_date - y.issue_date).days) < gap
            ]
            if not pairs:
                return False, []
            x, y = min(pairs, key=lambda p: abs((p[0].issue_date - p[1].issue_date).days))
            return True, [_issue_ev(x, CLASSES[a].title), _issue_ev(y, CLASSES[b].title)]
        case E.MedicineCount(w, n):
            counted = [(i, p) for i, p in ctx.in_window(w) if p.counts_for_polypharmacy]
            keys = {p.substance_key for _, p in counted}
            return len(keys) >= n, [
                {"type": "medicine_count", "value": len(keys), "window": w.describe()}
            ]
        case E.AcbTotal(w, threshold):
            ingredients = {ing for _, p in ctx.in_window(w) for ing in p.acb}
            total = sum(s for _, s in ingredients)
            return total >= threshold, [
                {"type": "acb", "total": total, "ingredients": sorted(ingredients)}
            ]
        case E.AcbCount(w, min_score, n):
            ingredients = {ing for _, p in ctx.in_window(w) for ing in p.acb if ing[1] >= min_score}
            return len(ingredients) >= n, [{"type": "acb", "ingredients": sorted(ingredients)}]
        case E.HasEvent(codeset, w, unresolved, n):
            found = ctx.events(codeset, w, unresolved)
            return len(found) >= n, [ev for _, ev in found]
        case E.LatestNotResolved(present, resolved, present_end):
            coded = ctx.events(present, E.Window(None, present_end))
            if not coded:
                return False, []
            latest_p = max(d for d, _ in coded)
            r = ctx.events(resolved, E.EVER)
            if r and max(d for d, _ in r) >= latest_p:
                return False, []
            return True, [ev for d, ev in coded if d == latest_p]
        case E.TestDone(testset, w):
            tests = ctx.obs(testset, w)
            return bool(tests), [_obs_ev(o) for o in tests]
        case E.LabLatest(testset, w, op, threshold, min_valid):
            results = [o for o in ctx.obs(testset, w) if o.value is not None]
            if not results:
                return False, []
            latest = max(o.effective_date for o in results)
            hits = [
                o
                for o in results
                if o.effective_date == latest and lab_satisfies(o, op, threshold, min_valid)
            ]
            return bool(hits), [_obs_ev(o) for o in hits]
        case E.AgeBetween(min_age, max_age):
            age = ctx.facts.age(t)
            return min_age <= age <= max_age, [{"type": "age", "value": age}]
        case E.SexIs(sex):
            return ctx.facts.sex == sex, []
        case E.CareHome():
            if ctx.facts.care_home:
                return True, [{"type": "care_home", "what": "registered at a care home"}]
            coded = ctx.events("carehome", E.EVER)
            return bool(coded), [ev for _, ev in coded]
        case E.Admitted(w, falls_only):
            lo, hi = w.bounds(t)
            stays = [
                a
                for a in ctx.facts.admissions
                if _in(a.admitted_on, lo, hi) and (a.is_fall or not falls_only)
            ]
            return bool(stays), [
                {"type": "admission", "date": a.admitted_on.isoformat(), "fall": a.is_fall}
                for a in stays
            ]
        case E.DoacDoseMismatch(w, lab_w):
            return _doac(ctx, w, lab_w)
    raise TypeError(f"unknown expression {e!r}")


def latest_numeric(ctx: Context, testset: str, w: E.Window, pick=max) -> Obs | None:
    """Latest usable (numeric, no comparator) value; ties broken by ``pick`` on the value."""
    found = [o for o in ctx.obs(testset, w) if o.value is not None and not o.comparator]
    if not found:
        return None
    latest = max(o.effective_date for o in found)
    return pick((o for o in found if o.effective_date == latest), key=lambda o: o.value)


def _doac(ctx: Context, w: E.Window, lab_w: E.Window) -> tuple[bool, Evidence]:
    current = ctx.in_window(w)
    doacs = [(i, p) for i, p in current if p.doac and p.strength_mg]
    if not doacs:
        return False, []
    creat = latest_numeric(ctx, "creatinine", lab_w, max)  # conservative: highest creatinine
    weight_obs = latest_numeric(ctx, "weight", lab_w, min)  # conservative: lowest weight
    weight = weight_obs.value if weight_obs else ctx.facts.weight_kg
    cr = creat.value if creat is not None and creat.value is not None else None
    age = ctx.facts.age(ctx.t)
    crcl = None
    if weight is not None and cr is not None and cr > 0:
        crcl = cockcroft_gault(age, weight, cr, ctx.facts.sex)
    labs = crcl is not None
    # SmPC interacting drugs issued in the same window (doac.py)
    pgp = [(i, p) for i, p in current if "edoxaban_pgp_inhibitor" in p.classes]
    verapamil = [(i, p) for i, p in current if "verapamil" in p.classes]
    latest = max(i.issue_date for i, _ in doacs)
    bad = []
    for i, p in doacs:
        if i.issue_date != latest:
            continue
        allowed = allowed_strengths(
            p.doac or "",
            age,
            weight if labs else None,
            cr if labs else None,
            crcl,
            edoxaban_pgp_inhibitor=bool(pgp),
            verapamil=bool(verapamil),
        )
        if allowed is not None and p.strength_mg not in allowed:
            bad.append((i, p))
    if not bad:
        return False, []
    ev = [_issue_ev(i, f"{p.doac} {p.strength_mg:g} mg") for i, p in bad]
    substances = {p.doac for _, p in bad}
    if "edoxaban" in substances:
        ev += [_issue_ev(i, "interacting drug (Lixiana SmPC 4.2)") for i, _ in pgp]
    if "dabigatran" in substances:
        ev += [_issue_ev(i, "interacting drug (Pradaxa SmPC 4.2)") for i, _ in verapamil]
    if labs:
        ev.append(
            {
                "type": "calculation",
                "what": "Cockcroft–Gault creatinine clearance",
                "crcl_ml_min": round(crcl or 0.0, 1),
                "age": age,
                "weight_kg": weight,
                "creatinine_umol_l": round(cr or 0.0, 1),
            }
        )
    return True, ev


def describe(e: E.Expr) -> str:
    """Short human text of a node, used for "absent" evidence and pharmacist-facing reasons."""
    match e:
        case E.Issued(cls, w, _, _) | E.IssueSpan(cls, w, _):
            return f"{CLASSES[cls].title} issued {w.describe()}"
        case E.TestDone(testset, w):
            return f"{testset.removeprefix('pincer_')} test {w.describe()}"
        case E.HasEvent(codeset, w, _, _):
            return f"{codeset} code {w.describe()}"
        case E.Any(parts) | E.All(parts):
            return " / ".join(describe(p) for p in parts)
        case E.Not(part):
            return f"not ({describe(part)})"
    return type(e).__name__
