"""``ipmo review run`` over the store, population rates with disclosure control, and recording a
review with interventions (audited)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from ipmo.patients.models import Condition, MedicationIssue, Observation, Patient
from ipmo.review import service
from ipmo.review.check import check
from ipmo.review.models import IndicatorRate, MedicationReview, WorklistEntry
from ipmo.store import session_scope

AS_OF = date(2024, 6, 30)


def _add_meds(session, nhs, *names, when=date(2024, 6, 1)):
    p = session.scalar(select(Patient).where(Patient.nhs_number == nhs))
    for n in names:
        session.add(
            MedicationIssue(
                patient_id=p.id, dmd_code="0", name=n, issue_date=when, issue_type="repeat"
            )
        )
    return p


@pytest.fixture
def store(sample_ics):
    with session_scope(sample_ics) as s:
        # Ada: care home, 84, NSAID + warfarin; Bert: 71, amitriptyline + oxybutynin
        ada = _add_meds(s, "9990000018", "Ibuprofen 400mg tablets", "Warfarin 1mg tablets")
        _add_meds(s, "9990000026", "Amitriptyline 10mg tablets", "Oxybutynin 5mg tablets")
        s.add(
            Observation(
                patient_id=ada.id,
                snomed_code="",
                kind="egfr",
                value=38.0,
                unit="mL/min/1.73m2",
                effective_date=date(2024, 1, 5),
            )
        )
        s.add(
            Condition(
                patient_id=ada.id,
                snomed_code="161898004",
                term="Falls",
                onset_date=date(2024, 4, 1),
            )
        )
    return sample_ics


def test_run_refreshes_the_worklist_with_scores_and_reasons(store):
    summary = service.run(store, AS_OF)
    assert summary.patients == 5
    with session_scope(store) as s:
        entries = {e.patient_id: e for e in s.scalars(select(WorklistEntry))}
        ada = s.scalar(select(Patient).where(Patient.nhs_number == "9990000018"))
        bert = s.scalar(select(Patient).where(Patient.nhs_number == "9990000026"))
        assert set(entries) == {ada.id, bert.id}  # the other three have no cohort reason
        e = entries[ada.id]
        assert {"PINCER-A", "PINCER-D", "PINCER-K", "SMR-CARE-HOME"} <= set(e.rule_ids)
        assert e.pcn_code == "U10001" and e.care_home_code == "VM001"
        assert any("care-home" in r for r in e.reasons)
        # the set-based score equals the per-patient check of the same facts
        direct = check(service.facts_for(s, ada), AS_OF)
        assert e.score == direct.smr_priority
        assert sorted(e.rule_ids) == sorted(f.rule_id for f in direct.findings)
    # running again replaces rather than duplicates
    service.run(store, AS_OF)
    with session_scope(store) as s:
        assert len(s.scalars(select(WorklistEntry)).all()) == 2
        rows = s.scalars(select(IndicatorRate).where(IndicatorRate.rule_id == "PINCER-A")).all()
        # A10001: Ada and Bert are ≥65 without a PPI (denominator 2), Ada has the NSAID
        assert {(r.practice_code, r.denominator, r.numerator) for r in rows} == {
            ("A10001", 2, 1),
            ("A20001", 1, 0),
        }  # Dev is 63, Eve 76
        # population view: disclosure control withholds counts of 7 or fewer
        pcn = next(
            r
            for r in service.rates(s, group_by="pcn")
            if r["org"] == "U10001" and r["rule_id"] == "PINCER-A"
        )
        assert pcn["denominator"] is None and pcn["numerator"] is None
        assert pcn["rate_percent"] is None


def test_cli_run(store, monkeypatch, tmp_path):
    from ipmo.cli import app

    monkeypatch.setattr("ipmo.cli_support.store_engine", lambda migrate=True: store)
    r = CliRunner().invoke(app, ["review", "run", "--as-of", "2024-06-30"])
    assert r.exit_code == 0, r.output
    assert "5 patients evaluated" in r.output and "2 on the SMR worklist" in r.output


def _principal(session, username="pcn.pharmacist"):
    from ipmo.security.models import User
    from ipmo.security.principal import Principal

    return Principal.from_user(session.scalar(select(User).where(User.username == username)))


def test_record_review_with_interventions_is_audited(store):
    from ipmo.security.models import AuditEvent

    with session_scope(store) as s:
        ada = s.scalar(select(Patient).where(Patient.nhs_number == "9990000018"))
        review = service.record_review(
            s,
            _principal(s),
            ada,
            review_date=AS_OF,
            findings_addressed=["PINCER-D"],
            interventions=[
                {"kind": "stop", "medicine": "Ibuprofen 400mg tablets", "rule_id": "PINCER-D"},
                {"kind": "monitoring", "detail": "U&E in 2 weeks"},
            ],
            shared_decision="Agreed to stop ibuprofen; paracetamol instead.",
            decision_with="carer",
            follow_up_date=date(2024, 7, 14),
        )
        rid = review.id
    with session_scope(store) as s:
        saved = s.get(MedicationReview, rid)
        assert [i.kind for i in saved.interventions] == ["stop", "monitoring"]
        assert all(i.status == "proposed" for i in saved.interventions)
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "review.record")).one()
        assert event.patient_nhs_number == "9990000018"
        assert event.detail["review_id"] == rid


@pytest.mark.parametrize(
    "bad",
    [
        {"interventions": [{"kind": "amputate"}]},
        {"decision_with": "neighbour"},
        {"follow_up_date": date(2024, 1, 1)},
    ],
)
def test_record_review_rejects_bad_input_and_writes_nothing(store, bad):
    kwargs = (
        dict(
            review_date=AS_OF,
            findings_addressed=[],
            interventions=[],
            shared_decision="",
            decision_with="patient",
            follow_up_date=None,
        )
        | bad
    )
    with pytest.raises(ValueError), session_scope(store) as s:
        ada = s.scalar(select(Patient).where(Patient.nhs_number == "9990000018"))
        service.record_review(s, _principal(s), ada, **kwargs)
    with session_scope(store) as s:
        assert s.scalars(select(MedicationReview)).all() == []


def test_run_stores_the_pincer_composites_per_practice(store):
    """PINCER composites (OpenSAFELY composite_indicators.py) per practice, from the set-based
    run: a patient with several hazards counts once, and a composite is a practice measure, not
    a worklist reason."""
    service.run(store, AS_OF)
    with session_scope(store) as s:
        rates = {
            (r.practice_code, r.rule_id): (r.denominator, r.numerator)
            for r in s.scalars(select(IndicatorRate).where(IndicatorRate.as_of == AS_OF))
        }
        # A10001: Ada (A, D and K: counted once) and Bert (in A's denominator) — 2, 1
        assert rates[("A10001", "PINCER-COMPOSITE-GI-BLEED")] == (2, 1)
        assert rates[("A10001", "PINCER-COMPOSITE-ALL")][1] == 1
        assert rates[("A10001", "PINCER-COMPOSITE-OTHER-PRESCRIBING")][1] == 1  # Ada's K
        assert rates[("A20001", "PINCER-COMPOSITE-GI-BLEED")] == (1, 0)  # Eve: A's denominator
        entries = s.scalars(select(WorklistEntry)).all()
        assert entries and not any("COMPOSITE" in i for e in entries for i in e.rule_ids)
