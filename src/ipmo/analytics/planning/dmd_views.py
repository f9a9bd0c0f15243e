"""dm+d-shaped tables built from the terminology starter dictionary, for OpenPrescribing's measures.

Sixteen of the peer's definitions take their BNF codes from a query on dm+d (``{dmd}.vmp``,
``amp``, ``vtm``, ``vpi``, ``ont``/``ontformroute`` and OpenPrescribing's views on them, e.g.
``vw__dmd_objs_with_form_route``), and seventeen more join prescribing to dm+d in custom SQL. This
module rebuilds those tables, under the peer's table and column names, from our shipped dictionary
(``ipmo/terminology/data/starter_dictionary.csv.gz``, read directly — no database), so that
``dmd_sql.py`` can run the definitions' own SQL over them. What each column is built from:

* ``vmp`` / ``amp`` / ``vtm`` — dictionary rows with BNF codes. Previous ids (``MAP`` rows) are
  dropped where their current id is also present, and same-name duplicates under one BNF code are
  kept once, as a dm+d release has one row per concept.
* ``vtm`` ids — the dictionary holds the 2019 ids; dm+d re-identified many VTMs since (e.g.
  Amoxicillin 27658006 → 774586009 in ``data/aware_vtms.csv``). VMPs carry the newer id where one
  is known (``REIDENTIFIED_VTMS`` and the AWaRe table, matched by VTM name).
* ``ontformroute.descr`` (``form_route``) — dm+d's ONT form-route spelling (``tablet.oral``,
  ``tabletmodified-release.oral``, ``pressurizedinhalation.inhalation`` …), derived by
  :func:`ont_form_routes` from the VMP name's dose form and route under the dm+d naming rules.
  It is checked against the 5,642 real ``form_route`` values that OpenSAFELY codelists carry
  (``tests/analytics/test_spec_dmd_measures.py``); forms whose ONT value is not determined by the
  name (soluble, sublingual, buccal, nebuliser, eye drops …) get none, and codes left without one
  are reported, not guessed.
* ``vpi`` — one row per ingredient from the VMP name ("Fluticasone propionate 250micrograms/dose /
  Salmeterol 25micrograms/dose …"), strength normalised as dm+d stores it (per one denominator
  unit: 10mg/5ml → 2 mg/ml). The dictionary holds no ingredient ids, so ``ing`` is set only for
  the substances the definitions name, from ``INGREDIENTS`` (ids as the definitions use them;
  checked against the dm+d ingredient file where it has them).
* ``vw_aware_abx_bnf_codes`` — UKHSA AWaRe 2024 class by VTM (``data/aware_vtms.csv``), by VTM name,
  for oral and parenteral forms (AWaRe classes systemic antibiotics); rows marked oral (``O``) or
  parenteral (``P``) apply to that route only. The view's own SQL is not in our reference copy:
  this is a reconstruction from its name, its columns and the table it reads.
* Brand codes the dictionary lacks are added as ``amp`` rows of the VMP whose BNF code is their
  generic equivalent (first 9 characters + ``AA`` + the last two twice: NHSBSA's rule, the join
  the peer's own custom SQL uses); they are flagged ``inferred``.

Coverage is partial — the dictionary is a snapshot of public codelists, not a dm+d release — so
callers report the codes they could not place (see ``dmd_sql.py``).
"""

from __future__ import annotations

import csv
import gzip
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from ipmo.analytics.measures.dmd_index import DmdIndex, build_index
from ipmo.analytics.planning import plan_cache
from ipmo.terminology import parse_product_name

# Definition-cited VTM ids that are newer than the dictionary's 2019 ones, by VTM name. Source: the
# definitions themselves — lpfentanylir.json (``vtm =775934002``, "Fentanyl immediate release"),
# lptramadolpara.json (``t.id=777074005 --VTM for paracetamol and tramadol``).
REIDENTIFIED_VTMS: dict[str, int] = {"fentanyl": 775934002, "paracetamol + tramadol": 777074005}

