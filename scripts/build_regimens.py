"""Build ``synth/data/regimens.csv`` from the public dm+d codelists in ``../shared``.

Why a build step: the generator must run without ``../shared`` (nothing is read from /work at run
time), yet every medicine it prescribes should carry a real dm+d VMP id, its name and BNF code.
This script reads the OpenSAFELY codelists (``shared/terminology/public_codelists`` and
``shared/clinical``), keeps only ids that pass the SNOMED CT Verhoeff check (about 6,000 upstream
ids were damaged by float conversion — see ``shared/terminology/README.md``), looks up each product
named in :data:`WANTED` by exact name, and writes the curated table with its provenance.

Run: ``uv run python scripts/build_regimens.py [SHARED_DIR]`` (development time only).
"""

from __future__ import annotations

import csv
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from ipmo.terminology.verhoeff import verhoeff_ok as check_digit_ok

OUT = Path(__file__).resolve().parents[1] / "src" / "ipmo" / "synth" / "data" / "regimens.csv"


def verhoeff_ok(code: str) -> bool:
    """True when a SNOMED CT / dm+d id's last digit is its Verhoeff check digit."""
    return len(code) >= 6 and check_digit_ok(code)


CODE_COLS = ("dmd_id", "dmd", "code", "id", "snomed_id", "snomedid")
TERM_COLS = ("dmd_name", "term", "nm", "name", "dmd_description")
TYPE_COLS = ("dmd_type", "obj_type", "type")
DMD_TYPES = {"VTM", "VMP", "AMP", "VMPP", "AMPP"}
FLOAT_LIMIT = 2**53
# Files whose ids went through a float upstream (shared/terminology/README.md, "Data quality"):
# an id above 2^53 from one of them may pass Verhoeff by chance and still be wrong.
DAMAGED = {
    "user-BillyZhongUOM-brit_new_dmd.csv",
    "user-rriefu-antibiotics_dmd.csv",
    "user-rriefu-broad-spectrum-antibiotics.csv",
    "user-BillyZhongUOM-broad_spec_op_codelist.csv",
    "user-BillyZhongUOM-broad_spectrum_op.csv",
    "user-yayang-nitrofurantoin_op.csv",
    "user-yayang-codes_ab_type_nitrofurantoincsv.csv",
    "user-yayang-codes_ab_type_trimethoprimcsv.csv",
    "user-yayang-trimethoprim_op.csv",
    "user-elsie_horne-hypertension_drugs_dmd.csv",
    "user-elsie_horne-diabetes_drugs_dmd.csv",
    "user-elsie_horne-lipid_lowering_dmd.csv",
    "user-elsie_horne-antiplatelet_dmd.csv",
    "user-elsie_horne-anticoagulant_dmd.csv",
    "user-elsie_horne-hrt_dmd.csv",
    "user-elsie_horne-cocp_dmd.csv",
    "opensafely-levothyroxine.csv",
    "opensafely-levothyroxine_new.csv",
    "opensafely-methotrexate-oral.csv",
}
EPD_SAMPLE = "peers/openprescribing/fixtures/epd_format/epd_201709_e2e_4practices.csv"


@dataclass
class Entry:
    code: str
    name: str
    dmd_type: str
    bnf: str
    source: str


def _read(path: Path, rel: str) -> list[Entry]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        return []
    header = [h.strip().lower() for h in rows[0]]

    def col(names: tuple[str, ...]) -> int | None:
        for n in names:
            if n in header:
                return header.index(n)
        return None

    ci, ti = col(CODE_COLS), col(TERM_COLS)
    bi = col(("bnf_code", "bnf"))
    yi = None
    for n in TYPE_COLS:
        if n in header:
            j = header.index(n)
            vals = {r[j].strip().upper() for r in rows[1:] if len(r) > j and r[j].strip()}
            if vals and vals <= DMD_TYPES:
                yi = j
                break
    if ci is None or ti is None:
        return []
    out = []
    for r in rows[1:]:
        if len(r) <= max(ci, ti):
            continue
        code, name = r[ci].strip(), r[ti].strip()
        if not name or not verhoeff_ok(code) or (int(code) > FLOAT_LIMIT and path.name in DAMAGED):
            continue  # quarantined: damaged upstream (README "Data quality")
        dtype = r[yi].strip().upper() if yi is not None and len(r) > yi else ""
        bnf = r[bi].strip() if bi is not None and len(r) > bi else ""
        out.append(Entry(code, name, dtype, bnf, rel))
    return out


