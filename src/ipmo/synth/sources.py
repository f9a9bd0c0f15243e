"""Hospital admissions and per-source medication lists with realistic discrepancies.

Three views of the same patient's medicines (the One Medication Record's inputs):
- **GP** (``gpconnect``): every repeat course, current and recently stopped.
- **Community pharmacy dispensing** (``eps-dispensing``): what the nominated pharmacy supplied —
  some items not collected (omission), some dispensed as a branded AMP (brand vs generic), some
  still dispensed after the GP stopped them (stopped in one source), a few duplicated.
- **Hospital on admission** (``epma``): for people admitted in the last year — omissions, dose or
  frequency changes, new inpatient medicines.

Rates are generator assumptions in the range reported for medicines reconciliation (unintentional
discrepancies affect a third to two thirds of admitted patients: Tam VC et al., CMAJ 2005).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np

from ipmo.synth.people import People
from ipmo.synth.prescribing import Prescribing, Products

REASONS = np.array(
    [
        "Fall",
        "Pneumonia",
        "Urinary tract infection",
        "Heart failure exacerbation",
        "COPD exacerbation",
        "Chest pain",
        "Acute kidney injury",
        "Cellulitis",
        "Elective hip replacement",
        "Gastroenteritis",
    ]
)

# np.where(cond, None, value) as numpy's stubs accept it: an object-array None
_NONE = np.array(None, dtype=object)


@dataclass
class Admissions:
    pt: np.ndarray
    trust: np.ndarray
    admitted_ago: np.ndarray
    discharged_ago: np.ndarray  # -1 = still in hospital
    reason: np.ndarray
    is_fall: np.ndarray


def build_admissions(people: People, n_trusts: int, rng) -> Admissions:
    age = people.age
    p = np.where(age >= 80, 0.30, np.where(age >= 65, 0.16, np.where(age >= 18, 0.07, 0.05)))
    p = np.where(people.care_home >= 0, 0.40, p)
    pt = np.flatnonzero(rng.random(people.n) < p)
    m = len(pt)
    admitted = rng.integers(0, 365, m)
    los = rng.geometric(0.2, m)
    discharged = admitted - los
    discharged = np.where(discharged < 0, -1, discharged)
    is_fall = (age[pt] >= 65) & (rng.random(m) < 0.12)
    reason = np.where(is_fall, "Fall", REASONS[1 + rng.integers(0, len(REASONS) - 1, m)])
    trust = people.place[pt] % max(n_trusts, 1)
    return Admissions(pt, trust, admitted, discharged, reason, is_fall)


@dataclass
class SourceData:
    lists: dict[str, np.ndarray | list]
    items: dict[str, np.ndarray | list]


def _form_route(name: str) -> tuple[str, str]:
    low = name.lower()
    for word, form, route in (
        ("inhaler", "inhaler", "inhalation"),
        ("inhalation", "inhalation powder", "inhalation"),
        ("capsules", "capsule", "oral"),
        ("tablets", "tablet", "oral"),
    ):
        if word in low:
            return form, route
    return "", "oral"


def build_sources(
    people, presc: Prescribing, products: Products, adm: Admissions, orgs, rng
) -> SourceData:
    n_prod = len(products.vmp)
    forms = np.array([_form_route(str(x))[0] for x in products.name], dtype=object)
    routes = np.array([_form_route(str(x))[1] for x in products.name], dtype=object)
    dosage = np.array([json.dumps([{"text": d}]) for d in products.dose], dtype=object)

    # (list index, product, status, category, dose override, as_amp) per item
    l_pt: list[np.ndarray] = []
    l_kind: list[np.ndarray] = []
    l_org: list[np.ndarray] = []
    l_system: list[np.ndarray] = []
    it: dict[str, list[np.ndarray]] = {
        k: [] for k in ("list", "prod", "status", "category", "amp", "dose_alt", "course")
    }

    def new_lists(pts, kind, org_codes, system):
        start = sum(len(x) for x in l_pt)
        l_pt.append(pts)
        l_kind.append(np.full(len(pts), kind, dtype=object))
        l_org.append(org_codes)
        l_system.append(np.full(len(pts), system, dtype=object))
        return start

    def add_items(list_idx, prod, status, category, course, amp=None, dose_alt=None):
        k = len(list_idx)
        it["list"].append(list_idx)
        it["prod"].append(prod)
        it["status"].append(
            np.asarray(status, dtype=object)
            if np.ndim(status)
            else np.full(k, status, dtype=object)
        )
        it["category"].append(np.full(k, category, dtype=object))
        it["course"].append(course)
        it["amp"].append(amp if amp is not None else np.zeros(k, bool))
        it["dose_alt"].append(dose_alt if dose_alt is not None else np.zeros(k, bool))

    n = people.n
    c_pt, c_prod, stopped = presc.pt, presc.prod, presc.stopped
    courses = np.arange(len(c_pt))
    practice_codes = np.array(orgs.practice_codes, dtype=object)
    pharmacy_codes = np.array(orgs.pharmacy_codes, dtype=object)
    trust_codes = np.array(orgs.trust_codes, dtype=object)

    # GP lists: everyone with a repeat course
    gp_patients = np.unique(c_pt)
    slot = np.full(n, -1)
    start = new_lists(gp_patients, "gp", practice_codes[people.practice[gp_patients]], "gpconnect")
    slot[gp_patients] = start + np.arange(len(gp_patients))
    add_items(slot[c_pt], c_prod, np.where(stopped, "stopped", "active"), "repeat", courses)

    # Pharmacy dispensing lists
    has_active = np.zeros(n, bool)
    has_active[c_pt[~stopped]] = True
    ph_patients = np.flatnonzero(has_active & (people.pharmacy >= 0))
    slot = np.full(n, -1)
    start = new_lists(
        ph_patients, "pharmacy", pharmacy_codes[people.pharmacy[ph_patients]], "eps-dispensing"
    )
    slot[ph_patients] = start + np.arange(len(ph_patients))
    r = rng.random(len(c_pt))
    keep = (slot[c_pt] >= 0) & ((~stopped & (r >= 0.06)) | (stopped & (r < 0.30)))
    has_amp = products.amp_code[c_prod] != ""
    amp = has_amp & (rng.random(len(c_pt)) < 0.15)
    add_items(slot[c_pt[keep]], c_prod[keep], "active", "repeat", courses[keep], amp=amp[keep])
    dup = keep & has_amp & (rng.random(len(c_pt)) < 0.02)
    add_items(slot[c_pt[dup]], c_prod[dup], "active", "repeat", courses[dup], amp=~amp[dup])

    # Hospital admission lists (EPMA), for admissions with a GP list
    adm_with_meds = np.isin(adm.pt, gp_patients)
    a_pt = adm.pt[adm_with_meds]
    a_pt, first = np.unique(a_pt, return_index=True)
    a_trust = adm.trust[adm_with_meds][first]
    slot = np.full(n, -1)
    start = new_lists(a_pt, "hospital", trust_codes[a_trust], "epma")
    slot[a_pt] = start + np.arange(len(a_pt))
    r = rng.random(len(c_pt))
    keep = (slot[c_pt] >= 0) & ~stopped & (r >= 0.15)
    changed = rng.random(len(c_pt)) < 0.08
    add_items(
        slot[c_pt[keep]], c_prod[keep], "active", "inpatient", courses[keep], dose_alt=changed[keep]
    )
    newcomers = a_pt[rng.random(len(a_pt)) < 0.10]
    new_prod = products.by_class["ppi"][
        rng.integers(0, len(products.by_class["ppi"]), len(newcomers))
    ]
    add_items(slot[newcomers], new_prod, "active", "inpatient", np.full(len(newcomers), -1))

    lists = {
        "pt": np.concatenate(l_pt),
        "kind": np.concatenate(l_kind),
        "org": np.concatenate(l_org),
        "system": np.concatenate(l_system),
    }
    items = {k: np.concatenate(v) for k, v in it.items()}
    order = np.argsort(items["list"], kind="stable")
    items = {k: v[order] for k, v in items.items()}

    prod = items["prod"]
    amp_mask = items["amp"]
    dose = products.dose[prod].astype(str)
    alt = np.where(
        np.char.find(dose, "twice") >= 0, "One tablet once daily", "One tablet twice daily"
    )
    items["dose_text"] = np.where(items["dose_alt"], alt, dose).astype(object)
    alt_json = {a: json.dumps([{"text": a}]) for a in np.unique(alt)}
    items["dosage"] = np.where(
        items["dose_alt"],
        np.array([alt_json[a] for a in alt.tolist()], dtype=object),
        dosage[prod],
    )
    items["dmd_code"] = np.where(amp_mask, products.amp_code[prod], products.vmp[prod])
    items["name"] = np.where(amp_mask, products.amp_name[prod], products.name[prod])
    items["mapping"] = np.where(amp_mask, "amp", "exact").astype(object)
    items["vmp_code"] = products.vmp[prod]
    items["vtm_code"] = np.where(products.vtm[prod] == "", _NONE, products.vtm[prod])
    items["form"] = forms[prod]
    items["route"] = routes[prod]
    course = items["course"]
    known = course >= 0
    items["authored_ago"] = np.where(known, presc.start_ago[np.maximum(course, 0)], 0)
    items["last_ago"] = np.where(known, presc.last_ago[np.maximum(course, 0)], 0)
    items["stopped"] = known & presc.stopped[np.maximum(course, 0)] & (items["status"] == "stopped")
    hashes = _content_hashes(len(lists["pt"]), items)
    _ = n_prod
    return SourceData({**lists, "hash": hashes}, dict(items))


def _content_hashes(n_lists: int, items) -> list[str]:
    """SHA-256 of each list's items (code, status, dose): same content, same hash."""
    key = [
        f"{c}|{s}|{d}"
        for c, s, d in zip(
            items["dmd_code"].tolist(),
            items["status"].tolist(),
            items["dose_text"].tolist(),
            strict=True,
        )
    ]
    bounds = np.searchsorted(items["list"], np.arange(n_lists + 1))
    out = []
    for i in range(n_lists):
        out.append(hashlib.sha256("\n".join(key[bounds[i] : bounds[i + 1]]).encode()).hexdigest())
    return out