# Ingredient ids for the substances the definitions name, keyed by the substance as dm+d VMP
# names spell it. Ids and substances are the definitions' (their comments name each one:
# statinintensity, ppidose, doacs_nhse, dapagliflozin, icsdose, opioidper1000/opioidspercent,
# morphine_solution_list, pregabalinmg/gabapentinoidsddd, lpperindopril, vitamind) and, where the
# 2019 dm+d ingredient file has them, its names (checked in the spec tests). ``(ing, bs_subid)``:
# the definitions test ``vpi.ing`` or ``COALESCE(vpi.bs_subid, vpi.ing)``; each substance is used
# with one id only, so it is stored as ``ing`` with no basis substance. Hydromorphone: dm+d's
# ingredient is the hydrochloride (387485001; the 2019 file has no 44508008), strengths stated as
# the hydrochloride, so no basis substance.
INGREDIENTS: dict[str, int] = {
    # statinintensity (vpi.ing)
    "atorvastatin": 725658002,  # Atorvastatin calcium trihydrate
    "rosuvastatin": 406435003,  # Rosuvastatin calcium
    "simvastatin": 387584000,
    "cerivastatin": 108597004,  # Cerivastatin sodium
    "fluvastatin": 412392009,  # Fluvastatin sodium
    "pravastatin": 96306007,  # Pravastatin sodium
    "pravastatin sodium": 96306007,
    # ppidose (COALESCE(bs_subid, ing))
    "esomeprazole": 396047003,
    "lansoprazole": 386888004,
    "omeprazole": 387137007,
    "pantoprazole": 395821003,
    "rabeprazole": 387013009,  # Rabeprazole sodium
    "rabeprazole sodium": 387013009,
    # doacs_nhse
    "apixaban": 698090000,
    "dabigatran etexilate": 700039002,  # Dabigatran etexilate mesilate
    "edoxaban": 1162278009,  # Edoxaban tosilate
    "rivaroxaban": 442031002,
    # dapagliflozin (SGLT-2 inhibitors)
    "dapagliflozin": 783086004,  # Dapagliflozin propanediol monohydrate
    "canagliflozin": 725664009,  # Canagliflozin hemihydrate
    "empagliflozin": 703894008,
    "ertugliflozin": 1162393006,  # Ertugliflozin L-pyroglutamic acid
    # icsdose; dm+d names fluticasone propionate products "Fluticasone …", furoate always in full
    "beclometasone": 116575004,  # Beclometasone dipropionate
    "beclometasone dipropionate": 116575004,
    "budesonide": 395726003,
    "ciclesonide": 417420004,
    "fluticasone furoate": 426409006,
    "fluticasone": 396064000,  # Fluticasone propionate
    "fluticasone propionate": 396064000,
    "mometasone": 395802006,  # Mometasone furoate
    "mometasone furoate": 395802006,
    # opioidper1000, opioidspercent, morphine_solution_list
    "fentanyl": 373492002,
    "oxycodone": 387024006,  # Oxycodone hydrochloride
    "tapentadol": 441757005,
    "buprenorphine": 387173000,
    "morphine sulfate": 60886004,
    "morphine": 60886004,  # dm+d names oral morphine sulfate products "Morphine 10mg …"
    "hydromorphone": 387485001,  # Hydromorphone hydrochloride
    # pregabalinmg, gabapentinoidsddd
    "pregabalin": 415160008,
    "gabapentin": 386845007,
    # lpperindopril, vitamind
    "perindopril arginine": 442509000,
    "colecalciferol": 18414002,
}

# dm+d route (the dictionary's ``route``) → the ONT route word.
_ONT_ROUTE = {
    "oral": "oral",
    "inhalation": "inhalation",
    "rectal": "rectal",
    "ocular": "ophthalmic",
    "subcutaneous": "subcutaneous",
    "transdermal": "transdermal",
    "intramuscular": "intramuscular",
    "intramuscular-deep": "intramuscular-deep",
    "intravenous": "intravenous",
    "nasal": "nasal",
    "cutaneous": "cutaneous",
    "vaginal": "vaginal",
}
_UNITS = {
    "mg": "mg", "g": "gram", "gram": "gram", "grams": "gram", "microgram": "microgram",
    "micrograms": "microgram", "mcg": "microgram", "nanogram": "nanogram",
    "nanograms": "nanogram", "ml": "ml", "litre": "litre", "dose": "dose", "doses": "dose",
    "hour": "hour", "hours": "hour", "unit": "unit", "units": "unit", "mmol": "mmol",
}  # fmt: skip
GENERIC_MARKER = "AA"
_BNF_LENGTHS = (11, 15)  # appliances (chapters 20-23) have 11-character codes, medicines 15


def generic_equivalent(code: str) -> str:
    """BNF brand code → its generic equivalent (SUBSTR(code,0,9) || 'AA' || last two, twice)."""
    return code[:9] + GENERIC_MARKER + code[-2:] + code[-2:] if len(code) == 15 else code