def load_dictionary(shared: Path) -> dict[str, list[Entry]]:
    """Exact product name (lower case) → entries seen for it, across all medicine lists."""
    by_name: dict[str, list[Entry]] = {}
    roots = [shared / "terminology" / "public_codelists", shared / "clinical"]
    for root in roots:
        for path in sorted(root.rglob("*.csv")):
            rel = str(path.relative_to(shared))
            for e in _read(path, rel):
                by_name.setdefault(e.name.lower(), []).append(e)
    return by_name


# (class, VMP name exactly as in dm+d, dose text, quantity per 28 days, BNF chapter group)
# Classes are what the generator's regimens pick from; see ipmo.synth.regimens for which
# conditions use which class and why.
WANTED: list[tuple[str, str, str, int]] = [
    ("acei", "Ramipril 5mg capsules", "One capsule once daily", 28),
    ("acei", "Ramipril 10mg capsules", "One capsule once daily", 28),
    ("acei", "Lisinopril 10mg tablets", "One tablet once daily", 28),
    ("arb", "Losartan 50mg tablets", "One tablet once daily", 28),
    ("arb", "Candesartan 8mg tablets", "One tablet once daily", 28),
    ("ccb", "Amlodipine 5mg tablets", "One tablet once daily", 28),
    ("ccb", "Amlodipine 10mg tablets", "One tablet once daily", 28),
    ("thiazide", "Indapamide 2.5mg tablets", "One tablet each morning", 28),
    ("thiazide", "Bendroflumethiazide 2.5mg tablets", "One tablet each morning", 28),
    ("alpha_blocker", "Doxazosin 4mg tablets", "One tablet once daily", 28),
    ("beta_blocker", "Bisoprolol 2.5mg tablets", "One tablet once daily", 28),
    ("beta_blocker", "Bisoprolol 5mg tablets", "One tablet once daily", 28),
    ("beta_blocker", "Atenolol 50mg tablets", "One tablet once daily", 28),
    ("nsbb", "Propranolol 40mg tablets", "One tablet twice daily", 56),
    ("statin", "Atorvastatin 20mg tablets", "One tablet once daily", 28),
    ("statin", "Atorvastatin 40mg tablets", "One tablet once daily", 28),
    ("statin", "Atorvastatin 80mg tablets", "One tablet once daily", 28),
    ("statin", "Simvastatin 40mg tablets", "One tablet at night", 28),
    ("metformin", "Metformin 500mg tablets", "One tablet twice daily with food", 56),
    ("sulfonylurea", "Gliclazide 80mg tablets", "One tablet twice daily", 56),
    ("dpp4", "Sitagliptin 100mg tablets", "One tablet once daily", 28),
    ("sglt2", "Dapagliflozin 10mg tablets", "One tablet once daily", 28),
    ("sglt2", "Empagliflozin 10mg tablets", "One tablet once daily", 28),
    ("aspirin", "Aspirin 75mg dispersible tablets", "One tablet once daily", 28),
    ("antiplatelet", "Clopidogrel 75mg tablets", "One tablet once daily", 28),
    ("antiplatelet", "Ticagrelor 90mg tablets", "One tablet twice daily", 56),
    ("doac", "Apixaban 5mg tablets", "One tablet twice daily", 56),
    ("doac", "Apixaban 2.5mg tablets", "One tablet twice daily", 56),
    ("doac", "Rivaroxaban 20mg tablets", "One tablet once daily with food", 28),
    ("doac", "Edoxaban 60mg tablets", "One tablet once daily", 28),
    ("warfarin", "Warfarin 1mg tablets", "As directed by the anticoagulant clinic", 56),
    ("warfarin", "Warfarin 3mg tablets", "As directed by the anticoagulant clinic", 28),
    ("loop", "Furosemide 40mg tablets", "One tablet each morning", 28),
    ("loop", "Furosemide 20mg tablets", "One tablet each morning", 28),
    ("mra", "Spironolactone 25mg tablets", "One tablet once daily", 28),
    ("amiodarone", "Amiodarone 200mg tablets", "One tablet once daily", 28),
    ("saba", "Salbutamol 100micrograms/dose inhaler CFC free", "Two puffs when required", 1),
    ("ics", "Beclometasone 100micrograms/dose inhaler CFC free", "Two puffs twice daily", 1),
    (
        "ics_laba",
        "Beclometasone 100micrograms/dose / Formoterol 6micrograms/dose inhaler CFC free",
        "One puff twice daily",
        1,
    ),
    ("ltra", "Montelukast 10mg tablets", "One tablet at night", 28),
    (
        "lama",
        "Tiotropium bromide 18microgram inhalation powder capsules with device",
        "Inhale the contents of one capsule once daily",
        30,
    ),
    ("ssri", "Sertraline 50mg tablets", "One tablet once daily", 28),
    ("ssri", "Citalopram 20mg tablets", "One tablet once daily", 28),
    ("ssri", "Fluoxetine 20mg capsules", "One capsule once daily", 28),
    ("mirtazapine", "Mirtazapine 15mg tablets", "One tablet at night", 28),
    ("tca", "Amitriptyline 10mg tablets", "One to two tablets at night", 56),
    ("antipsychotic", "Quetiapine 25mg tablets", "One tablet twice daily", 56),
    ("antipsychotic", "Olanzapine 10mg tablets", "One tablet at night", 28),
    ("antipsychotic", "Risperidone 1mg tablets", "One tablet twice daily", 56),
    ("lithium", "Lithium carbonate 400mg modified-release tablets", "One tablet at night", 28),
    ("levothyroxine", "Levothyroxine sodium 50microgram tablets", "One tablet each morning", 28),
    ("levothyroxine", "Levothyroxine sodium 100microgram tablets", "One tablet each morning", 28),
    ("methotrexate", "Methotrexate 2.5mg tablets", "Six tablets once a week on the same day", 24),
    ("ppi", "Omeprazole 20mg gastro-resistant capsules", "One capsule once daily", 28),
    ("ppi", "Lansoprazole 30mg gastro-resistant capsules", "One capsule once daily", 28),
    ("nsaid", "Naproxen 500mg tablets", "One tablet twice daily with food", 56),
    ("nsaid", "Naproxen 250mg tablets", "One tablet three times a day with food", 84),
    ("nsaid", "Ibuprofen 400mg tablets", "One tablet three times a day with food", 84),
    (
        "nsaid",
        "Diclofenac sodium 50mg gastro-resistant tablets",
        "One tablet three times a day",
        84,
    ),
    ("weak_opioid", "Co-codamol 30mg/500mg tablets", "Two tablets up to four times a day", 100),
    ("weak_opioid", "Codeine 30mg tablets", "One tablet up to four times a day", 56),
    ("weak_opioid", "Tramadol 50mg capsules", "One to two capsules up to four times a day", 100),
    ("strong_opioid", "Morphine 10mg modified-release tablets", "One tablet twice daily", 56),
    ("gabapentinoid", "Pregabalin 75mg capsules", "One capsule twice daily", 56),
    ("gabapentinoid", "Gabapentin 300mg capsules", "One capsule three times a day", 84),
    ("benzo", "Diazepam 2mg tablets", "One tablet three times a day when required", 28),
    ("z_drug", "Zopiclone 7.5mg tablets", "One tablet at night when required", 14),
    ("allopurinol", "Allopurinol 100mg tablets", "One tablet once daily", 28),
    ("antihistamine", "Cetirizine 10mg tablets", "One tablet once daily", 30),
    ("antihistamine", "Chlorphenamine 4mg tablets", "One tablet up to four times a day", 28),
    ("valproate", "Sodium valproate 500mg gastro-resistant tablets", "One tablet twice daily", 56),
    ("oral_steroid", "Prednisolone 5mg tablets", "Six tablets once daily for 5 days", 30),
    ("antibiotic", "Amoxicillin 500mg capsules", "One capsule three times a day for 5 days", 15),
    (
        "antibiotic",
        "Nitrofurantoin 100mg modified-release capsules",
        "One capsule twice daily for 3 days",
        6,
    ),
    ("antibiotic", "Trimethoprim 200mg tablets", "One tablet twice daily for 3 days", 6),
    ("antibiotic", "Doxycycline 100mg capsules", "One capsule once daily for 5 days", 6),
    ("antibiotic", "Flucloxacillin 500mg capsules", "One capsule four times a day for 7 days", 28),
    ("antibiotic", "Clarithromycin 500mg tablets", "One tablet twice daily for 5 days", 10),
    ("hrt", "Estradiol 1mg tablets", "One tablet once daily", 28),
    (
        "insulin",
        "Insulin glargine 100units/ml solution for injection 3ml cartridges",
        "Inject as directed once daily",
        1,
    ),
    ("snri", "Duloxetine 60mg gastro-resistant capsules", "One capsule once daily", 28),
    ("snri", "Venlafaxine 75mg modified-release capsules", "One capsule once daily", 28),
    ("trazodone", "Trazodone 50mg capsules", "One to two capsules at night", 56),
    ("dmard", "Hydroxychloroquine 200mg tablets", "One tablet twice daily", 56),
    ("dmard", "Sulfasalazine 500mg gastro-resistant tablets", "Two tablets twice daily", 112),
    ("colchicine", "Colchicine 500microgram tablets", "One tablet two to four times a day", 12),
    (
        "strong_opioid",
        "Buprenorphine 10micrograms/hour transdermal patches",
        "Apply one patch every 7 days",
        4,
    ),
    ("strong_opioid", "Oxycodone 5mg capsules", "One capsule every 4-6 hours when required", 56),
    ("oral_steroid_lt", "Prednisolone 1mg tablets", "Five tablets once daily", 140),
    ("eye_nsbb", "Timolol 0.25% eye drops", "One drop twice daily in both eyes", 1),
    ("eye_nsbb", "Timolol 0.5% eye drops", "One drop twice daily in both eyes", 1),
    ("ssri", "Sertraline 100mg tablets", "One tablet once daily", 28),
    ("antiemetic", "Prochlorperazine 5mg tablets", "One tablet three times a day if needed", 28),
    ("h2ra", "Famotidine 20mg tablets", "One tablet twice daily", 56),
    ("ppi", "Omeprazole 10mg gastro-resistant capsules", "One capsule once daily", 28),
    ("ppi", "Lansoprazole 15mg gastro-resistant capsules", "One capsule once daily", 28),
    ("acei", "Ramipril 2.5mg capsules", "One capsule once daily", 28),
    ("ccb", "Felodipine 5mg modified-release tablets", "One tablet once daily", 28),
    ("beta_blocker", "Metoprolol 50mg tablets", "One tablet twice daily", 56),
    ("statin", "Rosuvastatin 10mg tablets", "One tablet once daily", 28),
]


