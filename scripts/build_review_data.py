"""Build the files in ``review/data/`` from the shared research folder (``../shared``).

Run ``uv run python scripts/build_review_data.py ../shared`` after the shared codelists change. The
product never reads ``../shared`` at run time: it reads only what this script writes, with the
attribution in ``data/SOURCE.md``. Ids are read as text and checked with the Verhoeff check digit
(SNOMED CT and dm+d ids carry one) because some upstream CSVs were float-damaged
(shared/terminology/README.md, "Data quality").
"""

from __future__ import annotations

import csv
import gzip
import io
import sys
from pathlib import Path

from ipmo.terminology.verhoeff import verhoeff_ok as check_digit_ok

DATA = Path(__file__).resolve().parents[1] / "src" / "ipmo" / "review" / "data"
PUB = "terminology/public_codelists"
SMR = "clinical/smr/opensafely_medication-reviews_codelists"
DOAC = "clinical/high_risk_monitoring/opensafely_doacs-covid19_codelists"
PIN = "clinical/pincer/codelists"

# set name -> shared files whose codes make up the set (SNOMED clinical codes or dm+d ids).
CODE_SETS: dict[str, list[str]] = {
    # PINCER (OpenSAFELY pincer-measures codelists, RULES.md §1.3)
    **{
        f"pincer_{n}": [f"{PIN}/pincer-{n}.csv"]
        for n in [
            "acei",
            "amio",
            "anticoag",
            "antiplat",
            "aspirin",
            "diur",
            "lith",
            "met",
            "non_asp_antiplate",
            "nsaid",
            "nsbb",
            "ppi",
            "pep",
            "gi_bleed",
            "ast",
            "ast_res",
            "hf",
            "egfr",
            "renal",
            "electro",
            "fbc",
            "lft",
            "lith_lev",
            "tft",
        ]
    },
    # SMR cohorts (RULES.md §4.2)
    "carehome": [f"{SMR}/nhsd-primary-care-domain-refsets-carehome_cod.csv"],
    "learning_disability": [f"{SMR}/nhsd-primary-care-domain-refsets-ld_cod.csv"],
    "smr": [f"{SMR}/opensafely-structured-medication-review-nhs-england.csv"],
    "addictive": [f"{SMR}/opensafely-addictive-medicines.csv"],
    "high_dose_opioid": [f"{SMR}/opensafely-high-dose-long-acting-opioids-openprescribing-dmd.csv"],
    "dmard": [f"{SMR}/opensafely-dmards.csv"],
    "teratogenic": [f"{SMR}/opensafely-teratogenic-medicines.csv"],
    "doac": [f"{DOAC}/opensafely-direct-acting-oral-anticoagulants-doac.csv"],
    "af": [f"{DOAC}/nhsd-primary-care-domain-refsets-afib_cod.csv"],
    "creatinine": [f"{DOAC}/user-RachelS99-doac-creatinine-level-corrected.csv"],
    "crcl": [f"{DOAC}/user-RachelS99-doac-creatinine-clearance.csv"],
    "dementia": [
        f"{PUB}/opensafely_disease_incidence/nhsd-primary-care-domain-refsets-dem_cod.csv",
        f"{PUB}/opensafely_post-covid-neurodegenerative/bristol-lewy-body-dementia-snomed-v1.csv",
    ],
    "severe_frailty": [
        f"{PUB}/milanwiedemann_phc-coding-club/nhsd-primary-care-domain-refsets-sevfrail_cod.csv"
    ],
    "moderate_frailty": [
        f"{PUB}/milanwiedemann_phc-coding-club/nhsd-primary-care-domain-refsets-modfrail_cod.csv"
    ],
    "efi": [f"{PUB}/opensafely_covid_collateral_hf/nhsd-primary-care-domain-refsets-efi_cod.csv"],
    "falls": [
        f"{PUB}/opensafely_covid_collateral_hf/nhsd-primary-care-domain-refsets-falls_cod.csv"
    ],
    "palliative": [
        f"{PUB}/opensafely_metformin_covid/nhsd-primary-care-domain-refsets-palcare_cod.csv"
    ],
    "housebound": [f"{PUB}/opensafely_mab-av-non-users/opensafely-housebound.csv"],
    "vascular_disease": [
        f"{PUB}/opensafely_disease_incidence/nhsd-primary-care-domain-refsets-chd_cod.csv",
        f"{PUB}/opensafely_deaths-at-home-covid19/nhsd-primary-care-domain-refsets-strk_cod.csv",
        f"{PUB}/opensafely_disease_incidence/nhsd-primary-care-domain-refsets-tia_cod.csv",
        f"{PUB}/opensafely_deaths-at-home-covid19/nhsd-primary-care-domain-refsets-pad_cod.csv",
    ],
    "chd": [f"{PUB}/opensafely_disease_incidence/nhsd-primary-care-domain-refsets-chd_cod.csv"],
    "diabetes_t2": [f"{PUB}/REDUCE-HF_reducehf/nhsd-primary-care-domain-refsets-dmtype2_cod.csv"],
    "diabetes": [
        f"{PUB}/amygimma_bennett-research-onboarding-qof/nhsd-primary-care-domain-refsets-dm_cod.csv"
    ],
    "epilepsy": [
        f"{PUB}/opensafely_disease_incidence/nhsd-primary-care-domain-refsets-epil_cod.csv"
    ],
    "osteoporosis": [
        f"{PUB}/opensafely_disease_incidence/nhsd-primary-care-domain-refsets-osteo_cod.csv"
    ],
    "copd": [
        f"{PUB}/opensafely_winter-pressures-phase-II/nhsd-primary-care-domain-refsets-copd_cod.csv"
    ],
    "gout": [f"{PUB}/markdrussell_gout/user-markdrussell-gout.csv"],
    "rheumatoid_arthritis": [
        f"{PUB}/opensafely_disease_incidence/nhsd-primary-care-domain-refsets-rheumatoid-arthritis-disorders.csv"
    ],
    "statin_declined": [
        f"{PUB}/andrewscolm_statins_doi/nhsd-primary-care-domain-refsets-statindec_cod.csv",
        f"{PUB}/andrewscolm_statins_doi/nhsd-primary-care-domain-refsets-codes-for-intolerance-to-statins.csv",
        f"{PUB}/andrewscolm_statins_doi/nhsd-primary-care-domain-refsets-codes-indicating-contraindication-to-any-statin.csv",
    ],
    "weight": [f"{PUB}/REDUCE-HF_reducehf/opensafely-weight-snomed.csv"],
    "sodium": [
        f"{PUB}/opensafely_winter-pressures-phase-II/opensafely-sodium-tests-numerical-value.csv"
    ],
}