def ont_form_routes(name: str, form: str, route: str) -> tuple[str, ...]:
    """dm+d ONT form-route value(s) for a VMP, from its name's dose form and its route.

    Follows the dm+d naming rules (NHSBSA dm+d Editorial Policy: "<substance> <strength> <dose
    form>", modifiers such as gastro-resistant / modified-release in the name) and the ONT values
    dm+d gives those forms (validated against codelists that carry them). Empty when the name does
    not determine the value. An injection whose route the dictionary does not hold gets the form
    with an empty route (``solutioninjection.``): it matches ``%injection%`` but no route test.
    """
    text, low = form.lower().strip(), name.lower()
    # "Co-amoxiclav 250mg/62mg/5ml oral suspension": the name parser leaves "/5ml" on the form
    text = re.sub(r"^/\d+(?:\.\d+)?\s?(?:ml|g)\s+", "", text)
    if not text or text.startswith(("and ", "/", "(")) or " and " in text:
        return ()  # combination packs, international-namespace names
    rule = _ont_form(text, low)
    if rule is None:
        return ()
    form_word, fixed, default = rule
    where = fixed or _ONT_ROUTE.get(route.lower().strip(), "") or default
    if not where and not form_word.endswith("injection"):
        return ()
    return (f"{form_word}.{where}",)


def _ont_form(text: str, name: str) -> tuple[str, str, str] | None:  # noqa: C901 - one rule per form
    """(ONT form word, route fixed by the form, route when none is recorded) for a form phrase."""
    mr = "modified-release" in name or "prolonged-release" in name
    gr = "gastro-resistant" in name
    if "injection" in text:
        kind = "suspension" if "suspension" in text else "emulsion" if "emulsion" in text else ""
        return f"{kind or 'solution'}injection", "", ""
    if "infusion" in text:
        # infusion containers with no route recorded are intravenous infusions
        return ("solutioninfusion", "", "intravenous") if "suspension" not in text else None
    if re.search(r"\binhaler\b", text):
        return (
            ("powderinhalation" if "dry powder" in text else "pressurizedinhalation"),
            "inhalation",
            "",
        )
    if "inhalation powder" in text or "dry powder inhalation" in text:
        return "powderinhalation", "inhalation", ""
    if "solution for inhalation" in text or "inhalation solution" in text:
        return "inhalationsolution", "inhalation", ""
    if "nebuliser" in text:  # no definition tells solution from suspension nebulisers apart
        return (
            ("suspensionnebuliser" if "suspension" in text else "solutionnebuliser"),
            "inhalation",
            "",
        )
    if "transdermal patch" in text:
        return "patch", "transdermal", ""
    if text.startswith("suppositor"):
        return "suppository", "rectal", ""
    if any(
        w in text for w in ("sublingual", "buccal", "lozenge", "oromucosal", "soluble", "vaginal")
    ):
        return None
    if "orodispersible" in text:
        # NSAID orodispersible tablets are tabletdispersible.oral, but gastro-resistant ones
        # (lansoprazole) are not named as such: not determined by the name
        return None
    if "tablet" in text and "dispersible" in text:
        return ("tabletdispersiblegastro-resistant" if gr else "suspension"), "oral", ""
    if "effervescent" in text and ("tablet" in text or "granules" in text):
        return "solution", "oral", ""
    for solid in ("tablet", "capsule"):
        if re.search(rf"\b{solid}s?\b", text):
            if "chewable" in text:
                return None if mr or gr else (f"{solid}chewable", "oral", "")
            word = solid + ("gastro-resistant" if gr else "") + ("modified-release" if mr else "")
            return word, "", "oral"
    if re.search(r"\bgranules\b", text) and "effervescent" not in text:
        word = "granules" + ("gastro-resistant" if gr else "") + ("modified-release" if mr else "")
        return word, "", "oral"
    if re.fullmatch(r"oral (solution|suspension)( sugar[ -]free| unit dose.*| bp)*\.?", text):
        return text.split()[1], "oral", ""
    return None


@dataclass(frozen=True)
class Ingredient:
    substance: str
    ing: int | None
    num: float | None
    num_uom: str | None
    den: float | None
    den_uom: str | None


@dataclass(frozen=True)
class Vmp:
    id: int
    name: str
    bnf_code: str
    vtm: int | None
    form_routes: tuple[str, ...]
    dform: str | None
    ingredients: tuple[Ingredient, ...]


@dataclass(frozen=True)
class Amp:
    id: int | None
    name: str
    vmp: int
    bnf_code: str
    inferred: bool = False


