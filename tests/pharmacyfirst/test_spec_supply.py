"""Pharmacy First supply criteria (when a PGD medicine may be offered once the gateway is passed),
one test per criterion with a case that meets it and one that does not, and the treatment it
unlocks. Source of each: NHS England's NHS Pharmacy First clinical pathways (PRN00936_ii, 2024),
as cited per criterion in ``src/ipmo/pharmacyfirst/pathways.yaml``."""

from __future__ import annotations

from datetime import date

from ipmo.pharmacyfirst.gateway import Facts, Medicine, check
from ipmo.pharmacyfirst.pathways import catalogue

DAY = date(2026, 11, 18)


def judge(pathway: str, criterion: str, born=date(1990, 1, 1), meds=(), **answers):
    facts = Facts(born, "female", DAY, answers=answers, medicines=[Medicine(m) for m in meds])
    result = check(catalogue().pathway(pathway, DAY), facts)
    found = next(c for c in result.supply if c.id == criterion)
    assert found.source
    return found.met, {t.treatment.id for t in result.treatments if t.allowed}


def test_every_supply_criterion_has_a_spec_test():
    expected = {
        f"test_spec_{code.replace('-', '_')}_{c.id.replace('-', '_')}"
        for code in catalogue().codes()
        for c in catalogue().pathway(code, DAY).supply
    }
    assert len(expected) == 13
    assert expected <= set(globals()), sorted(expected - set(globals()))


def test_spec_uti_key_symptoms():
    two = dict(dysuria=True, new_nocturia=True, cloudy_urine=False, vaginal_discharge=False)
    assert judge("uti", "key-symptoms", **two) == (True, {"nitrofurantoin-mr"})
    one = two | {"new_nocturia": False}
    assert judge("uti", "key-symptoms", **one) == (False, set())


def test_spec_uti_no_vaginal_discharge():
    base = dict(dysuria=True, new_nocturia=True, cloudy_urine=True)
    assert judge("uti", "no-vaginal-discharge", vaginal_discharge=False, **base)[0] is True
    assert judge("uti", "no-vaginal-discharge", vaginal_discharge=True, **base) == (False, set())


def test_spec_acute_otitis_media_otoscopic_signs():
    intact = dict(otoscopic_signs=True, otorrhoea=False)
    met, allowed = judge("acute-otitis-media", "otoscopic-signs", **intact)
    assert met and allowed == {"phenazone-lidocaine"}  # drops only while the drum is intact
    assert judge("acute-otitis-media", "otoscopic-signs", otoscopic_signs=False) == (False, set())


def test_spec_acute_otitis_media_otorrhoea():
    discharge = dict(otoscopic_signs=True, otorrhoea=True, penicillin_allergy=False)
    met, allowed = judge("acute-otitis-media", "otorrhoea", **discharge)
    assert met and "amoxicillin" in allowed and "phenazone-lidocaine" not in allowed
    met, allowed = judge("acute-otitis-media", "otorrhoea", otoscopic_signs=True, otorrhoea=False)
    assert met is False and "amoxicillin" not in allowed


def test_spec_sore_throat_feverpain_4_or_5():
    four = dict(fever=True, purulence=True, attend_rapidly=True, inflamed_tonsils=True)
    four["no_cough_coryza"] = False
    met, allowed = judge("sore-throat", "feverpain-4-or-5", **four)
    assert met and "phenoxymethylpenicillin" in allowed
    three = four | {"inflamed_tonsils": False}
    assert judge("sore-throat", "feverpain-4-or-5", **three) == (False, set())


def test_spec_sinusitis_ten_days_or_more():
    none = dict.fromkeys(["fever", "discoloured_discharge", "unilateral_pain"], False)
    none["marked_deterioration"] = False
    met, allowed = judge("sinusitis", "ten-days-or-more", symptom_days=10, **none)
    assert met and allowed == {"nasal-corticosteroid"}
    assert judge("sinusitis", "ten-days-or-more", symptom_days=9)[0] is False


def test_spec_sinusitis_bacterial_likely():
    signs = dict(symptom_days=12, fever=True, discoloured_discharge=True, unilateral_pain=False)
    signs["marked_deterioration"] = False
    met, allowed = judge("sinusitis", "bacterial-likely", **signs)
    assert met and "phenoxymethylpenicillin" in allowed
    one = signs | {"fever": False}
    met, allowed = judge("sinusitis", "bacterial-likely", **one)
    assert met is False and "phenoxymethylpenicillin" not in allowed


def test_spec_shingles_within_72_hours():
    both = {"aciclovir", "valaciclovir"}
    assert judge("shingles", "within-72-hours", rash_days=3, moderate_severe_pain=True) == (
        True,
        both,
    )
    late = judge("shingles", "within-72-hours", rash_days=4, moderate_severe_pain=True)
    assert late == (False, set())


def test_spec_shingles_antiviral_indicated():
    mild = dict.fromkeys(["immunosuppressed", "non_truncal", "moderate_severe_pain"], False)
    mild |= {"rash_days": 1, "moderate_severe_rash": False}
    assert judge("shingles", "antiviral-indicated", born=date(1990, 1, 1), **mild) == (False, set())
    # aged over 50 is enough on its own (derived from the date of birth)
    assert judge("shingles", "antiviral-indicated", born=date(1970, 1, 1), **mild)[0] is True


def test_spec_impetigo_localised():
    met, allowed = judge("impetigo", "localised", lesions=3)
    assert met and allowed == {"hydrogen-peroxide", "fusidic-acid"}
    assert judge("impetigo", "localised", lesions=4)[0] is False


def test_spec_impetigo_widespread():
    met, allowed = judge("impetigo", "widespread", lesions=5, penicillin_allergy=False)
    assert met and allowed == {"flucloxacillin", "clarithromycin"}
    assert judge("impetigo", "widespread", lesions=2)[0] is False


def test_spec_infected_insect_bites_signs_of_infection():
    bite = dict(signs_of_infection=True, over_48_hours=True, penicillin_allergy=False)
    met, allowed = judge("infected-insect-bites", "signs-of-infection", **bite)
    assert met and "flucloxacillin" in allowed
    clean = bite | {"signs_of_infection": False}
    assert judge("infected-insect-bites", "signs-of-infection", **clean) == (False, set())


def test_spec_infected_insect_bites_not_rapid_onset():
    rapid = dict(signs_of_infection=True, over_48_hours=False)
    assert judge("infected-insect-bites", "not-rapid-onset", **rapid) == (False, set())
    later = rapid | {"over_48_hours": True}
    assert judge("infected-insect-bites", "not-rapid-onset", **later)[0] is True


def test_spec_a_penicillin_allergy_or_an_interacting_medicine_excludes_a_treatment():
    four = dict(fever=True, purulence=True, attend_rapidly=True, inflamed_tonsils=True)
    _, allowed = judge("sore-throat", "feverpain-4-or-5", penicillin_allergy=True, **four)
    assert "phenoxymethylpenicillin" not in allowed and "clarithromycin" in allowed
    # simvastatin interacts with both macrolides (PGD exclusion): nothing left to supply
    statin = ["Simvastatin 40mg tablets"]
    _, allowed = judge(
        "sore-throat", "feverpain-4-or-5", meds=statin, penicillin_allergy=True, **four
    )
    assert allowed == set()