# Curated SNOMED CT sets where ../shared holds no codelist: (code, term) pairs, each id checked
# with its Verhoeff digit like the rest.
CURATED_SETS: dict[str, list[tuple[str, str]]] = {
    # STOPP v3 D14 "delirium or dementia" (O'Mahony D et al., Eur Geriatr Med 2023;14:625-632).
    # Delirium disorders and findings, the delirium codes of OpenCodelists
    # opensafely/symptoms-delirium; its procedures ("delirium management", "delirium care") and
    # the non-specific confusion codes are left out. Dementia with delirium is already in the
    # dementia set.
    "delirium": [
        ("2776000", "Delirium"),
        ("154859007", "Delirium"),
        ("231441005", "Delirium"),
        ("191507002", "Subacute delirium"),
        ("231440006", "Delirium of mixed origin"),
        ("724746000", "Delirium due to multiple etiological factors"),
        ("10361001", "Exhaustion delirium"),
        ("419567006", "Delirious"),
        ("162703005", "On examination - delirious"),
        ("139929008", "O/E - delirious"),
        ("192183008", "[X]Delirium not superimposed on dementia, so described"),
        ("471881000000106", "[X]Delirium not superimposed on dementia, so described"),
        ("192186000", "[X]Delirium, unspecified"),
        ("414751000000103", "[X]Delirium, unspecified"),
        ("268677005", "[X]Other delirium"),
        ("426771000000107", "[X]Other delirium"),
        ("192185001", "[X] Delirium: [mixed origin] or[other]"),
        ("470731000000107", "[X] Delirium: [mixed origin] or[other]"),
        ("725898002", "Delirium co-occurrent with dementia"),
        ("192184002", "[X]Delirium superimposed on dementia"),
        ("402771000000101", "[X]Delirium superimposed on dementia"),
    ],
}

CODE_COLS = ("dmd_id", "dmd", "code", "id", "snomed_id", "snomedid")
TERM_COLS = ("dmd_name", "term", "nm", "name", "dmd_description")


