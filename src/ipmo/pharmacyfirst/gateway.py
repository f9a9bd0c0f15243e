"""The gateway check: one consultation's facts against the pathway in force on its date (pure).

Facts are what ipmo knows (age on the consultation date, sex, a pregnancy on the GP record, the
One Medication Record's current medicines) and what the pharmacist answered. The result says, per
criterion, met / not met / not answered, with the criterion's source; which red flags are
present; which PGD treatments may be supplied and, when not, why (a supply criterion not met, an
answer that excludes it, or a current medicine the PGD names as an exclusion); and findings from
the record shown to the pharmacist (e.g. a current medicine that suggests immunosuppression).

Nothing here touches the database: the benchmark (``bench/bench_pharmacyfirst.py``) times it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from ipmo.pharmacyfirst.pathways import Criterion, Pathway, RedFlag, Treatment

Answer = bool | int | None


@dataclass(frozen=True)
class Medicine:
    """One current medicine from the One Medication Record."""

    name: str
    dmd_code: str | None = None


@dataclass(frozen=True)
class Facts:
    birth_date: date
    sex: str  # FHIR administrative gender
    consulted_on: date
    pregnant_on_record: bool = False
    answers: Mapping[str, Answer] = field(default_factory=dict)
    medicines: Sequence[Medicine] = ()
    red_flags: Sequence[str] = ()  # ids the pharmacist found

    @property
    def age(self) -> int:
        b, d = self.birth_date, self.consulted_on
        return d.year - b.year - ((d.month, d.day) < (b.month, b.day))

    @property
    def pregnant(self) -> bool:
        """The pharmacist's answer when given, else the GP record (a pregnancy code)."""
        said = self.answers.get("pregnant")
        return bool(said) if said is not None else self.pregnant_on_record


@dataclass(frozen=True)
class CriterionResult:
    id: str
    text: str
    met: bool | None  # None: not answered yet
    why: str
    source: str


@dataclass(frozen=True)
class TreatmentResult:
    treatment: Treatment
    allowed: bool
    reasons: tuple[str, ...]  # why not (empty when allowed)


@dataclass(frozen=True)
class GatewayResult:
    pathway: Pathway
    gateway: tuple[CriterionResult, ...]
    supply: tuple[CriterionResult, ...]
    red_flags: tuple[RedFlag, ...]
    treatments: tuple[TreatmentResult, ...]
    findings: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return all(c.met is True for c in self.gateway)

    @property
    def first_failed(self) -> CriterionResult | None:
        return next((c for c in self.gateway if c.met is not True), None)

    def treatment(self, treatment_id: str) -> TreatmentResult | None:
        return next((t for t in self.treatments if t.treatment.id == treatment_id), None)


def _answer(facts: Facts, question: str) -> Answer:
    if question == "age_over_50":
        return facts.age > 50
    return facts.answers.get(question)


def _evaluate(rule: Mapping, facts: Facts) -> tuple[bool | None, str]:
    [(kind, arg)] = rule.items()
    if kind == "age":
        lo, hi, age = arg.get("min"), arg.get("max"), facts.age
        ok = (lo is None or age >= lo) and (hi is None or age <= hi)
        day = facts.consulted_on
        return ok, f"aged {age} on {day.day} {day:%B %Y}"
    if kind == "sex":
        return facts.sex == arg, f"recorded sex {facts.sex}"
    if kind == "pregnant":
        under = arg.get("under")
        excluded = facts.pregnant and (under is None or facts.age < under)
        said = "pregnant" if facts.pregnant else "not pregnant"
        return not excluded, said + (f", aged {facts.age}" if under is not None else "")
    if kind in ("absent", "present"):
        value = _answer(facts, arg)
        if value is None:
            return None, "not answered"
        return bool(value) is (kind == "present"), "yes" if value else "no"
    if kind == "at_least":
        values = [_answer(facts, q) for q in arg["of"]]
        count = sum(1 for v in values if v)
        if count < arg["n"] and any(v is None for v in values):
            return None, f"{count} so far, some not answered"
        return count >= arg["n"], f"{count} of {len(values)}"
    if kind == "number":
        value = _answer(facts, arg["question"])
        if value is None:
            return None, "not answered"
        lo, hi = arg.get("min"), arg.get("max")
        return (lo is None or value >= lo) and (hi is None or value <= hi), str(value)
    raise ValueError(f"unknown rule {kind!r}")  # pathways.load_catalogue refuses these


def _results(criteria: Sequence[Criterion], facts: Facts) -> tuple[CriterionResult, ...]:
    out = []
    for c in criteria:
        met, why = _evaluate(c.rule, facts)
        out.append(CriterionResult(c.id, c.text, met, why, c.source))
    return tuple(out)


def _treatment(
    t: Treatment, supply: Mapping[str, CriterionResult], facts: Facts, names: Sequence[str]
) -> TreatmentResult:
    reasons = []
    for cid in t.requires if t.requires is not None else supply:
        if supply[cid].met is not True:
            reasons.append(f"supply criterion not met: {supply[cid].text}")
    for question, why in t.not_if:
        if facts.answers.get(question):
            reasons.append(f"excluded by the PGD: {why}")
    for name in names:
        hit = next((word for word in t.interacting if word in name), None)
        if hit:
            reasons.append(f"excluded by the PGD: current {name} interacts with {t.title}")
    return TreatmentResult(t, not reasons, tuple(reasons))


def check(pathway: Pathway, facts: Facts) -> GatewayResult:
    """Judge ``facts`` by ``pathway`` (the version in force on the consultation date)."""
    gateway = _results(pathway.gateway, facts)
    supply = _results(pathway.supply, facts)
    by_id = {c.id: c for c in supply}
    names = [m.name.lower() for m in facts.medicines]
    findings = []
    if facts.pregnant_on_record:
        said = facts.answers.get("pregnant")
        findings.append(
            "The GP record has a pregnancy recorded in the last 9 months"
            + (": the pharmacist answered not pregnant, check." if said is False else ".")
        )
    for q in pathway.questions.values():
        for name in names:
            hit = next((h for h in q.hint if h in name), None)
            if hit and not facts.answers.get(q.id):
                findings.append(f"Current medicine {name} may mean: {q.text}")
    flags = tuple(f for f in pathway.red_flags if f.id in set(facts.red_flags))
    treatments = tuple(_treatment(t, by_id, facts, names) for t in pathway.treatments)
    for t in treatments:
        findings.extend(r for r in t.reasons if r.startswith("excluded by the PGD: current"))
    return GatewayResult(pathway, gateway, supply, flags, treatments, tuple(findings))
