"""BNF codes: structure, generic equivalents and therapeutic classes.

A BNF presentation code has 15 characters (NHSBSA, "BNF code structure", as used in the English
Prescribing Dataset and by OpenPrescribing): chapter (1–2), section (3–4), paragraph (5–6),
sub-paragraph (7), chemical substance (8–9), product (10–11; ``AA`` = generic), strength and
formulation (12–13), and the strength and formulation of the generic equivalent (14–15). Chapters
20–23 are appliances and dressings.
"""

from __future__ import annotations

from dataclasses import dataclass

CHAPTERS = {
    "01": "Gastro-intestinal system",
    "02": "Cardiovascular system",
    "03": "Respiratory system",
    "04": "Central nervous system",
    "05": "Infections",
    "06": "Endocrine system",
    "07": "Obstetrics, gynaecology, and urinary-tract disorders",
    "08": "Malignant disease and immunosuppression",
    "09": "Nutrition and blood",
    "10": "Musculoskeletal and joint diseases",
    "11": "Eye",
    "12": "Ear, nose, and oropharynx",
    "13": "Skin",
    "14": "Immunological products and vaccines",
    "15": "Anaesthesia",
    "18": "Preparations used in diagnosis",
    "19": "Other drugs and preparations",
    "20": "Dressings",
    "21": "Appliances",
    "22": "Incontinence appliances",
    "23": "Stoma appliances",
}


@dataclass(frozen=True, slots=True)
class BnfParts:
    chapter: str
    section: str
    paragraph: str
    subparagraph: str
    chemical: str
    product: str
    presentation: str


def _clean(code: str) -> str:
    code = code.strip().upper()
    if not code or not code.isalnum() or len(code) > 15:
        raise ValueError(f"not a BNF code: {code!r}")
    return code


def parts(code: str) -> BnfParts:
    """The hierarchy prefixes of a BNF code (shorter codes give what they contain)."""
    c = _clean(code)
    return BnfParts(c[:2], c[:4], c[:6], c[:7], c[:9], c[:11], c if len(c) == 15 else "")


def chapter(code: str) -> str:
    return _clean(code)[:2]


def chapter_name(code: str) -> str | None:
    return CHAPTERS.get(chapter(code))


def section(code: str) -> str:
    """Chapter + section, e.g. ``"0205"`` for ``"0205051R0AAAAAA"`` (BNF 2.5)."""
    return _clean(code)[:4]


def section_label(code: str) -> str:
    """BNF numbering as printed: ``"0205051R0AAAAAA"`` → ``"2.5.5.1"``."""
    c = _clean(code)
    nums = [str(int(c[i : i + 2])) for i in (0, 2, 4) if len(c) >= i + 2]
    if len(c) >= 7:
        nums.append(str(int(c[6])))
    return ".".join(n for n in nums if n != "0")


def is_generic(code: str) -> bool:
    """Product characters ``AA`` mark the generic presentation."""
    c = _clean(code)
    return len(c) == 15 and c[9:11] == "AA"


def generic_equivalent(code: str) -> str | None:
    """The generic presentation a branded code is equivalent to (characters 14–15 name the
    generic's strength/formulation): ``0205051R0BBAAAB`` → ``0205051R0AAABAB``."""
    c = _clean(code)
    if len(c) != 15:
        return None
    return c[:9] + "AA" + c[13:15] + c[13:15]


