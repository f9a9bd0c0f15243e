"""One spec test per discrepancy class (issue 4 "Reconcile"), each with positive and negative
cases. Classes: Cornish et al. 2005 / Tam et al. 2005 taxonomy + stopped_elsewhere; duplication
of a hazardous class per STOPP/START v3 A3 (and PPIs)."""

from datetime import date


def test_spec_omission(rec):
    gp = rec.source("gp", "A81001", rec.item("900151", dosage=rec.tablets(1, 1)))
    hosp = rec.source("hospital", "RR8", rec.item("900181", dosage=rec.tablets(2, 4)))
    r = rec.run(gp, hosp)
    om = [d for d in r.discrepancies if d.type == "omission"]
    assert len(om) == 1 and om[0].medication == "Amlodipine"
    assert om[0].sources == ["gp:A81001", "hospital:RR8"]
    # negative: present in both → no omission
    hosp2 = rec.source("hospital", "RR8", rec.item("900151", dosage=rec.tablets(1, 1)))
    assert "omission" not in rec.types(rec.run(gp, hosp2))


def test_spec_commission(rec):
    gp = rec.source("gp", "A81001", rec.item("900151", dosage=rec.tablets(1, 1)))
    hosp = rec.source(
        "hospital",
        "RR8",
        rec.item("900151", dosage=rec.tablets(1, 1)),
        rec.item("900181", dosage=rec.tablets(2, 4)),
    )
    r = rec.run(gp, hosp)
    com = [d for d in r.discrepancies if d.type == "commission"]
    assert [(d.medication, d.sources) for d in com] == [("Paracetamol", ["hospital:RR8"])]
    assert rec.types(r) == ["commission"]
    # negative: the GP has it too
    gp2 = rec.source(
        "gp",
        "A81001",
        rec.item("900151", dosage=rec.tablets(1, 1)),
        rec.item("900181", dosage=rec.tablets(2, 4)),
    )
    assert rec.types(rec.run(gp2, hosp)) == []


def test_spec_dose(rec):
    gp = rec.source("gp", "A81001", rec.item("900151", dosage=rec.tablets(1, 1)))
    hosp = rec.source("hospital", "RR8", rec.item("900152", dosage=rec.tablets(1, 1)))
    r = rec.run(gp, hosp)  # 5mg a day vs 10mg a day
    dose = [d for d in r.discrepancies if d.type == "dose"]
    assert len(dose) == 1 and "5mg a day" in dose[0].detail and "10mg a day" in dose[0].detail
    # negative: 2 × 5mg and 1 × 10mg are the same daily dose
    hosp2 = rec.source("hospital", "RR8", rec.item("900152", dosage=rec.tablets(1, 1)))
    gp2 = rec.source("gp", "A81001", rec.item("900151", dosage=rec.tablets(2, 1)))
    assert rec.types(rec.run(gp2, hosp2)) == []


def test_spec_frequency(rec):
    # same daily total (40mg), different schedule: 1 tablet twice a day vs 2 tablets once a day
    gp = rec.source("gp", "A81001", rec.item("900141", dosage=rec.tablets(1, 2)))
    hosp = rec.source("hospital", "RR8", rec.item("900141", dosage=rec.tablets(2, 1)))
    assert rec.types(rec.run(gp, hosp)) == ["frequency"]
    # regular vs as required is a frequency difference too
    prn = rec.source(
        "hospital", "RR8", rec.item("900181", dosage=rec.tablets(2, 4, as_needed=True))
    )
    reg = rec.source("gp", "A81001", rec.item("900181", dosage=rec.tablets(2, 4)))
    assert rec.types(rec.run(reg, prn)) == ["frequency"]
    # negative: identical schedules
    same = rec.source("hospital", "RR8", rec.item("900141", dosage=rec.tablets(1, 2)))
    assert rec.types(rec.run(gp, same)) == []


def test_spec_route(rec):
    gp = rec.source("gp", "A81001", rec.item("900161", route="oral", dosage=rec.tablets(1, 1)))
    hosp = rec.source(
        "hospital", "RR8", rec.item("900161", route="intravenous", dosage=rec.tablets(1, 1))
    )
    r = rec.run(gp, hosp)
    assert rec.types(r) == ["route"]
    assert r.discrepancies[0].values == {"gp:A81001": "oral", "hospital:RR8": "intravenous"}
    hosp2 = rec.source(
        "hospital", "RR8", rec.item("900161", route="Oral", dosage=rec.tablets(1, 1))
    )
    assert rec.types(rec.run(gp, hosp2)) == []