def _pick(entries: list[Entry], wanted: str) -> Entry | None:
    """Prefer the id most lists agree on, typed VMP, named exactly, with a BNF code."""
    votes: dict[str, int] = {}
    recoded: set[str] = set()
    for e in entries:
        votes[e.code] = votes.get(e.code, 0) + 1
        # The `*_new.csv` lists add the ids that replaced re-coded VMPs (UK namespace, 2022):
        # prefer the current id (terminology README, opensafely_dmd_codelist_investigation).
        if e.source.endswith("_new.csv") and "1000001" in e.code:
            recoded.add(e.code)

    def score(e: Entry) -> tuple[int, int, int, int, int, int, str]:
        return (
            e.dmd_type != "AMP",
            len(e.bnf) == 15 or e.code in recoded,
            e.code in recoded,
            votes[e.code],
            e.name == wanted,
            e.dmd_type == "VMP",
            e.code,
        )

    best = sorted(entries, key=score, reverse=True)
    return best[0] if best else None


def _vtm_for(name: str, by_name: dict[str, list[Entry]]) -> str:
    """The VTM id when some list carries the bare substance (e.g. PINCER lists' 'Naproxen')."""
    words = name.split()
    for n in range(len(words), 0, -1):
        hits = [
            e for e in by_name.get(" ".join(words[:n]).lower(), []) if e.dmd_type in ("VTM", "")
        ]
        hits = [e for e in hits if "1000001" not in e.code]  # VTMs live in the international ns
        if hits and not any(ch.isdigit() for ch in " ".join(words[:n])):
            return sorted(hits, key=lambda e: e.code)[0].code
    return ""