# Therapeutic classes by BNF prefix, used for duplication checks in reconciliation. Headings and
# numbering: BNF (legacy chapter structure kept by NHSBSA for prescribing data), e.g. BNF 1.3.5
# "Proton pump inhibitors" = 0103050. The longest matching prefix wins.
THERAPEUTIC_CLASSES: dict[str, str] = {
    "0103010": "H2-receptor antagonists",  # BNF 1.3.1
    "0103050": "Proton pump inhibitors",  # BNF 1.3.5
    "0201010": "Cardiac glycosides",  # BNF 2.1.1
    "0202010": "Thiazide diuretics",  # BNF 2.2.1
    "0202020": "Loop diuretics",  # BNF 2.2.2
    "0202030": "Potassium-sparing diuretics",  # BNF 2.2.3 (incl. aldosterone antagonists)
    "0202040": "Potassium-sparing diuretics with other diuretics",  # BNF 2.2.4
    "0203020": "Anti-arrhythmic drugs",  # BNF 2.3.2
    "0204000": "Beta-adrenoceptor blocking drugs",  # BNF 2.4
    "0205040": "Alpha-adrenoceptor blocking drugs",  # BNF 2.5.4
    "0205051": "ACE inhibitors",  # BNF 2.5.5.1
    "0205052": "Angiotensin-II receptor antagonists",  # BNF 2.5.5.2
    "0205053": "Renin inhibitors",  # BNF 2.5.5.3
    "0206010": "Nitrates",  # BNF 2.6.1
    "0206020": "Calcium-channel blockers",  # BNF 2.6.2
    "0208010": "Parenteral anticoagulants",  # BNF 2.8.1
    "0208020": "Oral anticoagulants",  # BNF 2.8.2
    "0209000": "Antiplatelet drugs",  # BNF 2.9
    "0212000": "Lipid-regulating drugs",  # BNF 2.12
    "0301011": "Selective beta2 agonists",  # BNF 3.1.1.1
    "0301020": "Antimuscarinic bronchodilators",  # BNF 3.1.2
    "0302000": "Inhaled corticosteroids",  # BNF 3.2
    "0304010": "Antihistamines",  # BNF 3.4.1
    "0401010": "Hypnotics",  # BNF 4.1.1
    "0401020": "Anxiolytics",  # BNF 4.1.2
    "0402010": "Antipsychotics",  # BNF 4.2.1
    "0402020": "Antipsychotic depot injections",  # BNF 4.2.2
    "0402030": "Drugs for mania and hypomania",  # BNF 4.2.3 (lithium)
    "0403010": "Tricyclic and related antidepressants",  # BNF 4.3.1
    "0403020": "Monoamine-oxidase inhibitors",  # BNF 4.3.2
    "0403030": "Selective serotonin re-uptake inhibitors",  # BNF 4.3.3
    "0403040": "Other antidepressants",  # BNF 4.3.4
    "0407010": "Non-opioid analgesics",  # BNF 4.7.1
    "0407020": "Opioid analgesics",  # BNF 4.7.2
    "0408010": "Antiepileptics",  # BNF 4.8.1
    "0411000": "Drugs for dementia",  # BNF 4.11
    "060101": "Insulins",  # BNF 6.1.1
    "0601021": "Sulfonylureas",  # BNF 6.1.2.1
    "0601022": "Biguanides",  # BNF 6.1.2.2
    "0601023": "Other antidiabetic drugs",  # BNF 6.1.2.3
    "0602010": "Thyroid hormones",  # BNF 6.2.1
    "0603020": "Glucocorticoid therapy",  # BNF 6.3.2
    "0606020": "Bisphosphonates and other bone drugs",  # BNF 6.6.2
    "0703010": "Combined hormonal contraceptives",  # BNF 7.3.1
    "0704020": "Drugs for urinary frequency, enuresis and incontinence",  # BNF 7.4.2
    "050101": "Penicillins",  # BNF 5.1.1
    "050102": "Cephalosporins and other beta-lactams",  # BNF 5.1.2
    "050103": "Tetracyclines",  # BNF 5.1.3
    "050105": "Macrolides",  # BNF 5.1.5
    "050108": "Sulfonamides and trimethoprim",  # BNF 5.1.8
    "050112": "Quinolones",  # BNF 5.1.12
    "050113": "Urinary-tract infections",  # BNF 5.1.13 (nitrofurantoin, methenamine)
    "1001010": "Non-steroidal anti-inflammatory drugs",  # BNF 10.1.1
    "1001030": "Rheumatic disease suppressant drugs",  # BNF 10.1.3 (DMARDs)
    "1001040": "Drugs for gout",  # BNF 10.1.4
}


def therapeutic_class(bnf_code: str | None) -> str | None:
    """The therapeutic class a BNF code belongs to, or None when ipmo does not group it.

    >>> therapeutic_class("0103050P0AAAAAA")  # omeprazole
    'Proton pump inhibitors'
    """
    if not bnf_code:
        return None
    try:
        c = _clean(bnf_code)
    except ValueError:
        return None
    for length in (7, 6):
        if (name := THERAPEUTIC_CLASSES.get(c[:length])) and len(c) >= length:
            return name
    return None
