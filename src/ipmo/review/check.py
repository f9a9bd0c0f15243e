"""Check one patient: every rule, with evidence, plus the ACB total, medicine count and SMR
priority. The direct-care entry point behind ``ipmo review check`` and the patient page."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from ipmo.review.engine_python import Context, evaluate
from ipmo.review.expr import last
from ipmo.review.facts import PatientFacts
from ipmo.review.params import DEFAULT, Params
from ipmo.review.rules import Rule, all_rules
from ipmo.review.worklist import priority


@dataclass
class Finding:
    rule_id: str
    title: str
    family: str
    source: str
    evidence: list[dict[str, Any]]
    kind: str = "flag"


@dataclass
class CheckResult:
    as_of: date
    findings: list[Finding]
    prompts: list[Finding]
    acb_total: int
    medicine_count: int
    smr_priority: int
    smr_reasons: list[str]
    smr_cohort: bool
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["as_of"] = self.as_of.isoformat()
        return out


def fired(facts: PatientFacts, as_of: date, params: Params = DEFAULT) -> list[tuple[Rule, list]]:
    """Rules whose denominator and criteria hold, with evidence (both parts)."""
    ctx = Context(facts, as_of)
    out = []
    for r in all_rules(params):
        ok_d, ev_d = evaluate(r.denominator, ctx)
        if not ok_d:
            continue
        ok, ev = evaluate(r.criteria, ctx)
        if ok:
            out.append((r, ev_d + ev))
    return out


def acb_total(facts: PatientFacts, as_of: date, params: Params = DEFAULT) -> tuple[int, int]:
    """(ACB total, unique medicine count) over the active window."""
    ctx = Context(facts, as_of)
    lo, hi = last(params.active_months).bounds(as_of)
    active = [p for i, p in ctx.issues if (lo is None or lo <= i.issue_date) and i.issue_date <= hi]
    total = sum(s for _, s in {ing for p in active for ing in p.acb})
    lo, hi = last(params.polypharmacy_months).bounds(as_of)
    meds = {
        p.substance_key
        for i, p in ctx.issues
        if (lo is None or lo <= i.issue_date) and i.issue_date <= hi and p.counts_for_polypharmacy
    }
    return total, len(meds)


def check(
    facts: PatientFacts, as_of: date, params: Params = DEFAULT, warnings: list[str] | None = None
) -> CheckResult:
    hits = fired(facts, as_of, params)
    findings = [Finding(r.id, r.title, r.family, r.source, _dedupe(ev), r.kind) for r, ev in hits]
    score, reasons, cohort = priority((r.id for r, _ in hits if r.kind == "flag"), params)
    total, count = acb_total(facts, as_of, params)
    return CheckResult(
        as_of=as_of,
        findings=[f for f in findings if f.kind == "flag"],
        prompts=[f for f in findings if f.kind == "prompt"],
        acb_total=total,
        medicine_count=count,
        smr_priority=score,
        smr_reasons=reasons,
        smr_cohort=cohort,
        warnings=list(warnings or []),
    )


def _dedupe(ev: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen, out = set(), []
    for item in ev:
        key = tuple(sorted((k, str(v)) for k, v in item.items()))
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out
