"""Every case-finding rule, declared once as data (an expression over ``expr`` primitives).

A finding is raised when ``denominator AND criteria`` holds. PINCER rules keep their published
denominators so the population view can show rates; other rules use their target population
(e.g. aged ≥65 for STOPP/START) as denominator. ``kind="prompt"`` rules are STOPP/START criteria
that structured data cannot decide: the pharmacist sees them as questions, never as flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ipmo.review.expr import (
    EVER,
    AcbCount,
    AcbTotal,
    Admitted,
    AgeBetween,
    Ago,
    All,
    Any,
    CareHome,
    CoIssued,
    Const,
    DistinctSubstances,
    DoacDoseMismatch,
    Expr,
    HasEvent,
    Issued,
    IssueSpan,
    LabLatest,
    LatestNotResolved,
    MedicineCount,
    SexIs,
    TestDone,
    Window,
    last,
)
from ipmo.review.params import DEFAULT, Params

PINCER_SRC = (
    "PINCER (PRIMIS {code}) as implemented by OpenSAFELY pincer-measures 2e158943, RULES.md §1.3"
)
STOPP_SRC = "STOPP/START v3, O'Mahony et al. Eur Geriatr Med 2023;14:625 (Appendix 1), RULES.md §3"
SMR_SRC = "Network Contract DES SMR criteria, RULES.md §4.1–4.2"
MON_SRC = "High-risk drug monitoring, RULES.md §4.3"
ACB_SRC = "Anticholinergic Cognitive Burden scale (Boustani 2008), RULES.md §2"


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    family: str  # pincer | stopp | start | acb | smr | monitoring
    criteria: Expr
    source: str
    denominator: Expr = Const(True)
    kind: str = "flag"  # flag | prompt | composite (a practice measure, not a patient finding)

    @property
    def is_hazard(self) -> bool:
        """Counts as a "medicine associated with errors" hazard for the SMR worklist (§4.2)."""
        return self.kind == "flag" and self.family in {"pincer", "stopp", "monitoring"}


def _unmonitored(drug: str, test: str, what: str, months: int) -> tuple[str, Expr, Expr]:
    """ "<Drug> for ≥N months without <what> in N months" (PINCER MO_P15–P18, RULES.md §1.3; the
    monitoring family, §4.3): its title, its denominator (the drug issued both in the N months
    before the last N and in the last N) and its criteria (no ``test`` in the last N months)."""
    recent = last(months)
    return (
        f"{drug.capitalize()} for ≥{months} months without {what} in {months} months",
        Issued(drug, Window(Ago(2 * months), Ago(months))) & Issued(drug, recent),
        ~TestDone(test, recent),
    )


def _pincer(p: Params) -> list[Rule]:
    # §1.2 population: aged 18–120, sex M or F (registration/alive are applied by the caller).
    pop = AgeBetween(18, 120) & (SexIs("male") | SexIs("female"))
    l3, l6 = last(3), last(6)
    no_ppi = ~Issued("ulcer_healing", l3)
    nsaid = Issued("pincer_nsaid", l3)
    ulcer_history = HasEvent("pep_or_gi_bleed", Window(None, Ago(3)))
    gap = p.coprescription_gap_days

    def on_for(cls: str, earlier: Window, recent: Window) -> Expr:
        return Issued(cls, earlier) & Issued(cls, recent)

    diuretic = "pincer_diuretic" if p.pincer_ac_broad_diuretics else "loop_diuretic"
    long_term = Window(None, Ago(15))
    nsbb: Expr = Issued("nsbb", l3)
    if p.pincer_g_include_eye_drops:
        nsbb = nsbb | Issued("nsbb_eye", l3)
    src = PINCER_SRC.format
    rules = [
        (
            "A",
            "GI_P3A",
            "Age ≥65 on an oral NSAID without gastroprotection",
            AgeBetween(65, 120) & no_ppi,
            nsaid,
        ),
        (
            "B",
            "GI_P3B",
            "History of peptic ulcer or GI bleed on an oral NSAID without gastroprotection",
            ulcer_history & no_ppi,
            nsaid,
        ),
        (
            "C",
            "GI_P3C",
            "History of peptic ulcer or GI bleed on an antiplatelet without gastroprotection",
            ulcer_history & no_ppi,
            Issued("aspirin", l3) | Issued("non_aspirin_antiplatelet", l3),
        ),
        ("D", "GI_P3D", "Oral anticoagulant with an oral NSAID", Issued("oac", l3), nsaid),
        (
            "E",
            "GI_P3E",
            "Oral anticoagulant and antiplatelet co-prescribed without gastroprotection",
            Issued("oac", l3) & no_ppi,
            CoIssued("oac", "antiplatelet", l3, gap),
        ),
        (
            "F",
            "GI_P3F",
            "Aspirin and another antiplatelet co-prescribed without gastroprotection",
            Issued("aspirin", l3) & no_ppi,
            CoIssued("aspirin", "non_aspirin_antiplatelet", l3, gap),
        ),
        (
            "G",
            "AS_P3G",
            "Asthma on a non-selective β-blocker",
            LatestNotResolved("pincer_ast", "pincer_ast_res", Ago(3)),
            nsbb,
        ),
        (
            "I",
            "HF_P3I",
            "Heart failure on an oral NSAID",
            HasEvent("pincer_hf", Window(None, Ago(3))),
            nsaid,
        ),
        (
            "K",
            "KI_P3K",
            f"eGFR <{p.pincer_k_egfr_below:g} on an oral NSAID",
            LabLatest("pincer_egfr", Window(None, Ago(3)), "<", p.pincer_k_egfr_below, 1.0),
            nsaid,
        ),
        (
            "AC",
            "MO_P13",
            "Age ≥75 on long-term ACE inhibitor or loop diuretic without a renal "
            "and electrolyte check in 15 months",
            AgeBetween(75, 120)
            & (on_for("pincer_acei", long_term, l6) | on_for(diuretic, long_term, l6)),
            ~TestDone("pincer_renal", last(15)) | ~TestDone("pincer_electro", last(15)),
        ),
        ("ME-FBC", "MO_P15", *_unmonitored("methotrexate", "pincer_fbc", "a full blood count", 3)),
        (
            "ME-LFT",
            "MO_P15",
            *_unmonitored("methotrexate", "pincer_lft", "a liver function test", 3),
        ),
        ("LI", "MO_P17", *_unmonitored("lithium", "pincer_lith_lev", "a lithium level", 3)),
        ("AM", "MO_P18", *_unmonitored("amiodarone", "pincer_tft", "a thyroid function test", 6)),
    ]
    indicators = [
        Rule(f"PINCER-{rid}", title, "pincer", crit, src(code=code), pop & denom)
        for rid, code, title, denom, crit in rules
    ]
    return indicators + _pincer_composites(indicators)


# OpenSAFELY pincer-measures analysis/composite_indicators.py (RULES.md §1.3 "Composites"): per
# group, patients with at least one of the group's numerators among those in any of the group's
# denominators ("<group>_composite_denominator").
PINCER_COMPOSITES = {
    "GI-BLEED": ("GI bleed", ("A", "B", "C", "D", "E", "F")),
    "OTHER-PRESCRIBING": ("other prescribing", ("G", "I", "K")),
    "MONITORING": ("monitoring", ("AC", "ME-FBC", "ME-LFT", "LI", "AM")),
}


def _pincer_composites(indicators: list[Rule]) -> list[Rule]:
    by_id = {r.id.removeprefix("PINCER-"): r for r in indicators}
    groups = dict(PINCER_COMPOSITES)
    groups["ALL"] = ("all", tuple(i for _, ids in PINCER_COMPOSITES.values() for i in ids))
    out = []
    for key, (name, ids) in groups.items():
        members = [by_id[i] for i in ids]
        out.append(
            Rule(
                f"PINCER-COMPOSITE-{key}",
                f"PINCER composite, {name} ({', '.join(ids)}): at least one hazard",
                "pincer",
                Any(tuple(r.denominator & r.criteria for r in members)),
                "PINCER composite indicators as implemented by OpenSAFELY pincer-measures "
                "2e158943 (analysis/composite_indicators.py), RULES.md §1.3",
                Any(tuple(r.denominator for r in members)),
                kind="composite",
            )
        )
    return out


#: STOPP v3 section K, drugs that predictably increase the risk of falls, each "with recurrent
#: falls" (O'Mahony 2023, Appendix 1; RULES.md §3): (criterion, drug as titled, drug class).
FALL_RISK = (
    ("K1", "Benzodiazepine", "benzodiazepine"),
    ("K2", "Antipsychotic", "antipsychotic"),
    ("K4", "Z-drug", "z_drug"),
    ("K5", "Antiepileptic", "antiepileptic"),
    ("K6", "First-generation antihistamine", "first_gen_antihistamine"),
    ("K7", "Opioid", "opioid"),
    ("K8", "Antidepressant", "antidepressant"),
    ("K9", "α-blocker", "alpha_blocker"),
    ("K11", "Centrally acting antihypertensive", "central_antihypertensive"),
    ("K12", "Bladder antimuscarinic", "bladder_antimuscarinic"),
)


def _stopp_start(p: Params) -> list[Rule]:
    a = last(p.active_months)
    older = AgeBetween(p.stopp_start_min_age, 120)

    def on(*classes: str, regular: bool = False) -> Expr:
        parts = tuple(Issued(c, a, 1, regular) for c in classes)
        return parts[0] if len(parts) == 1 else Any(parts)

    def long_term(cls: str) -> Expr:  # ">3 months": issued before the active window and in it
        return Issued(cls, Window(Ago(2 * p.active_months), Ago(p.active_months))) & on(cls)

    def egfr_below(x: float) -> Expr:
        return LabLatest("pincer_egfr", EVER, "<", x, 1.0)

    cur = last(p.current_lab_months)
    falls = HasEvent("falls", last(p.recurrent_falls_months), min_count=p.recurrent_falls_count)
    dementia = HasEvent("dementia", unresolved=True)
    hf = HasEvent("pincer_hf", unresolved=True)
    vascular = HasEvent("vascular_disease", unresolved=True)
    af = HasEvent("af", unresolved=True)
    ulcer = HasEvent("pep_or_gi_bleed")
    ppi = on("ulcer_healing")
    stopp: list[tuple[str, str, Expr]] = [
        (
            "A3",
            "Duplicate drug class for regular use (two NSAIDs, SSRIs, loop diuretics, ACE "
            "inhibitors, anticoagulants, antipsychotics or opioids)",
            Any(
                tuple(
                    DistinctSubstances(c, a, 2, True)
                    for c in (
                        "nsaid",
                        "ssri",
                        "loop_diuretic",
                        "acei",
                        "oac",
                        "antipsychotic",
                        "opioid",
                    )
                )
            ),
        ),
        (
            "B3",
            "β-blocker with verapamil or diltiazem",
            on("beta_blocker") & on("rate_limiting_ccb"),
        ),
        (
            "B4",
            "Rate-limiting drug with bradycardia <50/min",
            on("beta_blocker", "rate_limiting_ccb", "digoxin")
            & LabLatest("heart_rate", cur, "<", 50),
        ),
        (
            "B9",
            "Thiazide with hypokalaemia or hyponatraemia",
            on("thiazide")
            & (
                LabLatest("potassium", cur, "<", p.hypokalaemia_below)
                | LabLatest("sodium", cur, "<", p.hyponatraemia_below)
            ),
        ),
        ("B11", "Centrally acting antihypertensive", on("central_antihypertensive")),
        (
            "B12",
            f"ACE inhibitor or ARB with hyperkalaemia (K⁺ >{p.hyperkalaemia_above:g})",
            on("acei", "arb") & LabLatest("potassium", cur, ">", p.hyperkalaemia_above),
        ),
        (
            "B13",
            "Aldosterone antagonist with a potassium-conserving drug without potassium monitoring",
            on("mra")
            & on("acei", "arb", "k_sparing")
            & ~TestDone("pincer_electro", last(p.stopp_b13_potassium_months)),
        ),
        ("B14", "PDE-5 inhibitor with nitrate", on("pde5") & on("nitrate")),
        (
            "B17",
            "Long-term NSAID with coronary, cerebral or peripheral vascular disease",
            long_term("nsaid") & vascular,
        ),
        (
            "B18",
            "Long-term antipsychotic with coronary, cerebral or peripheral vascular disease",
            long_term("antipsychotic") & vascular,
        ),
        (
            "B19",
            "NSAID or systemic corticosteroid with heart failure on a loop diuretic",
            on("nsaid", "systemic_corticosteroid") & hf & on("loop_diuretic"),
        ),
        (
            "C4",
            "Antiplatelet with anticoagulant in chronic AF (check for coronary stent)",
            on("antiplatelet") & on("oac") & af,
        ),
        (
            "C5",
            "Antiplatelet with anticoagulant in stable vascular disease",
            on("antiplatelet") & on("oac") & vascular,
        ),
        ("C6", "Ticlopidine", on("ticlopidine")),
        (
            "C7",
            "Antiplatelet instead of anticoagulant for stroke prevention in AF",
            af & on("antiplatelet") & ~on("oac"),
        ),
        ("C10", "NSAID with anticoagulant", on("nsaid") & on("oac")),
        (
            "C12",
            "SSRI with anticoagulant after major (GI) haemorrhage",
            on("ssri") & on("oac") & HasEvent("pincer_gi_bleed"),
        ),
        (
            "C13",
            "Dabigatran with diltiazem or verapamil",
            on("dabigatran") & on("rate_limiting_ccb"),
        ),
        ("C14", "DOAC with a P-gp inhibitor", on("doac") & on("pgp_inhibitor")),
        (
            "D1",
            "Tricyclic antidepressant with dementia or recurrent falls",
            on("tca") & (dementia | falls),
        ),
        (
            "D6",
            "SSRI with hyponatraemia",
            on("ssri") & LabLatest("sodium", cur, "<", p.hyponatraemia_below),
        ),
        (
            "D8",
            f"Benzodiazepine for ≥{p.stopp_d8_min_days} days",
            IssueSpan("benzodiazepine", a, p.stopp_d8_min_days),
        ),
        ("D9", "Benzodiazepine in dementia", on("benzodiazepine") & dementia),
        ("D11", "Z-drug for ≥2 weeks", IssueSpan("z_drug", a, 14)),
        (
            "D13",
            "Antimuscarinic antiparkinson drug with an antipsychotic",
            on("antimuscarinic_antiparkinson") & on("antipsychotic"),
        ),
        (
            # v3 D14: "Drugs with potent anticholinergic/antimuscarinic effects in patients with
            # delirium or dementia" (O'Mahony 2023, Appendix 1). Dementia is long-standing;
            # delirium is an episode, so a delirium code counts for p.stopp_d14_delirium_months
            # (RULES.md §3.3: "dementia ∪ delirium in 12m").
            "D14",
            "Potent anticholinergic with delirium or dementia",
            (dementia | HasEvent("delirium", last(p.stopp_d14_delirium_months)))
            & AcbCount(a, p.potent_anticholinergic_score, 1),
        ),
        (
            "D17",
            "Acetylcholinesterase inhibitor with bradycardia <60/min",
            on("acetylcholinesterase_inhibitor") & LabLatest("heart_rate", cur, "<", 60),
        ),
        (
            "D18",
            "Acetylcholinesterase inhibitor with a bradycardia-inducing drug",
            on("acetylcholinesterase_inhibitor")
            & on("beta_blocker", "digoxin", "rate_limiting_ccb"),
        ),
        (
            "D19",
            "Memantine with a seizure disorder",
            on("memantine") & HasEvent("epilepsy", unresolved=True),
        ),
        ("E2", "Dabigatran with eGFR <30", on("dabigatran") & egfr_below(30)),
        ("E3", "Factor Xa inhibitor with eGFR <15", on("factor_xa") & egfr_below(15)),
        (
            "E4",
            f"NSAID with eGFR <{p.stopp_e4_egfr_below:g}",
            on("nsaid") & egfr_below(p.stopp_e4_egfr_below),
        ),
        ("E5", "Colchicine with eGFR <10", on("colchicine") & egfr_below(10)),
        ("E6", "Metformin with eGFR <30", on("metformin") & egfr_below(30)),
        ("E7", "Aldosterone antagonist with eGFR <30", on("mra") & egfr_below(30)),
        ("E8", "Nitrofurantoin with eGFR <45", on("nitrofurantoin") & egfr_below(45)),
        ("E9", "Bisphosphonate with eGFR <30", on("bisphosphonate") & egfr_below(30)),
        ("E10", "Methotrexate with eGFR <30", on("methotrexate") & egfr_below(30)),
        (
            "F5",
            "Corticosteroid with peptic ulcer history without a PPI",
            on("systemic_corticosteroid") & ulcer & ~ppi,
        ),
        (
            "H1",
            "Non-COX-2 NSAID with peptic ulcer or GI bleed history without a PPI or H2RA",
            on("nsaid_non_cox2") & ulcer & ~ppi,
        ),
        (
            "H6",
            "Long-term NSAID or colchicine for gout without allopurinol/febuxostat",
            (long_term("nsaid") | long_term("colchicine"))
            & HasEvent("gout")
            & ~on("xanthine_oxidase_inhibitor"),
        ),
        (
            "H7",
            "NSAID with a systemic corticosteroid",
            on("nsaid") & on("systemic_corticosteroid"),
        ),
        ("I1", "Bladder antimuscarinic with dementia", on("bladder_antimuscarinic") & dementia),
        (
            "J1",
            "Long-acting sulphonylurea with type 2 diabetes",
            on("long_acting_sulfonylurea") & HasEvent("diabetes_t2"),
        ),
        ("J2", "Thiazolidinedione with heart failure", on("thiazolidinedione") & hf),
        *((rid, f"{drug} with recurrent falls", on(cls) & falls) for rid, drug, cls in FALL_RISK),
        ("L2", "Regular opioid without a laxative", on("opioid", regular=True) & ~on("laxative")),
        ("M1", "Two or more anticholinergic medicines (ACB ≥2)", AcbCount(a, 2, 2)),
    ]
    start: list[tuple[str, str, Expr]] = [
        (
            "B2",
            "Statin with vascular disease (not end-of-life, not moderate/severe frailty, not "
            "declined)",
            vascular
            & ~on("statin")
            & ~HasEvent("palliative")
            & ~HasEvent("severe_frailty")
            & ~HasEvent("moderate_frailty")
            & ~HasEvent("statin_declined"),
        ),
        (
            "B3",
            "ACE inhibitor (or ARB) with coronary artery disease",
            HasEvent("chd", unresolved=True) & ~on("acei", "arb"),
        ),
        ("B8", "SGLT2 inhibitor in heart failure", hf & ~on("sglt2")),
        ("C1", "Anticoagulant in atrial fibrillation", af & ~on("oac")),
        (
            "C2",
            "Antiplatelet with vascular disease (not anticoagulated)",
            vascular & ~on("antiplatelet") & ~on("oac"),
        ),
        ("F3", "PPI with an NSAID", on("nsaid") & ~ppi),
        (
            "H2",
            "Bone protection with long-term systemic corticosteroid",
            long_term("systemic_corticosteroid") & ~on("bone_protection"),
        ),
        ("H3", "Vitamin D with osteoporosis", HasEvent("osteoporosis") & ~on("vitamin_d")),
        (
            "H4",
            "Anti-resorptive with osteoporosis",
            HasEvent("osteoporosis") & ~on("bone_protection"),
        ),
        (
            "H8",
            "Allopurinol/febuxostat with recurrent gout",
            HasEvent("gout", min_count=2) & ~on("xanthine_oxidase_inhibitor"),
        ),
        ("H9", "Folic acid with methotrexate", on("methotrexate") & ~on("folic_acid")),
        ("K2", "Laxative with a regular opioid", on("opioid", regular=True) & ~on("laxative")),
    ]
    return [Rule(f"STOPP-{i}", t, "stopp", c, STOPP_SRC, older) for i, t, c in stopp] + [
        Rule(f"START-{i}", t, "start", c, STOPP_SRC + " (START: unless end-of-life care)", older)
        for i, t, c in start
    ]


#: Criteria that need judgement or data GP records do not code; shown as questions when the
#: trigger holds (STOPP/START v3 §3.3 "prompts for the pharmacist").
PROMPT_TRIGGERS: dict[str, tuple[str, ...]] = {
    "STOPP-A1": ("*",),
    "STOPP-A2": ("*",),
    "STOPP-B5": ("beta_blocker",),
    "STOPP-B7": ("loop_diuretic",),
    "STOPP-B8": ("loop_diuretic",),
    "STOPP-B16": ("statin",),
    "STOPP-C1": ("aspirin",),
    "STOPP-C3": ("aspirin",),
    "STOPP-C8": ("oac",),
    "STOPP-C9": ("oac",),
    "STOPP-C11": ("vka",),
    "STOPP-D2": ("tca",),
    "STOPP-D4": ("antipsychotic",),
    "STOPP-D5": ("antipsychotic",),
    "STOPP-D10": ("benzodiazepine",),
    "STOPP-D12": ("antipsychotic_not_clz_qtp",),
    "STOPP-D15": ("antipsychotic",),
    "STOPP-D16": ("antipsychotic",),
    "STOPP-D24": ("first_gen_antihistamine",),
    "STOPP-D25": ("first_gen_antihistamine",),
    "STOPP-E1": ("digoxin",),
    "STOPP-F1": ("metoclopramide_prochlorperazine",),
    "STOPP-F2": ("ulcer_healing",),
    "STOPP-F3": ("opioid", "oral_iron", "rate_limiting_ccb"),
    "STOPP-F8": ("megestrol",),
    "STOPP-G1": ("theophylline",),
    "STOPP-G2": ("systemic_corticosteroid",),
    "STOPP-G3": ("lama",),
    "STOPP-H3": ("nsaid",),
    "STOPP-H4": ("systemic_corticosteroid",),
    "STOPP-H9": ("opioid",),
    "STOPP-I2": ("bladder_antimuscarinic",),
    "STOPP-I5": ("alpha_blocker",),
    "STOPP-J5": ("oestrogen_systemic",),
    "STOPP-J6": ("oestrogen_systemic",),
    "STOPP-J8": ("oestrogen_systemic",),
    "STOPP-J10": ("desmopressin",),
    "STOPP-L1": ("opioid",),
    "STOPP-L3": ("opioid",),
    "STOPP-L5": ("gabapentinoid",),
    "STOPP-C15": ("oestrogen_systemic",),
    "START-L1": ("*",),
    "START-L2": ("*",),
    "START-L3": ("*",),
    "START-L4": ("*",),
}


def _prompts(p: Params, criteria_text: dict[str, str]) -> list[Rule]:
    a = last(p.active_months)
    older = AgeBetween(p.stopp_start_min_age, 120)
    out = []
    for rid, classes in PROMPT_TRIGGERS.items():
        trigger: Expr = (
            MedicineCount(a, 1) if classes == ("*",) else Any(tuple(Issued(c, a) for c in classes))
        )
        out.append(
            Rule(
                rid,
                criteria_text.get(rid, rid),
                "prompt",
                trigger,
                STOPP_SRC + " — needs clinical judgement",
                older,
                kind="prompt",
            )
        )
    return out


def _acb(p: Params) -> list[Rule]:
    a = last(p.active_months)
    return [
        Rule(
            "ACB-TOTAL",
            f"Anticholinergic burden (ACB) total ≥{p.acb_total_threshold}",
            "acb",
            AcbTotal(a, p.acb_total_threshold),
            ACB_SRC,
        ),
        Rule(
            "ACB-MODERATE-2",
            f"≥{p.acb_moderate_count} medicines with ACB score 2–3",
            "acb",
            AcbCount(a, p.acb_moderate_min_score, p.acb_moderate_count),
            ACB_SRC + "; NHSBSA polypharmacy comparator",
        ),
    ]


def _smr(p: Params) -> list[Rule]:
    w12 = last(p.high_risk_months)
    poly = last(p.polypharmacy_months)
    return [
        Rule("SMR-CARE-HOME", "Care-home resident", "smr", CareHome(), SMR_SRC),
        Rule(
            "SMR-POLYPHARMACY-10",
            f"≥{p.polypharmacy_high} unique medicines (BNF ch. 1–4, 6–10)",
            "smr",
            MedicineCount(poly, p.polypharmacy_high),
            SMR_SRC,
        ),
        Rule(
            "SMR-POLYPHARMACY-15",
            f"≥{p.polypharmacy_very_high} unique medicines",
            "smr",
            MedicineCount(poly, p.polypharmacy_very_high),
            SMR_SRC,
        ),
        Rule(
            "SMR-POLYPHARMACY-6",
            f"≥{p.polypharmacy_low} unique medicines",
            "smr",
            MedicineCount(poly, p.polypharmacy_low),
            SMR_SRC + " (NHSBSA comparator)",
        ),
        Rule(
            "SMR-SEVERE-FRAILTY",
            "Severe frailty (code, or eFI >0.36)",
            "smr",
            HasEvent("severe_frailty") | LabLatest("efi", EVER, ">", 0.36),
            SMR_SRC,
        ),
        Rule(
            "SMR-ADMISSION-OR-FALL",
            f"Hospital admission in {p.recent_admission_days} days or a fall in 12 months",
            "smr",
            Admitted(last(p.recent_admission_days, "days")) | HasEvent("falls", last(12)),
            SMR_SRC,
        ),
        Rule(
            "SMR-ADDICTIVE",
            "Potentially addictive medicines (opioid, gabapentinoid, "
            f"benzodiazepine, Z-drug; ≥{p.addictive_min_issues} issues in 12 months)",
            "smr",
            Issued("addictive", w12, p.addictive_min_issues),
            SMR_SRC,
        ),
        Rule(
            "SMR-DMARD",
            f"DMARD (≥{p.addictive_min_issues} issues in 12 months)",
            "smr",
            Issued("dmard", w12, p.addictive_min_issues),
            SMR_SRC,
        ),
        Rule(
            "SMR-TERATOGENIC",
            f"Teratogenic medicine in a woman aged ≤{p.teratogenic_max_age}",
            "smr",
            Issued("teratogenic", w12, p.addictive_min_issues),
            SMR_SRC,
            SexIs("female") & AgeBetween(0, p.teratogenic_max_age),
        ),
        Rule(
            "SMR-LEARNING-DISABILITY",
            "Learning disability (STOMP)",
            "smr",
            HasEvent("learning_disability"),
            SMR_SRC,
        ),
        Rule(
            "SMR-RECENT-REVIEW",
            f"Structured medication review in the last "
            f"{p.smr_recent_months} months (lowers priority)",
            "smr",
            HasEvent("smr", last(p.smr_recent_months)),
            SMR_SRC,
        ),
    ]


def _monitoring(p: Params) -> list[Rule]:
    l3, w12 = last(3), last(p.doac_monitoring_months)
    doac = Issued("doac", l3)
    amiodarone, on_amiodarone, no_lft = _unmonitored(
        "amiodarone", "pincer_lft", "a liver function test", 6
    )
    # the DOAC's dose depends on renal function and weight (SmPCs): each needs a recent result
    doac_tests = (("RENAL", "renal function", "renal_function"), ("WEIGHT", "a weight", "weight"))
    return [
        *(
            Rule(
                f"MON-DOAC-{key}",
                f"DOAC without {what} in 12 months",
                "monitoring",
                ~TestDone(testset, w12),
                MON_SRC,
                doac,
            )
            for key, what, testset in doac_tests
        ),
        Rule(
            "MON-DOAC-DOSE",
            "DOAC dose does not match the SmPC for age, weight and creatinine clearance (AF)",
            "monitoring",
            DoacDoseMismatch(l3, w12),
            MON_SRC + "; SmPCs (apixaban, dabigatran, edoxaban, rivaroxaban)",
            doac & HasEvent("af", unresolved=True),
        ),
        Rule("MON-AMIODARONE-LFT", amiodarone, "monitoring", no_lft, MON_SRC, on_amiodarone),
    ]


def _criteria_text() -> dict[str, str]:
    import csv

    from ipmo.review.codelists import DATA

    with (DATA / "stopp_start_v3_index.csv").open(newline="", encoding="utf-8") as f:
        return {r["id"]: r["text"] for r in csv.DictReader(f)}


@lru_cache(maxsize=8)
def all_rules(p: Params = DEFAULT) -> tuple[Rule, ...]:
    rules = _pincer(p) + _stopp_start(p) + _acb(p) + _smr(p) + _monitoring(p)
    rules += _prompts(p, _criteria_text())
    ids = [r.id for r in rules]
    if len(ids) != len(set(ids)):
        raise ValueError("duplicate rule ids")
    for r in rules:
        _validate(r)
    return tuple(rules)


def _validate(r: Rule) -> None:
    """Fail loudly on a misspelt drug class or code set instead of silently never matching."""
    from ipmo.review import expr as E
    from ipmo.review.codelists import KINDS, code_sets
    from ipmo.review.drug_classes import CLASSES

    for prim in E.primitives(r.denominator) + E.primitives(r.criteria):
        for attr in ("cls", "a", "b"):
            name = getattr(prim, attr, None)
            if isinstance(name, str) and name not in CLASSES:
                raise ValueError(f"{r.id}: unknown drug class {name!r}")
        for attr in ("codeset", "testset", "present", "resolved"):
            name = getattr(prim, attr, None)
            if isinstance(name, str) and name not in code_sets() and name not in KINDS:
                raise ValueError(f"{r.id}: unknown code set {name!r}")


def rule(rule_id: str, p: Params = DEFAULT) -> Rule:
    return next(r for r in all_rules(p) if r.id == rule_id)


__all__ = ["Rule", "all_rules", "rule", "All"]
