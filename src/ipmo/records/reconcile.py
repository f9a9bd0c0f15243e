"""Reconcile one patient's sources at an index date: one list, and what disagrees.

Pure and fast (no I/O; the batch benchmark runs it for 100k patients). Method: STANDARDS.md
§7.3 (synthesised from the Digital Medicines IG admission use case and the reconciliation
literature). Discrepancy classes follow Cornish et al., *Arch Intern Med* 2005;165:424 and Tam
et al., *CMAJ* 2005;173:510 (omission, commission, wrong dose, wrong frequency, wrong route,
wrong formulation, therapeutic duplication), plus ``stopped_elsewhere`` (IG: "stopped in one
source, still active in another" — a status conflict).

1. Lines are normalised (:mod:`.normalise`) and filtered to *current* with the FCI rule
   (:mod:`.current`); recently stopped lines are kept aside to explain absences.
2. Lines match on VTM (same substance), then are compared on VMP, form and strength. Brand vs
   generic of the same VMP (AMP → VMP) is the same product: never a discrepancy.
3. The *reference* source is the GP record when present (the usual "best possible medication
   history" starting point), else the source read first. Missing from another source what the
   reference has = ``omission``; present elsewhere but not in the reference = ``commission``.
4. Hazardous class duplication, across sources or within one: STOPP/START v3 criterion A3
   ("any duplicate drug class prescription for daily regular use (as distinct from PRN use),
   e.g. two concurrent NSAIDs, SSRIs, loop diuretics, ACE inhibitors, anticoagulants,
   antipsychotics, opioid analgesics"), plus proton pump inhibitors (issue 4), statins, and an
   ACE inhibitor with an ARB (issue 13; :func:`duplication_class` cites each). Legitimate
   combinations of one BNF section (statin + ezetimibe) are not flagged.
5. ``dose`` vs ``frequency``: the amount per administration and the administrations per day are
   compared separately, so 1 tablet twice vs three times a day is ``frequency`` only; both are
   reported when both change.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ipmo.records.canonical import MedItem, NotUsed, SourceDocument
from ipmo.records.current import CURRENT_CLAUSES, decide, explain, is_stopped, two_years_before
from ipmo.records.normalise import match_key
from ipmo.terminology.names import substance_key

TYPES = (
    "omission",
    "commission",
    "dose",
    "frequency",
    "route",
    "formulation",
    "duplication",
    "stopped_elsewhere",
)
# STOPP v3 A3 classes (BNF headings as named by ipmo.terminology.bnf.therapeutic_class) + PPIs,
# and the classes issue 13 names (statins, ACE inhibitors or ARBs, anticoagulants), grouped so
# that members of one *duplication class* are flagged together (duplication_class below).
DUPLICATION_HAZARD_CLASSES = frozenset(
    {
        "Non-steroidal anti-inflammatory drugs",
        "Selective serotonin re-uptake inhibitors",
        "Loop diuretics",
        "ACE inhibitors",
        "Angiotensin-II receptor antagonists",
        "Oral anticoagulants",
        "Parenteral anticoagulants",
        "Antipsychotics",
        "Opioid analgesics",
        "Proton pump inhibitors",
        "Lipid-regulating drugs",  # statins only (duplication_class)
    }
)
# BNF classes that duplicate each other: dual renin-angiotensin blockade (an ACE inhibitor with
# an ARB) is not recommended (MHRA Drug Safety Update, June 2014, "Combination use of medicines
# from different classes of renin-angiotensin system blocking agents"); an oral with a parenteral
# anticoagulant is two anticoagulants (STOPP v3 A3 names "anticoagulants").
_DUPLICATION_GROUP = {
    "ACE inhibitors": "ACE inhibitors or angiotensin-II receptor antagonists",
    "Angiotensin-II receptor antagonists": "ACE inhibitors or angiotensin-II receptor antagonists",
    "Oral anticoagulants": "Anticoagulants",
    "Parenteral anticoagulants": "Anticoagulants",
}


def duplication_class(item: MedItem) -> str | None:
    """The class two of which, taken regularly together, are a duplication (None: no hazard).

    BNF 2.12 "Lipid-regulating drugs" holds statins, ezetimibe, fibrates and others; only two
    statins duplicate each other (statin + ezetimibe is a recommended combination: NICE NG238,
    2023, lipid modification), so the class is narrowed to statins by the INN stem "-statin"
    (WHO INN stem book: "-vastatin", antihyperlipidaemic HMG-CoA reductase inhibitors)."""
    cls = item.therapeutic_class
    if cls not in DUPLICATION_HAZARD_CLASSES:
        return None
    if cls == "Lipid-regulating drugs":
        substance = (item.vtm_name or item.vmp_name or item.name).lower()
        return "Statins" if "statin" in substance.split(" ")[0] else None
    return _DUPLICATION_GROUP.get(cls, cls)


# High-risk medicines where an unintended change most often harms (NHS England / ISMP
# high-alert medicines: anticoagulants, insulin, opioids, antiepileptics, lithium, methotrexate).
HIGH_RISK_CLASSES = frozenset(
    {
        "Oral anticoagulants",
        "Parenteral anticoagulants",
        "Insulins",
        "Opioid analgesics",
        "Antiepileptics",
        "Drugs for mania and hypomania",
        "Rheumatic disease suppressant drugs",
        "Antiplatelet drugs",
        "Cardiac glycosides",
    }
)
_BASE_SEVERITY = {
    "omission": "moderate",
    "commission": "moderate",
    "dose": "moderate",
    "frequency": "low",
    "route": "moderate",
    "formulation": "low",
    "duplication": "moderate",
    "stopped_elsewhere": "moderate",
}


@dataclass(slots=True)
class Discrepancy:
    type: str
    medication: str
    key: str  # matched medicine (VTM or name key)
    sources: list[str]
    values: dict[str, Any]
    detail: str
    severity: str

    @property
    def id(self) -> str:
        """Stable across re-reconciliations (decisions are keyed on it): type, medicine, sources."""
        basis = "|".join([self.type, self.key, *sorted(self.sources)])
        return hashlib.sha1(basis.encode()).hexdigest()[:12]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "medication": {"name": self.medication, "key": self.key},
            "sources": self.sources,
            "values": self.values,
            "detail": self.detail,
            "severity": self.severity,
        }


@dataclass(slots=True)
class Line:
    """One medicine in the reconciled list, with every source's line for it."""

    key: str
    name: str
    vtm: str | None
    vtm_name: str | None
    vmp: str | None
    vmp_name: str | None
    dose_text: str | None
    status: str  # current | stopped
    by_source: dict[str, list[MedItem]] = field(default_factory=dict)
    # amendments applied to this line after reconciliation (records.amend), oldest first
    changes: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        body = {
            "key": self.key,
            "name": self.name,
            "vtm": {"code": self.vtm, "name": self.vtm_name} if self.vtm else None,
            "vmp": {"code": self.vmp, "name": self.vmp_name} if self.vmp else None,
            "dose_text": self.dose_text,
            "status": self.status,
            "sources": [
                {
                    "source": label,
                    "name": item.name,
                    "code": item.code,
                    "mapping": mapping_text(item.mapping),
                    "dose_text": item.dose_text,
                    "status": item.status,
                    "resource": f"{item.resource_type}/{item.resource_id}"
                    if item.resource_id
                    else None,
                    **line_facts(item),
                }
                for label, items in self.by_source.items()
                for item in items
            ],
        }
        if self.changes:
            body["changes"] = self.changes
        return body


