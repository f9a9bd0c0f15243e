"""Drug classes as data: curated substance names, BNF prefixes and shipped dm+d lists.

A product belongs to a class when its dm+d id (AMP, VMP or VTM) is in one of the class's dm+d
lists, or its BNF code starts with one of the class's prefixes, or its name (or the generic name
of its BNF chemical) contains one of the substances as a word — and its route is allowed.
Building classes from substances and BNF paragraphs rather than only static AMP lists follows
RULES.md §1.5.5 (the 2021 PINCER lists miss newer AMPs). BNF prefixes follow the legacy BNF
chapter structure used by NHSBSA prescribing data.
"""

from __future__ import annotations

from dataclasses import dataclass

SYSTEMIC = frozenset({"systemic"})


@dataclass(frozen=True)
class DrugClass:
    name: str
    title: str
    substances: tuple[str, ...] = ()
    bnf: tuple[str, ...] = ()
    dmd_sets: tuple[str, ...] = ()
    routes: frozenset[str] = SYSTEMIC
    exclude_bnf: tuple[str, ...] = ()
    exclude_substances: tuple[str, ...] = ()
    #: only products taken by mouth (products.is_oral: the dm+d route, else the name's form)
    oral_only: bool = False


def _s(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split(",") if s.strip())


NSAIDS = _s(
    "aceclofenac, acemetacin, celecoxib, dexibuprofen, dexketoprofen, diclofenac, etodolac, "
    "etoricoxib, fenoprofen, flurbiprofen, ibuprofen, indometacin, ketoprofen, mefenamic acid, "
    "meloxicam, nabumetone, naproxen, piroxicam, sulindac, tenoxicam, tiaprofenic acid, "
    "lornoxicam, parecoxib"
)
ACEI = _s(
    "captopril, cilazapril, enalapril, fosinopril, imidapril, lisinopril, moexipril, perindopril, "
    "quinapril, ramipril, trandolapril"
)
ARB = _s(
    "azilsartan, candesartan, eprosartan, irbesartan, losartan, olmesartan, telmisartan, valsartan"
)
OAC = _s("warfarin, acenocoumarol, phenindione, apixaban, dabigatran, edoxaban, rivaroxaban")
NON_ASPIRIN_ANTIPLATELETS = _s(
    "clopidogrel, prasugrel, ticagrelor, dipyridamole, cilostazol, ticlopidine"
)
BETA_BLOCKERS = _s(
    "acebutolol, atenolol, bisoprolol, carvedilol, celiprolol, esmolol, labetalol, metoprolol, "
    "nadolol, nebivolol, oxprenolol, pindolol, propranolol, sotalol, timolol"
)
NSBB = _s("carvedilol, labetalol, nadolol, oxprenolol, pindolol, propranolol, sotalol, timolol")
BENZODIAZEPINES = _s(
    "alprazolam, chlordiazepoxide, clobazam, clonazepam, diazepam, flurazepam, loprazolam, "
    "lorazepam, lormetazepam, midazolam, nitrazepam, oxazepam, temazepam"
)
Z_DRUGS = _s("zaleplon, zolpidem, zopiclone")
OPIOIDS = _s(
    "buprenorphine, codeine, diamorphine, dihydrocodeine, dipipanone, fentanyl, hydromorphone, "
    "meptazinol, methadone, morphine, oxycodone, papaveretum, pentazocine, pethidine, tapentadol, "
    "tramadol, co-codamol, co-dydramol"
)
ANTIPSYCHOTICS = _s(
    "amisulpride, aripiprazole, asenapine, benperidol, cariprazine, chlorpromazine, clozapine, "
    "flupentixol, fluphenazine, haloperidol, levomepromazine, lurasidone, olanzapine, "
    "paliperidone, pericyazine, perphenazine, pimozide, promazine, quetiapine, risperidone, "
    "sulpiride, trifluoperazine, zuclopenthixol"
)
TCAS = _s(
    "amitriptyline, clomipramine, dosulepin, doxepin, imipramine, lofepramine, nortriptyline, "
    "trimipramine"
)
SSRIS = _s("citalopram, escitalopram, fluoxetine, fluvoxamine, paroxetine, sertraline")
BLADDER_ANTIMUSCARINICS = _s(
    "darifenacin, fesoterodine, flavoxate, oxybutynin, propiverine, solifenacin, tolterodine, "
    "trospium"
)
FIRST_GEN_ANTIHISTAMINES = _s(
    "alimemazine, chlorphenamine, clemastine, cyproheptadine, diphenhydramine, hydroxyzine, "
    "promethazine"
)
ANTIEPILEPTICS = _s(
    "brivaracetam, carbamazepine, clobazam, eslicarbazepine, ethosuximide, gabapentin, "
    "lacosamide, lamotrigine, levetiracetam, oxcarbazepine, perampanel, phenobarbital, phenytoin, "
    "pregabalin, primidone, rufinamide, sodium valproate, valproic acid, tiagabine, topiramate, "
    "vigabatrin, zonisamide"
)
ANTIDEPRESSANTS = (
    TCAS
    + SSRIS
    + _s(
        "agomelatine, duloxetine, mianserin, mirtazapine, moclobemide, phenelzine, reboxetine, "
        "trazodone, tranylcypromine, venlafaxine, vortioxetine, isocarboxazid"
    )
)
STATINS = _s("atorvastatin, fluvastatin, pravastatin, rosuvastatin, simvastatin")
LAXATIVES = _s(
    "bisacodyl, docusate, glycerol, ispaghula, lactulose, macrogol, methylcellulose, "
    "sodium picosulfate, senna, sennosides, sterculia, co-danthramer, co-danthrusate, "
    "prucalopride, naloxegol, linaclotide, lubiprostone, magnesium hydroxide"
)
PGP_INHIBITORS = _s(
    "amiodarone, azithromycin, carvedilol, ciclosporin, clarithromycin, dronedarone, "
    "erythromycin, itraconazole, ketoconazole, quinine, ranolazine, tamoxifen, ticagrelor, "
    "verapamil"
)

