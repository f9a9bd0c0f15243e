"""The Pharmacy First clinical pathways, read from ``pathways.yaml`` (versioned data, cited).

A version applies from its ``effective_from`` date until the next one; a later version lists only
the pathways it changes. :meth:`Catalogue.pathway` answers the pathway *in force on a day*, so a
consultation is always judged by the rules of its own date (and records which version that was).
Treatments name their dm+d products through the OpenSAFELY codelists in ``data/products.json``
(``scripts/build_pharmacy_first.py``): a product is a treatment's when it is in the pathway's
codelist and its dm+d name matches the treatment's pattern. Loading checks the file through and
through (unknown rule kinds, questions, criteria, or a treatment with no product are errors), so
a bad edit fails at start-up, never in front of a patient.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
PATHWAYS_FILE = HERE / "pathways.yaml"
PRODUCTS_FILE = HERE / "data" / "products.json"
PREGNANCY_FILE = HERE / "data" / "pregnancy.json"

RULE_KINDS = frozenset({"age", "sex", "pregnant", "absent", "present", "at_least", "number"})
URGENCIES = ("emergency", "same-day", "routine")
# facts ipmo derives itself (not asked): usable in at_least rules
DERIVED_FACTS = frozenset({"age_over_50"})


class PathwayError(ValueError):
    """The pathway data are wrong (a bad edit of pathways.yaml): raised when loading."""


class UnknownPathway(ValueError):
    """No such pathway, or none in force on the consultation's date (HTTP 422)."""


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    kind: str = "yes-no"  # yes-no | number
    hint: tuple[str, ...] = ()  # current medicines that suggest "yes" (shown to the pharmacist)


@dataclass(frozen=True)
class Criterion:
    id: str
    text: str
    rule: dict[str, Any]
    source: str


@dataclass(frozen=True)
class RedFlag:
    id: str
    text: str
    urgency: str
    source: str


@dataclass(frozen=True)
class Treatment:
    id: str
    title: str
    supply_type: str
    dose: str
    max_quantity: float
    unit: str
    days: int
    requires: tuple[str, ...] | None  # supply criteria ids; None = all of them
    not_if: tuple[tuple[str, str], ...]  # (question, why): a "yes" excludes this treatment
    interacting: tuple[str, ...]  # current medicines that exclude it (PGD exclusions)
    source: str
    products: dict[str, str] = field(default_factory=dict)  # dm+d code → name


@dataclass(frozen=True)
class Pathway:
    code: str
    title: str
    population: str
    condition_code: str
    condition_display: str
    questions: dict[str, Question]
    gateway: tuple[Criterion, ...]
    supply: tuple[Criterion, ...]
    red_flags: tuple[RedFlag, ...]
    treatments: tuple[Treatment, ...]
    version: date

    def treatment_for(self, dmd_code: str) -> Treatment | None:
        return next((t for t in self.treatments if dmd_code in t.products), None)

    def red_flag(self, flag_id: str) -> RedFlag | None:
        return next((f for f in self.red_flags if f.id == flag_id), None)


@dataclass(frozen=True)
class Version:
    effective_from: date
    label: str
    pathways: dict[str, Pathway]


@dataclass(frozen=True)
class Catalogue:
    versions: tuple[Version, ...]  # oldest first
    sources: dict[str, str]

    def in_force(self, day: date) -> Version | None:
        found = None
        for version in self.versions:
            if version.effective_from <= day:
                found = version
        return found

    def pathway(self, code: str, day: date) -> Pathway:
        version = self.in_force(day)
        if version is None:
            first = self.versions[0].effective_from
            raise UnknownPathway(
                f"no Pharmacy First pathway was in force on {day.isoformat()} "
                f"(the service began on {first.isoformat()})"
            )
        if code not in version.pathways:
            known = ", ".join(sorted(version.pathways))
            raise UnknownPathway(f"unknown pathway {code!r}; use one of: {known}")
        return version.pathways[code]

    def codes(self) -> list[str]:
        return sorted(self.versions[-1].pathways)


def _keys(item: dict, allowed: set[str], where: str) -> None:
    """A key the file does not know is an error (e.g. a comma in an unquoted text split it)."""
    if extra := set(item) - allowed:
        raise PathwayError(f"{where} {item.get('id')}: unknown keys {sorted(map(str, extra))}")


def _criteria(raw: list[dict], questions: dict[str, Question], where: str) -> tuple[Criterion, ...]:
    out = []
    for item in raw:
        _keys(item, {"id", "text", "rule", "source"}, where)
        rule = item["rule"]
        [(kind, arg)] = rule.items()
        if kind not in RULE_KINDS:
            raise PathwayError(f"{where} {item['id']}: unknown rule {kind!r}")
        named: list[str] = []
        if kind in ("absent", "present"):
            named = [arg]
        elif kind == "at_least":
            named = [q for q in arg["of"] if q not in DERIVED_FACTS]
        elif kind == "number":
            named = [arg["question"]]
        if missing := [q for q in named if q not in questions]:
            raise PathwayError(f"{where} {item['id']}: no question {missing}")
        if not item.get("source"):
            raise PathwayError(f"{where} {item['id']}: every criterion cites its source")
        out.append(Criterion(item["id"], item["text"], rule, item["source"]))
    return tuple(out)