MAPPING_TEXT = {
    "vmp": "dm+d VMP",
    "amp": "dm+d AMP → VMP",
    "vtm": "dm+d VTM",
    "name": "by name",
    "name-vtm": "by name (substance only)",
    "unmapped": "unmapped (matched on its own name)",
}


def mapping_text(mapping: str) -> str:
    """How a line was matched, in words ("by name" when no dm+d code fitted: issue 13 item 6)."""
    return MAPPING_TEXT.get(mapping, mapping)


def line_facts(item: MedItem) -> dict[str, Any]:
    """What decided a line: the current clause, its date and which element gave that date."""
    facts: dict[str, Any] = {
        "clause": item.clause,
        "why": explain(item, item.clause) if item.clause else None,
        "date": item.authored_on.isoformat() if item.authored_on else None,
        "date_source": item.date_source,
    }
    if item.last_issued:
        facts["last_issued"] = item.last_issued.isoformat()
    if item.supply_days is not None or item.supply_basis:
        facts["supply_days"] = item.supply_days
        facts["supply_basis"] = item.supply_basis
    return facts


@dataclass(slots=True)
class Reconciliation:
    index_date: date
    reference: str | None
    sources: list[str]
    lines: list[Line]
    discrepancies: list[Discrepancy]
    # every line that is not in the list, with its source label: not current at the index date
    # (item.clause says why) or not used at all (NotUsed.reason) — nothing is dropped silently
    not_current: list[tuple[str, MedItem]] = field(default_factory=list)
    not_used: list[tuple[str, NotUsed]] = field(default_factory=list)