# dm+d DFORM descriptions for the dose forms the definitions test (lpfentanylir's
# ``dform_form NOT IN ('Transdermal patch', 'Solution for infusion', 'Infusion', 'Solution for
# injection')``), from the VMP name's form words; others are left unknown (NULL).
_DFORMS = (
    ("transdermal patch", "Transdermal patch"),
    ("solution for injection", "Solution for injection"),
    ("solution for infusion", "Solution for infusion"),
    ("infusion", "Infusion"),
    ("sublingual tablet", "Sublingual tablet"),
    ("buccal tablet", "Buccal tablet"),
    ("buccal film", "Buccal film"),
    ("lozenge", "Lozenge"),
    ("nasal spray", "Spray"),
)


def _dform(form: str) -> str | None:
    text = form.lower()
    return next((d for words, d in _DFORMS if words in text), None)


def _ingredients(name: str) -> tuple[Ingredient, ...]:
    parsed = parse_product_name(name)
    substances = [s.strip() for s in parsed.substance.split(" + ") if s.strip()]
    strengths = list(parsed.strengths)
    # "1,000unit" is read by the name parser as 1.0: no strengths from names with thousands commas
    trusted = len(strengths) == len(substances) and not re.search(r"\d,\d{3}", name)
    out = []
    for i, substance in enumerate(substances):
        key = substance.lower().replace("sulphate", "sulfate")
        num = num_uom = den = den_uom = None
        if trusted:
            s = strengths[i]
            num_uom = _UNITS.get(s.num_unit.lower())
            if num_uom is not None:
                num = s.num_value
                if s.den_unit:
                    den_uom = _UNITS.get(s.den_unit.lower(), s.den_unit.lower())
                    num, den = (num / s.den_value if s.den_value else num), 1.0
        out.append(Ingredient(substance, INGREDIENTS.get(key), num, num_uom, den, den_uom))
    return tuple(out)


def _int(text: str) -> int | None:
    return int(text) if text and text.isdigit() else None


@dataclass
class DmdViews:
    """The dm+d tables OpenPrescribing's measure SQL reads, rebuilt from the starter dictionary."""

    vtms: dict[int, str]
    vmps: dict[int, Vmp]
    amps: list[Amp]
    aware: list[tuple[str, str, str]]  # (vtm name, atc_route, aware_2024)
    bnf_names: dict[str, str]  # BNF presentation names the dictionary holds
    _by_bnf: dict[str, list[Vmp]] | None = field(default=None, repr=False, compare=False)

    def vmps_by_bnf(self) -> dict[str, list[Vmp]]:
        if self._by_bnf is None:
            out: dict[str, list[Vmp]] = defaultdict(list)
            for vmp in self.vmps.values():
                out[vmp.bnf_code].append(vmp)
            self._by_bnf = dict(out)
        return self._by_bnf

    def known_codes(self) -> set[str]:
        """BNF codes the dictionary places on a VMP (its own or one of its AMPs)."""
        return {v.bnf_code for v in self.vmps.values()} | {a.bnf_code for a in self.amps}

    def inferred_amps(self, codes: Iterable[str]) -> list[Amp]:
        """AMP rows for data codes the dictionary lacks, placed on their generic equivalent's VMPs
        (only brand codes: a generic code's equivalent is itself)."""
        known, by_bnf = self.known_codes(), self.vmps_by_bnf()
        out = []
        for code in sorted(set(codes) - known):
            generic = generic_equivalent(code)
            if generic != code:
                out += [Amp(None, "", v.id, code, True) for v in by_bnf.get(generic, [])]
        return out

    def aware_rows(self, amps: Iterable[Amp]) -> list[tuple[str, str]]:
        """(bnf_code, AWaRe class) for VMPs and AMPs whose VTM is classed (by VTM name).

        AWaRe classifies systemic antibiotics, so only oral and parenteral forms are classed
        (topical fusidic acid is not "Watch"); rows marked ``O`` or ``P`` apply to that route only.
        """
        classes: dict[frozenset[str], list[tuple[str, str]]] = defaultdict(list)
        for name, atc_route, klass in self.aware:
            classes[_vtm_key(name)].append((atc_route, klass))
        of_vmp: dict[int, set[str]] = {}
        for vmp in self.vmps.values():
            found = classes.get(_vtm_key(self.vtms.get(vmp.vtm or -1, "")))
            if not found:
                continue
            parenteral = any("injection" in f or "infusion" in f for f in vmp.form_routes)
            oral = any(f.endswith(".oral") for f in vmp.form_routes)
            of_vmp[vmp.id] = {
                klass
                for atc_route, klass in found
                if (atc_route in ("", "O") and oral) or (atc_route in ("", "P") and parenteral)
            }
        rows = {(self.vmps[v].bnf_code, k) for v, ks in of_vmp.items() for k in ks}
        rows |= {(a.bnf_code, k) for a in amps for k in of_vmp.get(a.vmp, ())}
        return sorted(rows)