def _epd_bnf(shared: Path) -> dict[tuple[str, str, str], str]:
    """(substance, form, strength) → BNF code from the real EPD sample ("Furosemide_Tab 40mg")."""
    out: dict[tuple[str, str, str], str] = {}
    with (shared / EPD_SAMPLE).open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            m = re.fullmatch(r"([A-Za-z ]+)_(Tab|Cap) (\S+)", row["BNF_DESCRIPTION"].strip())
            if m:
                out[(m[1].lower(), m[2].lower(), m[3].lower())] = row["BNF_CODE"]
    return out


def _bnf_fallback(name: str, epd: dict[tuple[str, str, str], str]) -> str:
    m = re.fullmatch(r"([A-Za-z ]+?) (\S+) (tablets|capsules)", name)
    if not m:
        return ""
    return epd.get((m[1].lower(), m[3][:3], m[2].lower()), "")


def _branded(name: str, vmp: str, by_name: dict[str, list[Entry]]) -> Entry | None:
    """One AMP of the VMP ("Amlodipine 5mg tablets (Accord Healthcare Ltd)"), for brand/generic
    discrepancies between sources; the id most lists agree on, then the lowest."""
    prefix = name.lower() + " ("
    hits: dict[str, Entry] = {}
    votes: dict[str, int] = {}
    for key, entries in by_name.items():
        if key.startswith(prefix):
            for e in entries:
                if e.dmd_type in ("AMP", "") and "1000001" in e.code and e.code != vmp:
                    hits.setdefault(e.code, e)
                    votes[e.code] = votes.get(e.code, 0) + 1
    if not hits:
        return None
    return hits[sorted(hits, key=lambda c: (-votes[c], c))[0]]