def _severity(kind: str, items: list[MedItem]) -> str:
    if any(i.therapeutic_class in HIGH_RISK_CLASSES for i in items):
        return "high"
    if kind == "duplication" and any(duplication_class(i) is not None for i in items):
        return "high"
    return _BASE_SEVERITY[kind]


def _form_key(item: MedItem) -> str:
    return item.form or ""  # already normalise_form()-ed by normalise_item


def _compare(
    name: str, key: str, ref_label: str, ref: MedItem, label: str, other: MedItem
) -> list[Discrepancy]:
    """Differences between two current lines for the same substance (tiers of §7.3 step 3–4).

    The tiers run in order; a difference that makes later comparisons meaningless (another form,
    regular vs as required, a different daily amount or strength) ends the comparison."""
    out: list[Discrepancy] = []
    items = [ref, other]

    def flag(kind: str, ref_value: Any, other_value: Any, text: str) -> None:
        values = {ref_label: ref_value, label: other_value}
        sev = _severity(kind, items)
        out.append(Discrepancy(kind, name, key, [ref_label, label], values, text, sev))

    def each(ref_says: Any, other_says: Any) -> str:
        """What each source says: "<ref_says> in <its label>, <other_says> in <its label>"."""
        return f"{ref_says} in {ref_label}, {other_says} in {label}"

    same_product = ref.vmp is not None and ref.vmp == other.vmp
    if not same_product:
        fa, fb = _form_key(ref), _form_key(other)
        if fa and fb and fa != fb:
            flag("formulation", ref.form, other.form, each(ref.form, other.form))
            return out  # doses of different forms are not comparable
    if ref.route and other.route and ref.route.lower() != other.route.lower():
        flag("route", ref.route, other.route, each(ref.route, other.route))
    if ref.as_needed != other.as_needed and (ref.dosage and other.dosage):

        def how(i: MedItem) -> str:
            return "as required" if i.as_needed else "regular"

        flag("frequency", how(ref), how(other), each(how(ref), how(other)))
        return out
    ta, tb = ref.daily_total, other.daily_total
    if ta is not None and tb is not None and ta[1] == tb[1]:
        if abs(ta[0] - tb[0]) > 1e-6:
            daily = each(f"{ta[0]:g}{ta[1]} a day", f"{tb[0]:g}{tb[1]} a day")
            # the unit dose (per administration) and the frequency are told apart: 1 tablet
            # twice vs three times a day is a frequency change, not a dose change (issue 13)
            pa, pb = ref.per_day, other.per_day
            if pa and pb:
                ua, ub = ta[0] / pa, tb[0] / pb
                if abs(ua - ub) > 1e-6:
                    flag(
                        "dose",
                        ref.dose_text or ref.strength,
                        other.dose_text or other.strength,
                        f"{daily} ({ua:g}{ta[1]} vs {ub:g}{tb[1]} a dose)",
                    )
                if abs(pa - pb) > 1e-6:
                    flag(
                        "frequency",
                        ref.dose_text,
                        other.dose_text,
                        f"{pa:g} vs {pb:g} doses a day"
                        + (" (same dose each time)" if abs(ua - ub) <= 1e-6 else ""),
                    )
                return out
            flag(
                "dose",
                ref.dose_text or ref.strength,
                other.dose_text or other.strength,
                daily,
            )
            return out
        if ref.per_day != other.per_day:
            flag(
                "frequency",
                ref.dose_text,
                other.dose_text,
                f"same daily amount, {ref.per_day:g} vs {other.per_day:g} doses a day",
            )
        return out
    if (
        not same_product
        and ref.strength_key
        and other.strength_key
        and ref.strength_key != other.strength_key
    ):
        flag(
            "dose",
            ref.strength,
            other.strength,
            "strength " + each(ref.strength, other.strength),
        )
        return out
    if ref.dose_amount and other.dose_amount and ref.dose_amount != other.dose_amount:
        flag(
            "dose",
            ref.dose_text or ref.dose_amount,
            other.dose_text or other.dose_amount,
            each(ref.dose_amount, other.dose_amount),
        )
        return out
    if ref.per_day is not None and other.per_day is not None and ref.per_day != other.per_day:
        flag(
            "frequency",
            ref.dose_text,
            other.dose_text,
            f"{ref.per_day:g} vs {other.per_day:g} doses a day",
        )
    return out