def _treatment(
    raw: dict, products: list[list[str]], supply: set[str], questions: dict, where: str
) -> Treatment:
    pattern = re.compile(raw["match"], re.IGNORECASE)
    matched = {code: term for code, term, _kind in products if pattern.search(term)}
    if not matched:
        raise PathwayError(f"{where} {raw['id']}: no product in the codelist matches")
    requires = tuple(raw["requires"]) if "requires" in raw else None
    if requires and (bad := set(requires) - supply):
        raise PathwayError(f"{where} {raw['id']}: requires unknown criteria {sorted(bad)}")
    not_if = tuple((n["question"], n["why"]) for n in raw.get("not_if", []))
    if bad_q := [q for q, _ in not_if if q not in questions]:
        raise PathwayError(f"{where} {raw['id']}: not_if names no question {bad_q}")
    return Treatment(
        raw["id"],
        raw["title"],
        raw["supply_type"],
        raw["dose"],
        float(raw["max_quantity"]),
        raw["unit"],
        int(raw["days"]),
        requires,
        not_if,
        tuple(m.lower() for m in raw.get("interacting", [])),
        raw["source"],
        matched,
    )


def _pathway(code: str, raw: dict, products: list[list[str]], version: date) -> Pathway:
    where = f"{version.isoformat()} {code}:"
    questions = {
        qid: Question(qid, q["text"], q.get("type", "yes-no"), tuple(q.get("hint", [])))
        for qid, q in raw.get("questions", {}).items()
    }
    supply = _criteria(raw.get("supply", []), questions, where)
    flags = []
    for f in raw.get("red_flags", []):
        _keys(f, {"id", "text", "urgency", "source"}, where)
        if f["urgency"] not in URGENCIES:
            raise PathwayError(f"{where} red flag {f['id']}: urgency one of {URGENCIES}")
        flags.append(RedFlag(f["id"], f["text"], f["urgency"], f["source"]))
    supply_ids = {c.id for c in supply}
    return Pathway(
        code=code,
        title=raw["title"],
        population=raw["population"],
        condition_code=str(raw["condition"]["code"]),
        condition_display=raw["condition"]["display"],
        questions=questions,
        gateway=_criteria(raw["gateway"], questions, where),
        supply=supply,
        red_flags=tuple(flags),
        treatments=tuple(
            _treatment(t, products, supply_ids, questions, where) for t in raw["treatments"]
        ),
        version=version,
    )


def load_catalogue(path: Path = PATHWAYS_FILE, products_path: Path = PRODUCTS_FILE) -> Catalogue:
    """Read and check the pathways file (any error is a :class:`PathwayError`)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    products = json.loads(products_path.read_text(encoding="utf-8"))
    versions: list[Version] = []
    current: dict[str, Pathway] = {}
    for raw in sorted(data["versions"], key=lambda v: v["effective_from"]):
        day = raw["effective_from"]
        if not isinstance(day, date):
            raise PathwayError(f"effective_from must be a date, not {day!r}")
        current = dict(current)
        for code, body in raw["pathways"].items():
            if code not in products:
                raise PathwayError(f"{day.isoformat()} {code}: no treatment codelist")
            current[code] = _pathway(code, body, products[code], day)
        versions.append(Version(day, raw.get("label", day.isoformat()), current))
    if not versions:
        raise PathwayError("the pathways file has no version")
    return Catalogue(tuple(versions), {k: " ".join(v.split()) for k, v in data["sources"].items()})


CITED_AS = {
    "spec": "NHS Pharmacy First service specification",
    "pathways": "NHS Pharmacy First clinical pathways",
    "pgd": "Pharmacy First PGD",
    "bnf": "BNF",
}


def cite(source: str) -> str:
    """A criterion's source as people read it ("pathways, UTI: …" → "NHS Pharmacy First
    clinical pathways, UTI: …")."""
    key, _, rest = source.partition(", ")
    return f"{CITED_AS[key]}, {rest}" if key in CITED_AS and rest else source


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    """The shipped pathways (read once)."""
    return load_catalogue()


@lru_cache(maxsize=1)
def pregnancy_codes() -> frozenset[str]:
    """SNOMED CT codes that record a pregnancy (NHS Digital PREG_COD refset)."""
    return frozenset(json.loads(PREGNANCY_FILE.read_text(encoding="utf-8")))