def verhoeff_ok(code: str) -> bool:
    """SNOMED CT identifiers end in a Verhoeff check digit; damaged ids fail it."""
    return 6 <= len(code) <= 18 and check_digit_ok(code)


def _rows(path: Path) -> list[tuple[str, str, str]]:
    """(code, term, bnf_code) for every row, picking columns by header (README's reader rule)."""
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = [h.strip().lower() for h in next(reader)]
        ci = next(header.index(c) for c in CODE_COLS if c in header)
        ti = next((header.index(c) for c in TERM_COLS if c in header), None)
        bi = next((header.index(c) for c in ("bnf_code", "bnf") if c in header), None)
        out = []
        for row in reader:
            if len(row) <= ci:
                continue
            term = row[ti].strip() if ti is not None and ti < len(row) else ""
            bnf = row[bi].strip() if bi is not None and bi < len(row) else ""
            out.append((row[ci].strip(), term, bnf))
        return out


def build_code_sets(shared: Path) -> int:
    n = 0
    with (DATA / "codes.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["set", "code", "term"])
        for name, files in CODE_SETS.items():
            seen: set[str] = set()
            for rel in files:
                for code, term, _bnf in _rows(shared / rel):
                    if code in seen or not verhoeff_ok(code):
                        continue
                    seen.add(code)
                    w.writerow([name, code, term])
                    n += 1
        for name, pairs in CURATED_SETS.items():
            for code, term in pairs:
                if not verhoeff_ok(code):
                    raise ValueError(f"curated set {name}: {code} fails its check digit")
                w.writerow([name, code, term])
                n += 1
    return n


def build_products(shared: Path) -> int:
    """dm+d id -> (name, BNF code) from every public medicine codelist: enriches FHIR input."""
    products: dict[str, tuple[str, str]] = {}
    index = shared / PUB / "INDEX.csv"
    with index.open(newline="") as f:
        files = [
            shared / PUB / r["folder"] / r["file"]
            for r in csv.DictReader(f)
            if r["kind"] == "medicine" and r["code_system"] == "dmd"
        ]
    files += [shared / PIN / p.name for p in (shared / PIN).glob("pincer-*.csv")]
    for path in files:
        try:
            rows = _rows(path)
        except (StopIteration, UnicodeDecodeError):
            continue
        for code, term, bnf in rows:
            if not verhoeff_ok(code):
                continue
            old_name, old_bnf = products.get(code, ("", ""))
            products[code] = (old_name or term, old_bnf or bnf)
    # mtime=0: the same inputs give the same bytes (reproducible build)
    with (
        open(DATA / "products.csv.gz", "wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz,
        io.TextIOWrapper(gz, newline="") as f,
    ):
        w = csv.writer(f)
        w.writerow(["dmd_id", "name", "bnf_code"])
        for code in sorted(products):
            w.writerow([code, *products[code]])
    return len(products)


# Boustani 2008 names (US usage, brands) -> the UK/dm+d (BAN) name the products carry.
ACB_SYNONYMS = {
    "benztropine": "benzatropine",
    "meclizine": "meclozine",
    "chlorpheniramine": "chlorphenamine",
    "chlorthalidone": "chlortalidone",
    "coumadin": "warfarin",  # a brand of warfarin
    "dicyclomine": "dicycloverine",
    "meperidine": "pethidine",
    "mepethidine": "pethidine",  # misspelling of meperidine in the collated table
    "methotrimeprazine": "levomepromazine",
    "pyrilamine": "mepyramine",
    "scopolamine": "hyoscine hydrobromide",
}
# Boustani entries that are not a single substance dm+d can name (see the ACB spec test).
ACB_NOT_SUBSTANCES = {
    "empracet": "a Canadian brand of paracetamol with codeine; codeine is scored on its own",
    "brompheniramine maleate": "a second entry (score 1) for brompheniramine, which the table"
    " also scores 3 under its substance name as the MIT copy does; the substance entry is used",
}


def _boustani(shared: Path) -> dict[str, tuple[int, str]]:
    """Every drug the ACB scale scores (Boustani M, Campbell N, Munger S, Maidment I, Fox C.
    Impact of anticholinergics on the aging brain: a review and practical application. Aging
    Health 2008;4(3):311-320), from both copies of it: the ``boustani`` column of
    ``aas_combined.csv`` (MIT, © 2025 JuM24) and the ``Boustani2008`` column of ``ACB_table.csv``
    (g-b-f/ACB-data, no licence stated; the scores are published facts). Neither copy alone is
    complete: the first lacks procyclidine and promazine (both 3). substance -> (score, copies)."""
    acb = shared / "clinical/acb"
    found: dict[str, dict[str, int]] = {}
    with (acb / "JuM24_Pseudoscales_simulation/aas_combined.csv").open(newline="") as f:
        for r in csv.DictReader(f):
            if float(r["boustani"]) > 0:
                name = r["drug"].strip().lower()
                found.setdefault(ACB_SYNONYMS.get(name, name), {})["aas_combined"] = int(
                    float(r["boustani"])
                )
    with (acb / "g-b-f_ACB-data/ACB_table.csv").open(newline="") as f:
        for r in csv.DictReader(f):
            name, score = r["Name"].strip().lower(), r["Boustani2008"].strip()
            if score and name not in ACB_NOT_SUBSTANCES:
                found.setdefault(ACB_SYNONYMS.get(name, name), {})["ACB_table"] = int(score)
    out = {}
    for name, by_copy in found.items():
        if len(set(by_copy.values())) != 1:
            raise ValueError(f"the two copies of Boustani 2008 disagree on {name}: {by_copy}")
        out[name] = (next(iter(by_copy.values())), "+".join(sorted(by_copy)))
    return out


def build_acb(shared: Path) -> tuple[int, int]:
    """Boustani ACB scores (primary) with the UK ACB calculator list as the cross-check."""
    boustani = _boustani(shared)
    # The UK calculator's names are compared as written (it lists some substances under two
    # names with different scores, e.g. levomepromazine 3 and methotrimeprazine 2).
    calc: dict[str, int] = {}
    with (shared / "clinical/acb/g-b-f_ACB-data/ACBcalc.csv").open(newline="") as f:
        for r in csv.DictReader(f):
            calc[r["Name"].strip().lower()] = int(float(r["Score"]))
    rows, disagreements = [], []
    for name in sorted(set(boustani) | set(calc)):
        b, src = boustani.get(name, (None, ""))
        c = calc.get(name)
        status = (
            "agree"
            if b == c
            else ("boustani_only" if c is None else "acbcalc_only" if b is None else "differ")
        )
        row = [name, b or "", c if c is not None else "", status, src]
        rows.append(row)
        if status != "agree":
            disagreements.append(row)
    header = ["substance", "boustani", "acbcalc", "status", "boustani_from"]
    for fname, data in (("acb.csv", rows), ("acb_disagreements.csv", disagreements)):
        with (DATA / fname).open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(data)
    return len(boustani), len(disagreements)


TERMINOLOGY_DICTIONARY = DATA.parents[1] / "terminology/data/starter_dictionary.csv.gz"


def build_routes() -> int:
    """dm+d id (VMP, AMP) -> dm+d route of administration, from ipmo's own starter dictionary
    (terminology/data, built from the same public codelists; an AMP takes its VMP's route).
    The PINCER NSAID indicators count oral NSAIDs only (products.is_oral)."""
    with gzip.open(TERMINOLOGY_DICTIONARY, "rt", encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["kind"] in ("VMP", "AMP")]
    vmp_route = {r["id"]: r["route"] for r in rows if r["kind"] == "VMP"}
    routes = {}
    for r in rows:
        route = r["route"] or (vmp_route.get(r["vmp_id"], "") if r["kind"] == "AMP" else "")
        if route:
            routes[r["id"]] = route
    with (
        open(DATA / "dmd_routes.csv.gz", "wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz,
        io.TextIOWrapper(gz, newline="") as out,
    ):
        w = csv.writer(out)
        w.writerow(["dmd_id", "route"])
        for code in sorted(routes):
            w.writerow([code, routes[code]])
    return len(routes)


def build_stopp_start_index(shared: Path) -> None:
    src = shared / "clinical/stopp_start/stopp_start_v3_criteria_index.csv"
    (DATA / "stopp_start_v3_index.csv").write_text(src.read_text(encoding="utf-8"))


def main(argv: list[str]) -> None:
    shared = Path(argv[1] if len(argv) > 1 else "../shared").resolve()
    DATA.mkdir(exist_ok=True)
    print("codes", build_code_sets(shared))
    print("products", build_products(shared))
    print("acb (boustani>0, disagreements)", build_acb(shared))
    print("dm+d routes", build_routes())
    build_stopp_start_index(shared)


if __name__ == "__main__":
    main(sys.argv)