def reconcile(sources: list[SourceDocument], index_date: date) -> Reconciliation:
    """Reconcile normalised sources (see module doc). Sources keep their given order."""
    labels: list[str] = []
    seen: dict[str, int] = {}
    for doc in sources:  # two sources with the same origin get distinct labels
        n = seen.get(doc.label, 0)
        seen[doc.label] = n + 1
        labels.append(doc.label if n == 0 else f"{doc.label}#{n + 1}")
    reference = None
    for doc, label in zip(sources, labels, strict=True):
        if doc.source_kind == "gp":
            reference = label
            break
    if reference is None and labels:
        reference = labels[0]

    current: dict[str, dict[str, list[MedItem]]] = {}
    stopped: dict[str, dict[str, MedItem]] = {}
    not_current: list[tuple[str, MedItem]] = []
    not_used: list[tuple[str, NotUsed]] = []
    pending_names: list[tuple[str, str, MedItem, bool]] = []
    since = two_years_before(index_date)
    for doc, label in zip(sources, labels, strict=True):
        if doc.not_used:
            not_used.extend((label, n) for n in doc.not_used)
        for item in doc.items:
            key = item.key or match_key(item)
            clause = decide(item, index_date, window_start=since)
            item.clause = clause
            cur = clause in CURRENT_CLAUSES
            if not cur:
                not_current.append((label, item))
            if key[0] == "n":  # "name:…", unmapped
                pending_names.append((key, label, item, cur))
                continue
            if cur:
                current.setdefault(key, {}).setdefault(label, []).append(item)
            elif is_stopped(item, index_date):
                stopped.setdefault(key, {}).setdefault(label, item)
    substance_to_key: dict[str, str] = {}
    if pending_names:
        for doc in sources:
            for item in doc.items:
                if item.vtm and item.vtm_name:
                    substance_to_key.setdefault(
                        "name:" + substance_key(item.vtm_name), "vtm:" + item.vtm
                    )
    for key, label, item, cur in pending_names:  # unmapped lines join a VTM by substance name
        key = substance_to_key.get(key, key)
        if cur:
            current.setdefault(key, {}).setdefault(label, []).append(item)
        elif is_stopped(item, index_date):
            stopped.setdefault(key, {}).setdefault(label, item)

    discrepancies: list[Discrepancy] = []
    add = discrepancies.append
    lines: list[Line] = []
    n_labels = len(labels)
    no_stops: dict[str, MedItem] = {}
    for key, by_source in current.items():
        ref_items = by_source.get(reference) if reference else None
        chosen = ref_items[0] if ref_items else next(iter(by_source.values()))[0]
        name = chosen.vtm_name or chosen.vmp_name or chosen.name
        lines.append(
            Line(
                key,
                name,
                chosen.vtm,
                chosen.vtm_name,
                chosen.vmp,
                chosen.vmp_name,
                chosen.dose_text,
                "current",
                by_source,
            )
        )
        # duplication: the same substance twice in one source (§7.3 step 5)
        for label, items in by_source.items():
            if len(items) > 1:
                add(
                    Discrepancy(
                        "duplication",
                        name,
                        key,
                        [label],
                        {label: [i.name for i in items]},
                        f"{len(items)} current lines for {name} in {label}",
                        _severity("duplication", items),
                    )
                )
        stops = stopped.get(key, no_stops)
        for label, item in stops.items():
            if label not in by_source:
                active = sorted(by_source)
                all_items = [i for items in by_source.values() for i in items]
                reason = f" ({item.status_reason})" if item.status_reason else ""
                add(
                    Discrepancy(
                        "stopped_elsewhere",
                        name,
                        key,
                        [label, *active],
                        {label: "stopped" + reason, **{a: "active" for a in active}},
                        f"stopped in {label}, still current in {', '.join(active)}",
                        _severity("stopped_elsewhere", [item, *all_items]),
                    )
                )
        if reference is None:
            continue
        if ref_items:
            if len(by_source) < n_labels:
                all_items = [i for items in by_source.values() for i in items]
                for label in labels:
                    if label in by_source or label in stops:
                        continue
                    add(
                        Discrepancy(
                            "omission",
                            name,
                            key,
                            [reference, label],
                            {reference: chosen.dose_text or "current", label: None},
                            f"current in {reference}, missing from {label}",
                            _severity("omission", all_items),
                        )
                    )
            if len(by_source) > 1:
                ref_item = ref_items[0]
                signature = ref_item.signature
                for label, items in by_source.items():
                    other = items[0]
                    if other is not ref_item and (
                        signature is None or other.signature != signature
                    ):
                        discrepancies.extend(_compare(name, key, reference, ref_item, label, other))
        elif reference not in stops:
            present = sorted(by_source)
            all_items = [i for items in by_source.values() for i in items]
            values: dict[str, Any] = {
                lab: by_source[lab][0].dose_text or "current" for lab in present
            }
            values[reference] = None
            add(
                Discrepancy(
                    "commission",
                    name,
                    key,
                    present,
                    values,
                    f"new in {', '.join(present)}, not in {reference}",
                    _severity("commission", all_items),
                )
            )
            base = by_source[present[0]][0]
            for label in present[1:]:
                other = by_source[label][0]
                if base.signature is None or other.signature != base.signature:
                    discrepancies.extend(_compare(name, key, present[0], base, label, other))
    # hazardous class duplication across the merged list (STOPP v3 A3: regular use only)
    by_class: dict[str, list[tuple[Line, MedItem, str]]] = {}
    for line in lines:
        for label, items in line.by_source.items():
            item = items[0]
            if item.as_needed or item.therapeutic_class not in DUPLICATION_HAZARD_CLASSES:
                continue
            cls = duplication_class(item)
            if cls is not None:
                by_class.setdefault(cls, []).append((line, item, label))
                break
    for cls, members in by_class.items():
        if len({m[0].key for m in members}) < 2:
            continue
        names = [m[0].name for m in members]
        srcs = sorted({lab for m in members for lab in m[0].by_source})
        discrepancies.append(
            Discrepancy(
                "duplication",
                " + ".join(names),
                "class:" + cls,
                srcs,
                {m[0].name: sorted(m[0].by_source) for m in members},
                f"two or more {cls.lower()} current together: {', '.join(names)}",
                _severity("duplication", [m[1] for m in members]),
            )
        )
    return Reconciliation(
        index_date, reference, labels, lines, discrepancies, not_current, not_used
    )
