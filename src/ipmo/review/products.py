"""What a prescribed product *is*, for the rules: its classes, route, substance and ACB score.

One pure function, ``product_info``, answers this for a product (dm+d id, VMP/VTM ids, BNF code,
name). Both evaluators use it: the per-patient engine per issue, the set-based engine once per
distinct product (a few thousand) before the set operations, so classification can never differ
between them.

Documented assumptions:
- A dm+d id missing its BNF code takes it from the shipped starter dictionary when known.
- Route: eye (BNF ch. 11 or "eye" in the name), inhaled (inhaler/nebuliser wording), topical
  (BNF ch. 12–13 or cream/gel/ointment/… wording), otherwise systemic (oral, injection, rectal,
  transdermal patch).
- Oral (``is_oral``, for classes marked ``oral_only`` such as PINCER's NSAIDs): the dm+d route
  when the shipped route table (``data/dmd_routes.csv.gz``) has the product, else no non-oral
  form word (suppository, injection, gel, patch, …) in the name.
- ACB counts systemic products only (RULES.md §2: topical/ophthalmic/inhaled excluded);
  combination products score the sum of their distinct ingredients.
- Polypharmacy "unique medicines" = distinct BNF chemical substances (first 9 characters) in BNF
  chapters 1–4 and 6–10 (NHSBSA); a product with no known BNF code is counted by its VTM id or, when
  that is missing, by its generic name (better to over-count for case finding).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache

from ipmo.caching import load_once
from ipmo.review.codelists import DATA, codes, dmd_routes, product_dictionary
from ipmo.review.doac import DOAC_SUBSTANCES
from ipmo.review.drug_classes import CLASSES, DrugClass

#: combination names that do not spell out their ingredients.
COMBINATIONS: dict[str, tuple[str, ...]] = {
    "co-codamol": ("codeine", "paracetamol"),
    "co-codaprin": ("codeine", "aspirin"),
    "co-dydramol": ("dihydrocodeine", "paracetamol"),
    "co-amilofruse": ("amiloride", "furosemide"),
    "co-amilozide": ("amiloride", "hydrochlorothiazide"),
    "co-triamterzide": ("triamterene", "hydrochlorothiazide"),
    "co-flumactone": ("spironolactone", "hydroflumethiazide"),
    "co-tenidone": ("atenolol", "chlortalidone"),
    "co-zidocapt": ("captopril", "hydrochlorothiazide"),
    "co-careldopa": ("levodopa", "carbidopa"),
    "co-beneldopa": ("levodopa", "benserazide"),
    "co-danthramer": ("dantron", "poloxamer"),
    "co-danthrusate": ("dantron", "docusate"),
}

_TOPICAL = re.compile(
    r"\b(cream|ointment|gel|lotion|shampoo|ear drops?|nasal|mouthwash|oromucosal|lozenges?|"
    r"pessar(y|ies)|vaginal|medicated plasters?|foam|emollient|cutaneous|scalp|paint|"
    r"dental|throat spray)\b"
)
_INHALED = re.compile(r"inhal|nebul|respules|breath actuated")
_EYE = re.compile(r"\beye\b|ophthalmic")
_POLYPHARMACY_CHAPTERS = {"01", "02", "03", "04", "06", "07", "08", "09", "10"}


@dataclass(frozen=True)
class ProductInfo:
    classes: frozenset[str]
    route: str
    substance_key: str
    counts_for_polypharmacy: bool
    acb: tuple[tuple[str, int], ...]  # (ingredient, Boustani score), systemic products only
    bnf_code: str | None
    strength_mg: float | None
    doac: str | None = None  # which DOAC substance, for the dose check

    @property
    def acb_score(self) -> int:
        return sum(s for _, s in self.acb)


@load_once
def acb_scores() -> dict[str, int]:
    """Boustani ACB (primary scale, RULES.md §2; Boustani M et al., Aging Health
    2008;4(3):311-320): every drug the published list scores, by UK substance name (built by
    ``scripts/build_review_data._boustani``). UK-calculator-only drugs are reported in
    ``data/acb_disagreements.csv`` for curation but not scored."""
    with (DATA / "acb.csv").open(newline="") as f:
        return {r["substance"]: int(r["boustani"]) for r in csv.DictReader(f) if r["boustani"]}


def _word_pattern(words: tuple[str, ...]) -> re.Pattern[str] | None:
    if not words:
        return None
    alts = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])({alts})(?![\w-])")


@load_once
def _patterns() -> dict[str, tuple[re.Pattern[str] | None, re.Pattern[str] | None]]:
    return {
        c.name: (_word_pattern(c.substances), _word_pattern(c.exclude_substances))
        for c in CLASSES.values()
    }


@load_once
def _acb_pattern() -> re.Pattern[str] | None:
    return _word_pattern(tuple(acb_scores()))


@load_once
def chemical_names() -> dict[str, str]:
    """BNF chemical (9 chars) -> its most common generic name, so brands map to substances."""
    counts: dict[str, dict[str, int]] = {}
    for name, bnf in product_dictionary().values():
        if len(bnf) >= 9 and name and name[0].isalpha():
            generic = re.split(r"\s\d|\(", name.lower(), maxsplit=1)[0].strip()
            bucket = counts.setdefault(bnf[:9], {})
            # VMP names (generic, no "(supplier)") weigh far more than AMP/brand names
            bucket[generic] = bucket.get(generic, 0) + (1 if "(" in name else 1000)
    return {chem: max(c.items(), key=lambda kv: kv[1])[0] for chem, c in counts.items()}


def route_of(name: str, bnf: str | None) -> str:
    n = name.lower()
    if (bnf or "").startswith("11") or _EYE.search(n):
        return "eye"
    if _INHALED.search(n):
        return "inhaled"
    if (bnf or "")[:2] in {"12", "13"} or _TOPICAL.search(n):
        return "topical"
    return "systemic"


# Forms that are not taken by mouth, for products whose dm+d route is not known.
_NOT_ORAL = re.compile(
    r"suppositor|\brectal|enema|inject|infusion|parenteral|ampoules?\b|vials?\b|"
    r"intravenous|intramuscular|subcutaneous|transdermal|\bpatch|plaster|oromucosal|"
    r"buccal|sublingual|nasal|spray|inhal|\beye\b|ophthalmic|\bgel\b|cream|ointment|foam|"
    r"lotion|pessar|vaginal|cutaneous|topical"
)


def is_oral(dmd_code: str, vmp_code: str | None, name: str) -> bool:
    """Taken by mouth: the dm+d route of the product (or its VMP) when the dictionary has it,
    else the name does not name a non-oral form ("suppositories", "solution for injection", …).
    dm+d "Oral" only: sublingual and buccal products are oromucosal, not oral."""
    routes = dmd_routes()
    route = routes.get(dmd_code) or (routes.get(vmp_code) if vmp_code else None)
    if route:
        return route == "Oral"
    return _NOT_ORAL.search(name.lower()) is None


def _in_class(
    c: DrugClass, ids: set[str], bnf: str, text: str, route: str, oral: bool = True
) -> bool:
    if route not in c.routes or (c.oral_only and not oral):
        return False
    if bnf and any(bnf.startswith(p) for p in c.exclude_bnf):
        return False
    include, exclude = _patterns()[c.name]
    if exclude is not None and exclude.search(text):
        return False
    if any(ids & codes(s) for s in c.dmd_sets):
        return True
    if bnf and any(bnf.startswith(p) for p in c.bnf):
        return True
    return include is not None and include.search(text) is not None


_STRENGTH = re.compile(r"(\d+(?:\.\d+)?)\s*mg\b")


@lru_cache(maxsize=65536)
def product_info(
    dmd_code: str,
    name: str,
    bnf_code: str | None = None,
    vmp_code: str | None = None,
    vtm_code: str | None = None,
) -> ProductInfo:
    known = product_dictionary().get(dmd_code)
    if not bnf_code and known and known[1]:
        bnf_code = known[1]
    if not name and known:
        name = known[0]
    bnf = (bnf_code or "").strip()
    lower = name.lower()
    generic = chemical_names().get(bnf[:9], "") if len(bnf) >= 9 else ""
    extra = " ".join(" ".join(v) for k, v in COMBINATIONS.items() if k in lower or k in generic)
    text = f"{lower} {generic} {extra}"
    route = route_of(name, bnf)
    ids = {c for c in (dmd_code, vmp_code, vtm_code) if c}
    oral = is_oral(dmd_code, vmp_code, name)
    classes = frozenset(
        c.name for c in CLASSES.values() if _in_class(c, ids, bnf, text, route, oral)
    )
    acb: tuple[tuple[str, int], ...] = ()
    pattern = _acb_pattern()
    if route == "systemic" and pattern is not None:
        scores = acb_scores()
        acb = tuple(sorted({(m, scores[m]) for m in pattern.findall(text)}))
    if len(bnf) >= 9:
        key, counts = f"bnf:{bnf[:9]}", bnf[:2] in _POLYPHARMACY_CHAPTERS
    elif vtm_code:
        key, counts = f"vtm:{vtm_code}", True
    else:
        key = "name:" + re.split(r"\s\d|\(", lower, maxsplit=1)[0].strip()
        counts = True
    m = _STRENGTH.search(lower)
    doac = next((d for d in DOAC_SUBSTANCES if d in text), None) if "doac" in classes else None
    return ProductInfo(
        classes, route, key, counts, acb, bnf or None, float(m.group(1)) if m else None, doac
    )
