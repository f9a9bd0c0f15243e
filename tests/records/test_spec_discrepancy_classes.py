"""Issue 13 item 7: duplication by therapeutic class across sources (two statins, PPIs, ACE
inhibitors or ARBs, SSRIs, NSAIDs, anticoagulants, opioids), legitimate combinations not flagged
(statin + ezetimibe); ``frequency`` when the unit dose is unchanged, ``dose`` when it changes,
both when both change. VMP ids and BNF codes are the real dm+d / BNF ones."""

from __future__ import annotations

import pytest

from ipmo.records.canonical import MedItem, SourceDocument
from ipmo.records.normalise import normalise
from ipmo.records.reconcile import reconcile
from ipmo.terminology import Dictionary

from .conftest import INDEX, tablets

#        VMP id, name, VTM id, VTM name, BNF code
PRODUCTS = {
    "simvastatin": ("320000009", "Simvastatin 40mg tablets", "96304005", "Simvastatin",
                    "0212000Y0AAADAD"),
    "atorvastatin": ("320030001", "Atorvastatin 20mg tablets", "108600003", "Atorvastatin",
                     "0212000B0AAABAB"),
    "ezetimibe": ("409379009", "Ezetimibe 10mg tablets", "408041006", "Ezetimibe",
                  "0212000AJAAAAAA"),
    "omeprazole": ("317291008", "Omeprazole 20mg gastro-resistant capsules", "25673006",
                   "Omeprazole", "0103050P0AAAAAA"),
    "lansoprazole": ("317309001", "Lansoprazole 30mg gastro-resistant capsules", "108666007",
                     "Lansoprazole", "0103050L0AAAAAA"),
    "ramipril": ("318902004", "Ramipril 5mg capsules", "108564000", "Ramipril",
                 "0205051R0AAACAC"),
    "losartan": ("318956006", "Losartan 50mg tablets", "96309000", "Losartan", "0205052N0AAABAB"),
    "sertraline": ("321959007", "Sertraline 50mg tablets", "321958004", "Sertraline",
                   "0403030Q0AAAAAA"),
    "citalopram": ("321987003", "Citalopram 20mg tablets", "321986007", "Citalopram",
                   "0403030D0AAAAAA"),
    "ibuprofen": ("329653008", "Ibuprofen 400mg tablets", "38268001", "Ibuprofen",
                  "1001010J0AAAEAE"),
    "naproxen": ("329807003", "Naproxen 500mg tablets", "11847009", "Naproxen",
                 "1001010P0AAAEAE"),
    "apixaban": ("703908001", "Apixaban 5mg tablets", "703906002", "Apixaban", "0208020Z0AAABAB"),
    "enoxaparin": ("36564011000001106", "Enoxaparin 40mg/0.4ml solution for injection pre-filled "
                   "syringes", "108984007", "Enoxaparin", "0208010D0AAAEAE"),
    "morphine": ("36126511000001106", "Morphine 10mg modified-release tablets", "73572009",
                 "Morphine", "0407020Q0AAAKAK"),
    "codeine": ("322503009", "Codeine 30mg tablets", "85990009", "Codeine", "0407020C0AAAEAE"),
    "metformin": ("325278007", "Metformin 500mg tablets", "109081006", "Metformin",
                  "0601022B0AAABAB"),
    "amlodipine": ("319283006", "Amlodipine 5mg tablets", "108537001", "Amlodipine",
                   "0206020A0AAAAAA"),
}  # fmt: skip


@pytest.fixture(scope="module")
def dmd() -> Dictionary:
    rows = []
    blank = {"supplier": "", "invalid": "0", "new_id": "", "sources": "test", "route": ""}
    for vmp, name, vtm, vtm_name, bnf in PRODUCTS.values():
        rows.append(blank | {"kind": "VTM", "id": vtm, "name": vtm_name, "vmp_id": "",
                             "vtm_id": "", "bnf_code": "", "form": ""})  # fmt: skip
        rows.append(blank | {"kind": "VMP", "id": vmp, "name": name, "vmp_id": "",
                             "vtm_id": vtm, "bnf_code": bnf, "form": "tablet"})  # fmt: skip
    return Dictionary(rows)


def line(drug: str, dosage: list[dict] | None = None) -> MedItem:
    vmp, name, *_ = PRODUCTS[drug]
    return MedItem(name=name, code=vmp, category="repeat", authored_on=INDEX.replace(month=1),
                   dosage=dosage or tablets(1, 1))  # fmt: skip


def run(dmd, gp: list[MedItem], hospital: list[MedItem]):
    docs = [
        SourceDocument("gp", "A81001", "test", gp),
        SourceDocument("hospital", "RR8", "test", hospital),
    ]
    for doc in docs:
        normalise(doc.items, dmd)
    return reconcile(docs, INDEX)


def class_duplications(result) -> list[str]:
    return sorted(d.key for d in result.discrepancies if d.key.startswith("class:"))


@pytest.mark.parametrize(
    ("gp", "hospital", "cls"),
    [
        ("simvastatin", "atorvastatin", "Statins"),
        ("omeprazole", "lansoprazole", "Proton pump inhibitors"),
        ("ramipril", "losartan", "ACE inhibitors or angiotensin-II receptor antagonists"),
        ("sertraline", "citalopram", "Selective serotonin re-uptake inhibitors"),
        ("ibuprofen", "naproxen", "Non-steroidal anti-inflammatory drugs"),
        ("apixaban", "enoxaparin", "Anticoagulants"),
        ("morphine", "codeine", "Opioid analgesics"),
    ],
)
def test_spec_duplication_by_therapeutic_class_across_sources(dmd, gp, hospital, cls):
    result = run(dmd, [line(gp)], [line(hospital)])
    assert class_duplications(result) == [f"class:{cls}"]
    dup = next(d for d in result.discrepancies if d.key == f"class:{cls}")
    assert dup.type == "duplication" and dup.severity == "high"
    assert set(dup.sources) == {"gp:A81001", "hospital:RR8"}


def test_spec_legitimate_combinations_are_not_duplication(dmd):
    # statin + ezetimibe (NICE NG238), statin + a PPI, an ACE inhibitor + a CCB
    result = run(dmd, [line("atorvastatin"), line("omeprazole")], [line("ezetimibe")])
    assert class_duplications(result) == []
    result = run(dmd, [line("ramipril")], [line("amlodipine")])
    assert class_duplications(result) == []
    # one statin in both sources is the same medicine, not a duplication
    assert class_duplications(run(dmd, [line("simvastatin")], [line("simvastatin")])) == []


def types(result) -> list[str]:
    return sorted(d.type for d in result.discrepancies)


def test_spec_frequency_when_unit_dose_unchanged(dmd):
    # metformin 1 tablet twice a day (GP) vs three times a day (hospital): frequency, not dose
    result = run(dmd, [line("metformin", tablets(1, 2))], [line("metformin", tablets(1, 3))])
    assert types(result) == ["frequency"]
    assert "same dose each time" in result.discrepancies[0].detail


def test_spec_dose_when_unit_dose_changes(dmd):
    result = run(dmd, [line("metformin", tablets(1, 2))], [line("metformin", tablets(2, 2))])
    assert types(result) == ["dose"]


def test_spec_dose_and_frequency_when_both_change(dmd):
    result = run(dmd, [line("metformin", tablets(1, 2))], [line("metformin", tablets(2, 3))])
    assert types(result) == ["dose", "frequency"]


def test_spec_no_discrepancy_when_nothing_changes(dmd):
    result = run(dmd, [line("metformin", tablets(1, 2))], [line("metformin", tablets(1, 2))])
    assert types(result) == []