def test_spec_formulation(rec):
    gp = rec.source("gp", "A81001", rec.item("900171", dosage=rec.tablets(1, 2)))
    hosp = rec.source("hospital", "RR8", rec.item("900172", dosage=rec.tablets(1, 2)))
    r = rec.run(gp, hosp)  # metformin immediate vs modified release
    assert rec.types(r) == ["formulation"]
    # negative: brand vs generic of the same VMP is not a discrepancy
    brand = rec.source("pharmacy", "FA123", rec.item("900201", dosage=rec.tablets(1, 1)))
    generic = rec.source("gp", "A81001", rec.item("10300411000001101", dosage=rec.tablets(1, 1)))
    assert rec.types(rec.run(generic, brand)) == []


def test_spec_duplication_same_substance(rec):
    gp = rec.source(
        "gp",
        "A81001",
        rec.item("900101", dosage=rec.tablets(1, 1), category="repeat"),
        rec.item("900102", dosage=rec.tablets(1, 1)),
    )
    r = rec.run(gp)
    dup = [d for d in r.discrepancies if d.type == "duplication"]
    assert len(dup) == 1 and dup[0].sources == ["gp:A81001"] and dup[0].severity == "high"
    gp1 = rec.source("gp", "A81001", rec.item("900101", dosage=rec.tablets(1, 1)))
    assert rec.types(rec.run(gp1)) == []


def test_spec_duplication_hazardous_class(rec):
    # two PPIs (omeprazole in the GP record, lansoprazole from the hospital)
    gp = rec.source("gp", "A81001", rec.item("900101", dosage=rec.tablets(1, 1)))
    hosp = rec.source(
        "hospital",
        "RR8",
        rec.item("900101", dosage=rec.tablets(1, 1)),
        rec.item("900111", dosage=rec.tablets(1, 1)),
    )
    dups = [d for d in rec.run(gp, hosp).discrepancies if d.type == "duplication"]
    assert len(dups) == 1 and "proton pump inhibitors" in dups[0].detail
    # two NSAIDs
    nsaids = rec.source(
        "gp",
        "A81001",
        rec.item("900121", dosage=rec.tablets(1, 3)),
        rec.item("900131", dosage=rec.tablets(1, 2)),
    )
    assert rec.types(rec.run(nsaids)) == ["duplication"]
    # negative: an NSAID taken only as required alongside a regular one (STOPP A3: regular use)
    prn = rec.source(
        "gp",
        "A81001",
        rec.item("900121", dosage=rec.tablets(1, 3, as_needed=True)),
        rec.item("900131", dosage=rec.tablets(1, 2)),
    )
    assert rec.types(rec.run(prn)) == []
    # negative: two classes that are not a duplication hazard (CCB + paracetamol)
    other = rec.source(
        "gp",
        "A81001",
        rec.item("900151", dosage=rec.tablets(1, 1)),
        rec.item("900181", dosage=rec.tablets(2, 4)),
    )
    assert rec.types(rec.run(other)) == []


def test_spec_stopped_elsewhere(rec):
    hosp = rec.source(
        "hospital",
        "RR8",
        rec.item("900141", status="stopped", end_date=date(2025, 5, 20), status_reason="bleeding"),
    )
    gp = rec.source("gp", "A81001", rec.item("900141", dosage=rec.tablets(1, 1)))
    r = rec.run(gp, hosp)
    assert rec.types(r) == ["stopped_elsewhere"]
    d = r.discrepancies[0]
    assert d.severity == "high"  # warfarin is a high-risk medicine
    assert d.values["hospital:RR8"] == "stopped (bleeding)"
    # negative: stopped everywhere → nothing to reconcile
    gp_stopped = rec.source("gp", "A81001", rec.item("900141", status="stopped"))
    assert rec.types(rec.run(gp_stopped, hosp)) == []


def test_unmapped_lines_are_kept_and_matched_by_name(rec):
    gp = rec.source("gp", "A81001", rec.item("900151", dosage=rec.tablets(1, 1)))
    csv = rec.source(
        "specialist", "X1", rec.item("", name="AMLODIPINE 5MG TABS", dosage=rec.tablets(1, 1))
    )
    r = rec.run(gp, csv)
    assert rec.types(r) == []
    assert len(r.lines) == 1
    # a line nobody can map stays, flagged unmapped
    odd = rec.source("specialist", "X1", rec.item("", name="Trial drug XYZ"))
    r2 = rec.run(gp, odd)
    assert any(
        i.mapping == "unmapped"
        for line in r2.lines
        for items in line.by_source.values()
        for i in items
    )
    assert "commission" in rec.types(r2)