def _vtm_key(name: str) -> frozenset[str]:
    return frozenset(part.strip().lower() for part in name.split("+") if part.strip())


def dictionary_path() -> Path:
    return Path(str(resources.files("ipmo.terminology") / "data" / "starter_dictionary.csv.gz"))


def _aware_table() -> list[dict[str, str]]:
    path = resources.files("ipmo.analytics") / "data" / "aware_vtms.csv"
    with path.open(encoding="utf-8") as handle:
        return [{k: (v or "").strip() for k, v in r.items()} for r in csv.DictReader(handle)]


def build_views(rows: Iterable[Mapping[str, str]]) -> DmdViews:
    """The dm+d tables from dictionary rows (columns kind, id, name, vmp_id, vtm_id, bnf_code,
    form, route, …)."""
    rows = list(rows)
    previous = {r["id"]: r["new_id"] for r in rows if r["kind"] == "MAP"}
    aware_rows = _aware_table()
    aware = [(r["vtm_nm"], r["atc_route"], r["aware_2024"]) for r in aware_rows]
    vtms = {int(r["id"]): r["name"] for r in rows if r["kind"] == "VTM" and _int(r["id"])}
    newer = {_vtm_key(name): vid for name, vid in REIDENTIFIED_VTMS.items()}
    for entry in aware_rows:
        if _int(entry["vtm_id"]):
            newer.setdefault(_vtm_key(entry["vtm_nm"]), int(entry["vtm_id"]))
    current_vtm = {}
    for vid, name in list(vtms.items()):
        new = newer.get(_vtm_key(name))
        if new is not None and new != vid:
            current_vtm[vid] = new
            vtms[new] = name
    vmp_rows = [
        r
        for r in rows
        if r["kind"] == "VMP" and len(r["bnf_code"]) in _BNF_LENGTHS and _int(r["id"])
    ]
    ids = {r["id"] for r in vmp_rows}
    vmps: dict[int, Vmp] = {}
    seen: set[tuple[str, str]] = set()
    for r in sorted(vmp_rows, key=lambda r: (r["id"] in previous, r["id"])):
        if previous.get(r["id"]) in ids:
            continue  # a previous id whose current id is present
        key = (r["bnf_code"], r["name"].lower())
        if key in seen or not r["name"]:
            continue
        seen.add(key)
        vtm = _int(r["vtm_id"])
        vmps[int(r["id"])] = Vmp(
            id=int(r["id"]),
            name=r["name"],
            bnf_code=r["bnf_code"],
            vtm=current_vtm.get(vtm, vtm) if vtm else None,
            form_routes=ont_form_routes(r["name"], r["form"], r["route"]),
            dform=_dform(r["form"]),
            ingredients=_ingredients(r["name"]),
        )
    amps = []
    for r in rows:
        if r["kind"] != "AMP" or len(r["bnf_code"]) not in _BNF_LENGTHS or not _int(r["id"]):
            continue
        vmp_id = _int(previous.get(r["vmp_id"], r["vmp_id"]))
        if vmp_id is not None and vmp_id in vmps:
            amps.append(Amp(int(r["id"]), r["name"], vmp_id, r["bnf_code"]))
    bnf_names = {r["id"]: r["name"] for r in rows if r["kind"] == "BNF" and r["name"]}
    for vmp in vmps.values():
        bnf_names.setdefault(vmp.bnf_code, vmp.name)
    for amp in amps:
        bnf_names.setdefault(amp.bnf_code, amp.name)
    return DmdViews(vtms, vmps, amps, aware, bnf_names)


@lru_cache(maxsize=2)
def load_views(path: Path | None = None) -> DmdViews:
    """The views from the shipped starter dictionary (read once per process; the shipped one's
    are also cached on disk, keyed by the dictionary and code — ``plan_cache.py``)."""
    if path is None:
        return plan_cache.cached(plan_cache.key("dmd-views"), lambda: _shipped_tables()[0])
    return _read_views(path)


def shipped_index() -> DmdIndex:
    """``dmd_index.dmd_index()`` (same rows, same function), cached on disk like the views and
    built from the same single read of the dictionary when both are needed (a cold run)."""
    return plan_cache.cached(plan_cache.key("dmd-index"), lambda: _shipped_tables()[1])


@lru_cache(maxsize=1)
def _shipped_tables() -> tuple[DmdViews, DmdIndex]:
    """Views and index of the shipped dictionary from one read of it (~0.25 s saved cold)."""
    with gzip.open(dictionary_path(), "rt", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return build_views(rows), build_index(rows)


def _read_views(path: Path) -> DmdViews:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        return build_views(csv.DictReader(handle))