def build(shared: Path) -> list[dict[str, str]]:
    by_name = load_dictionary(shared)
    by_code: dict[str, list[Entry]] = {}
    for entries in by_name.values():
        for e in entries:
            by_code.setdefault(e.code, []).append(e)
    epd = _epd_bnf(shared)
    rows, missing = [], []
    for cls, name, dose, qty in WANTED:
        entry = _pick(by_name.get(name.lower(), []), name)
        if entry is None:
            missing.append(name)
            continue
        # A BNF code may be missing on the chosen row but present on another row for the same id
        # (any list), else in the real EPD sample by substance/form/strength.
        source = entry.source
        bnf = entry.bnf or next((e.bnf for e in by_code[entry.code] if len(e.bnf) == 15), "")
        if not bnf and (bnf := _bnf_fallback(name, epd)):
            source += ";" + EPD_SAMPLE
        amp = _branded(name, entry.code, by_name)
        rows.append(
            {
                "drug_class": cls,
                "vmp_code": entry.code,
                "name": name,
                "vtm_code": _vtm_for(entry.name, by_name),
                "bnf_code": bnf,
                "amp_code": amp.code if amp else "",
                "amp_name": amp.name.removesuffix(" (product)") if amp else "",
                "dose_text": dose,
                "quantity": str(qty),
                "source": source,
            }
        )
    for name in missing:
        print(f"not found in ../shared (left out): {name}", file=sys.stderr)
    return rows


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    shared = Path(argv[0]) if argv else Path(__file__).resolve().parents[1].parent / "shared"
    rows = build(shared)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} products to {OUT}")


if __name__ == "__main__":
    main()