CLASSES: dict[str, DrugClass] = {
    c.name: c
    for c in [
        # --- PINCER (RULES.md §1.3): the published dm+d lists, extended by substance and BNF ---
        # PINCER A, B, D, I and K are about *oral* NSAIDs (PRIMIS GI_P3A…KI_P3K, RULES.md §1.3);
        # the pincer-nsaid list and BNF 10.1.1 also hold suppositories and injections.
        DrugClass(
            "pincer_nsaid", "oral NSAID", NSAIDS, ("1001010",), ("pincer_nsaid",), oral_only=True
        ),
        # STOPP/START v3 say "NSAID": every systemic route (rectal and injected NSAIDs carry the
        # same renal, bleeding and cardiac risks), so those criteria use this class.
        DrugClass("nsaid", "NSAID (systemic)", NSAIDS, ("1001010",), ("pincer_nsaid",)),
        DrugClass(
            "nsaid_non_cox2",
            "NSAID other than COX-2 selective",
            NSAIDS,
            ("1001010",),
            ("pincer_nsaid",),
            exclude_substances=("celecoxib", "etoricoxib", "parecoxib"),
            exclude_bnf=("1001010AH", "1001010AJ"),
        ),
        DrugClass(
            "ulcer_healing",
            "PPI or H2-receptor antagonist",
            _s(
                "omeprazole, esomeprazole, lansoprazole, pantoprazole, rabeprazole, cimetidine, "
                "famotidine, nizatidine, ranitidine"
            ),
            ("0103050", "0103010"),
            ("pincer_ppi",),
        ),
        DrugClass("oac", "oral anticoagulant", OAC, ("0208020",), ("pincer_anticoag", "doac")),
        DrugClass(
            "antiplatelet",
            "antiplatelet (aspirin included)",
            ("aspirin",) + NON_ASPIRIN_ANTIPLATELETS,
            ("0209000",),
            ("pincer_antiplat",),
        ),
        DrugClass(
            "aspirin",
            "aspirin",
            ("aspirin", "co-codaprin"),
            ("0209000A0", "0407010B0"),
            ("pincer_aspirin",),
        ),
        DrugClass(
            "non_aspirin_antiplatelet",
            "non-aspirin antiplatelet",
            NON_ASPIRIN_ANTIPLATELETS,
            (),
            ("pincer_non_asp_antiplate",),
        ),
        DrugClass("nsbb", "non-selective β-blocker (systemic)", NSBB, (), ("pincer_nsbb",)),
        DrugClass(
            "nsbb_eye",
            "non-selective β-blocker eye drops",
            _s("timolol, carteolol, levobunolol, metipranolol"),
            (),
            ("pincer_nsbb",),
            routes=frozenset({"eye"}),
        ),
        DrugClass(
            "pincer_acei",
            "ACE inhibitor or ARB (pincer-acei)",
            ACEI + ARB,
            ("0205051", "0205052"),
            ("pincer_acei",),
        ),
        DrugClass(
            "pincer_diuretic",
            "diuretic (pincer-diur: loop, K-sparing, MRA, metolazone)",
            _s(
                "furosemide, bumetanide, torasemide, spironolactone, eplerenone, amiloride, "
                "triamterene, metolazone, co-amilofruse, co-flumactone"
            ),
            ("020202", "0202030", "0202040"),
            ("pincer_diur",),
        ),
        DrugClass(
            "loop_diuretic",
            "loop diuretic",
            _s("furosemide, bumetanide, torasemide, co-amilofruse"),
            ("020202",),
        ),
        DrugClass(
            "methotrexate",
            "methotrexate",
            ("methotrexate",),
            ("0801030P0", "1001030U0"),
            ("pincer_met",),
        ),
        DrugClass("lithium", "lithium", ("lithium",), ("0402030K0", "0402030P0"), ("pincer_lith",)),
        DrugClass("amiodarone", "amiodarone", ("amiodarone",), ("0203020C0",), ("pincer_amio",)),
        # --- STOPP/START v3 and monitoring (RULES.md §3, §4.3) ---
        DrugClass("beta_blocker", "β-blocker (systemic)", BETA_BLOCKERS, ("0204",)),
        DrugClass(
            "rate_limiting_ccb",
            "verapamil or diltiazem (systemic)",
            ("verapamil", "diltiazem"),
            ("0206020T0", "0206020C0"),
        ),
        DrugClass("digoxin", "digoxin", ("digoxin",), ("0201010F0",)),
        DrugClass("acei", "ACE inhibitor", ACEI, ("0205051",)),
        DrugClass("arb", "angiotensin-II receptor blocker", ARB, ("0205052",)),
        DrugClass(
            "mra",
            "aldosterone antagonist",
            ("spironolactone", "eplerenone"),
            ("0202030S0", "0202030X0"),
        ),
        DrugClass(
            "k_sparing",
            "amiloride or triamterene",
            ("amiloride", "triamterene"),
            ("0202030C0", "0202030W0"),
        ),
        DrugClass(
            "thiazide",
            "thiazide or thiazide-like diuretic",
            _s(
                "bendroflumethiazide, chlortalidone, cyclopenthiazide, hydrochlorothiazide, "
                "indapamide, metolazone, xipamide"
            ),
            ("020201",),
        ),
        DrugClass(
            "central_antihypertensive",
            "centrally acting antihypertensive",
            _s("methyldopa, clonidine, moxonidine, rilmenidine, guanfacine"),
            ("0205020",),
        ),
        DrugClass(
            "alpha_blocker",
            "α-1 blocker",
            _s("alfuzosin, doxazosin, indoramin, prazosin, tamsulosin, terazosin"),
            ("0205040",),
        ),
        DrugClass("statin", "statin", STATINS),
        DrugClass("pde5", "PDE-5 inhibitor", _s("avanafil, sildenafil, tadalafil, vardenafil")),
        DrugClass(
            "nitrate",
            "nitrate",
            _s("glyceryl trinitrate, isosorbide mononitrate, isosorbide dinitrate"),
            ("0206010",),
        ),
        DrugClass("dabigatran", "dabigatran", ("dabigatran",), ("0208020X0",)),
        DrugClass(
            "factor_xa",
            "factor Xa inhibitor",
            _s("apixaban, edoxaban, rivaroxaban"),
            ("0208020Z0", "0208020Y0", "0208020AA"),
        ),
        DrugClass(
            "doac",
            "DOAC",
            _s("apixaban, dabigatran, edoxaban, rivaroxaban"),
            ("0208020Z0", "0208020Y0", "0208020AA", "0208020X0"),
            ("doac",),
        ),
        DrugClass("vka", "vitamin K antagonist", _s("warfarin, acenocoumarol, phenindione")),
        DrugClass("warfarin", "warfarin", ("warfarin",), ("0208020V0",)),
        DrugClass("pgp_inhibitor", "P-gp inhibitor (STOPP-C14 list)", PGP_INHIBITORS),
        # DOAC dose reductions for interacting drugs (doac.py): Lixiana (edoxaban) SmPC 4.2
        # names these four P-gp inhibitors for 30 mg; Pradaxa (dabigatran) SmPC 4.2 names
        # verapamil for 110 mg twice daily. Systemic products only (not ketoconazole shampoo,
        # erythromycin gel or ciclosporin eye drops).
        DrugClass(
            "edoxaban_pgp_inhibitor",
            "ciclosporin, dronedarone, erythromycin or ketoconazole (systemic)",
            _s("ciclosporin, dronedarone, erythromycin, ketoconazole"),
        ),
        DrugClass("verapamil", "verapamil (systemic)", ("verapamil",), ("0206020T0",)),
        DrugClass("ssri", "SSRI", SSRIS, ("0403030",)),
        DrugClass("snri", "SNRI", ("venlafaxine", "duloxetine")),
        DrugClass("tca", "tricyclic antidepressant", TCAS),
        DrugClass("antidepressant", "antidepressant", ANTIDEPRESSANTS, ("0403",)),
        DrugClass("antipsychotic", "antipsychotic", ANTIPSYCHOTICS, ("0402010", "0402020")),
        DrugClass(
            "antipsychotic_not_clz_qtp",
            "antipsychotic other than clozapine/quetiapine",
            ANTIPSYCHOTICS,
            ("0402010", "0402020"),
            exclude_substances=("clozapine", "quetiapine"),
            exclude_bnf=("0402010W0", "0402010AB"),
        ),
        DrugClass("benzodiazepine", "benzodiazepine", BENZODIAZEPINES),
        DrugClass("z_drug", "Z-drug", Z_DRUGS),
        DrugClass("gabapentinoid", "gabapentinoid", ("gabapentin", "pregabalin")),
        DrugClass("opioid", "opioid", OPIOIDS, ("040702",), exclude_bnf=("0410", "0309")),
        DrugClass(
            "laxative", "laxative", LAXATIVES, ("0106",), routes=frozenset({"systemic", "rectal"})
        ),
        DrugClass(
            "bladder_antimuscarinic", "bladder antimuscarinic (systemic)", BLADDER_ANTIMUSCARINICS
        ),
        DrugClass(
            "first_gen_antihistamine", "first-generation antihistamine", FIRST_GEN_ANTIHISTAMINES
        ),
        DrugClass("antiepileptic", "antiepileptic", ANTIEPILEPTICS, ("0408",)),
        DrugClass(
            "acetylcholinesterase_inhibitor",
            "acetylcholinesterase inhibitor",
            _s("donepezil, galantamine, rivastigmine"),
        ),
        DrugClass("memantine", "memantine", ("memantine",)),
        DrugClass(
            "long_acting_sulfonylurea",
            "long-acting sulphonylurea",
            _s("glibenclamide, chlorpropamide, glimepiride"),
        ),
        DrugClass("metformin", "metformin", ("metformin",)),
        DrugClass("thiazolidinedione", "thiazolidinedione", ("pioglitazone", "rosiglitazone")),
        DrugClass(
            "sglt2",
            "SGLT2 inhibitor",
            _s("canagliflozin, dapagliflozin, empagliflozin, ertugliflozin"),
        ),
        DrugClass("colchicine", "colchicine", ("colchicine",)),
        DrugClass("nitrofurantoin", "nitrofurantoin", ("nitrofurantoin",)),
        DrugClass(
            "bisphosphonate",
            "bisphosphonate",
            _s("alendronic acid, risedronate, ibandronic acid, etidronate"),
            ("0606020",),
        ),
        DrugClass(
            "bone_protection",
            "bone anti-resorptive or anabolic",
            _s(
                "alendronic acid, risedronate, ibandronic acid, zoledronic acid, denosumab, "
                "teriparatide, raloxifene"
            ),
            ("0606020",),
        ),
        DrugClass(
            "systemic_corticosteroid",
            "systemic corticosteroid",
            _s(
                "prednisolone, prednisone, dexamethasone, methylprednisolone, hydrocortisone, "
                "deflazacort, betamethasone"
            ),
            ("0603020",),
        ),
        DrugClass(
            "oestrogen_systemic",
            "systemic oestrogen",
            _s("estradiol, conjugated oestrogens, estriol, estrone"),
            ("0604011",),
        ),
        DrugClass(
            "levodopa_or_agonist",
            "levodopa or dopamine agonist",
            _s("levodopa, co-careldopa, co-beneldopa, ropinirole, pramipexole, rotigotine"),
        ),
        DrugClass("theophylline", "theophylline", ("theophylline", "aminophylline")),
        DrugClass(
            "lama",
            "inhaled long-acting muscarinic antagonist",
            _s("tiotropium, aclidinium, umeclidinium, glycopyrronium"),
            routes=frozenset({"inhaled"}),
        ),
        DrugClass("folic_acid", "folic acid", ("folic acid",), ("0906011",)),
        DrugClass(
            "xanthine_oxidase_inhibitor", "allopurinol or febuxostat", ("allopurinol", "febuxostat")
        ),
        DrugClass(
            "vitamin_d",
            "vitamin D",
            _s("colecalciferol, ergocalciferol, alfacalcidol, calcitriol"),
            ("0906040",),
        ),
        DrugClass(
            "oral_iron",
            "oral iron",
            _s("ferrous sulfate, ferrous sulphate, ferrous fumarate, ferrous gluconate"),
        ),
        DrugClass(
            "metoclopramide_prochlorperazine",
            "metoclopramide or prochlorperazine",
            ("metoclopramide", "prochlorperazine"),
        ),
        DrugClass(
            "antimuscarinic_antiparkinson",
            "antimuscarinic for EPSE",
            _s("biperiden, orphenadrine, procyclidine, trihexyphenidyl"),
        ),
        DrugClass("megestrol", "megestrol", ("megestrol",)),
        DrugClass("ticlopidine", "ticlopidine", ("ticlopidine",)),
        DrugClass("desmopressin", "desmopressin", ("desmopressin", "vasopressin")),
        # --- SMR cohorts (RULES.md §4.2): OpenSAFELY lists, extended by substance ---
        DrugClass(
            "addictive",
            "opioid, gabapentinoid, benzodiazepine or Z-drug",
            OPIOIDS + BENZODIAZEPINES + Z_DRUGS + ("gabapentin", "pregabalin"),
            (),
            ("addictive", "high_dose_opioid"),
            exclude_bnf=("0410", "0309"),
        ),
        DrugClass(
            "dmard",
            "DMARD (OpenSAFELY list)",
            _s(
                "methotrexate, azathioprine, mycophenolate, ciclosporin, sulfasalazine, "
                "mercaptopurine, leflunomide, penicillamine"
            ),
            (),
            ("dmard",),
            routes=frozenset({"systemic", "other"}),
        ),
        DrugClass(
            "teratogenic",
            "teratogenic medicine (OpenSAFELY list)",
            ("sodium valproate", "valproic acid", "isotretinoin"),
            (),
            ("teratogenic",),
        ),
    ]
}
