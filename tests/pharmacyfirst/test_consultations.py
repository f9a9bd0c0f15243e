"""The Pharmacy First consultation record: start (referral or walk-in), assess against the
gateway, complete with an outcome; the supply reaches the One Medication Record and the Update
Record is queued for the GP practice. Bad input is refused with a clear sentence and nothing is
written."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from ipmo.pharmacyfirst import actions
from ipmo.pharmacyfirst import service as svc
from ipmo.pharmacyfirst.models import Consultation, ConsultationItem, UpdateRecordMessage
from ipmo.records.canonical import MedItem, SourceDocument, content_hash
from ipmo.records.models import SourceList
from ipmo.records.service import current_medications, ingest
from ipmo.security.errors import PatientAccessDenied
from ipmo.store import session_scope

from .conftest import CARA, DAY, DEV, NITROFURANTOIN_MR, NOW, principal

Outcome = svc.OutcomeInput
CD_REASON = "schedule-2-3-controlled-drug"
UTI_PASSING = {
    "urinary_catheter": False,
    "recurrent_uti": False,
    "dysuria": True,
    "new_nocturia": True,
    "cloudy_urine": False,
    "vaginal_discharge": False,
    "renal_impairment": False,
    "pregnant": False,
}


def _start(s, nhs=CARA, pathway="uti", kind="clinical-pathway", **kw):
    new = svc.NewConsultation(kind=kind, channel="walk-in", consulted_on=DAY, pathway=pathway)
    return actions.start(s, principal(s), nhs, new, **kw)


def _supply(quantity=6, code=NITROFURANTOIN_MR, **kw):
    return svc.OutcomeInput(
        outcome="supplied",
        consent=True,
        items=[svc.ItemInput(dmd_code=code, quantity=quantity)],
        **kw,
    )


def _gp_list(s, nhs: str, names: list[str]) -> None:
    items = [
        MedItem(
            name=n,
            status="active",
            category="repeat",
            authored_on=DAY - timedelta(days=30),
            last_issued=DAY - timedelta(days=10),
        )
        for n in names
    ]
    doc = SourceDocument(
        source_kind="gp",
        source_org_code="A10002",
        source_system="test-gp",
        items=items,
        nhs_number=nhs,
        as_of=DAY,
        kind_reason="stated by the test",
        content_hash=content_hash([i.to_json() for i in items]),
    )
    ingest(s, doc)


def test_walk_in_uti_supply_under_pgd_reaches_the_record_and_the_gp(sample_ics):
    with session_scope(sample_ics) as s:
        c = _start(s)
        ref = c.reference
        _, result = actions.assess(s, principal(s), ref, UTI_PASSING, [])
        assert result.passed and c.gateway_passed and c.pathway_version == "2024-01-31"
        actions.complete(s, principal(s), ref, _supply(), version=c.version, now=NOW)
    with session_scope(sample_ics) as s:
        c = s.scalar(select(Consultation).where(Consultation.reference == ref))
        assert (c.status, c.outcome, c.consent) == ("completed", "supplied", True)
        [item] = c.items
        assert (item.dmd_code, item.quantity, item.supply_type) == (NITROFURANTOIN_MR, 6, "pgd")
        # the One Medication Record now has a pharmacy source with the supply, current on the day
        source = s.scalar(select(SourceList).where(SourceList.source_org_code == "FA001"))
        assert source.source_kind == "pharmacy"
        names = [m.name for m in current_medications(s, c.patient_id, DAY)]
        assert any("Nitrofurantoin" in n for n in names)
        message = s.scalar(select(UpdateRecordMessage))
        assert message.recipient_org_code == "A10002"
        assert c.update_record_sent_at is not None


def test_a_failed_gateway_cannot_record_a_pgd_supply_and_nothing_is_written(sample_ics):
    with session_scope(sample_ics) as s:
        c = _start(s)
        actions.assess(s, principal(s), c.reference, UTI_PASSING | {"urinary_catheter": True}, [])
        ref, version = c.reference, c.version
        assert c.gateway_failed == "urinary-catheter"
    with (
        session_scope(sample_ics) as s,
        pytest.raises(svc.GatewayNotMet, match="No urinary catheter"),
    ):
        actions.complete(s, principal(s), ref, _supply(), version=version, now=NOW)
    with session_scope(sample_ics) as s:
        c = s.scalar(select(Consultation).where(Consultation.reference == ref))
        assert c.status == "in-progress" and c.outcome is None
        assert s.scalar(select(func.count()).select_from(ConsultationItem)) == 0
        assert s.scalar(select(func.count()).select_from(UpdateRecordMessage)) == 0
        # the honest outcome: no supply because the gateway was not met
        actions.complete(
            s, principal(s), ref,
            svc.OutcomeInput(outcome="no-supply", consent=True, reason="gateway-not-met"), now=NOW,
        )  # fmt: skip
        assert c.no_supply_reason == "gateway-not-met"


@pytest.mark.parametrize(
    ("outcome", "message"),
    [
        (_supply(reason="out-of-stock"), "does not go with"),
        (Outcome("no-supply", True), "no supply needs a reason"),
        (Outcome("no-supply", True, reason="gateway-not-met"), "gateway was passed"),
        (Outcome("advice-given", True, referred_to="gp"), "go only with 'referred-on'"),
        (Outcome("referred-on", True, referred_to="gp"), "needs an urgency"),
        (Outcome("cured", True), "unknown outcome"),
        (Outcome("advice-given", False), "consent"),
        (_supply(code="123"), "unknown product code"),
        (_supply(code="8993811000001101"), "not a PGD treatment"),  # clarithromycin: not UTI
        (_supply(quantity=7), "at most 6"),
    ],
)  # fmt: skip
def test_inconsistent_or_unknown_outcomes_are_refused(sample_ics, outcome, message):
    with session_scope(sample_ics) as s:
        c = _start(s)
        actions.assess(s, principal(s), c.reference, UTI_PASSING, [])
        ref = c.reference
    with session_scope(sample_ics) as s, pytest.raises(svc.ConsultationError, match=message):
        actions.complete(s, principal(s), ref, outcome, now=NOW)
    with session_scope(sample_ics) as s:
        assert (
            s.scalar(select(Consultation.status).where(Consultation.reference == ref))
            == "in-progress"
        )


def test_a_red_flag_means_referral_at_its_urgency(sample_ics):
    with session_scope(sample_ics) as s:
        c = _start(s)
        actions.assess(s, principal(s), c.reference, UTI_PASSING, ["pyelonephritis"])
        with pytest.raises(svc.ConsultationError, match="red flag present"):
            actions.complete(s, principal(s), c.reference, _supply(), now=NOW)
        routine = svc.OutcomeInput("referred-on", True, referred_to="gp", urgency="routine")
        with pytest.raises(svc.ConsultationError, match="needs an same-day referral"):
            actions.complete(s, principal(s), c.reference, routine, now=NOW)
        same_day = svc.OutcomeInput("referred-on", True, referred_to="gp", urgency="same-day")
        actions.complete(s, principal(s), c.reference, same_day, now=NOW)
        assert c.outcome == "referred-on"


def test_an_interacting_medicine_on_the_record_excludes_the_pgd_treatment(sample_ics):
    with session_scope(sample_ics) as s:
        _gp_list(s, CARA, ["Probenecid 500mg tablets", "Ramipril 5mg capsules"])
        c = _start(s)
        _, result = actions.assess(s, principal(s), c.reference, UTI_PASSING, [])
        assert any("probenecid" in f for f in c.findings)
        with pytest.raises(svc.ConsultationError, match="probenecid"):
            actions.complete(s, principal(s), c.reference, _supply(), now=NOW)


def test_unknown_pathway_and_dates_before_the_service_are_refused(sample_ics):
    with session_scope(sample_ics) as s:
        with pytest.raises(svc.ConsultationError, match="unknown pathway"):
            _start(s, pathway="earache")
        early = svc.NewConsultation("clinical-pathway", "walk-in", date(2023, 12, 1), "uti")
        with pytest.raises(svc.ConsultationError, match="service began on 2024-01-31"):
            actions.start(s, principal(s), CARA, early)
        with pytest.raises(svc.ConsultationError, match="unknown question"):
            c = _start(s)
            actions.assess(s, principal(s), c.reference, {"fever": True}, [])
        with pytest.raises(svc.ConsultationError, match="unknown red flag"):
            actions.assess(s, principal(s), c.reference, {}, ["chest-pain"])


def test_start_is_idempotent_and_changes_are_version_checked(sample_ics):
    with session_scope(sample_ics) as s:
        a = _start(s, idempotency_key="k-1")
        b = _start(s, idempotency_key="k-1")
        assert a.id == b.id
        with pytest.raises(svc.ConsultationConflict):
            _start(s, pathway="sore-throat", idempotency_key="k-1")
        stale = a.version
        actions.assess(s, principal(s), a.reference, UTI_PASSING, [])
        with pytest.raises(svc.ConsultationConflict, match="changed since you opened it"):
            actions.assess(s, principal(s), a.reference, UTI_PASSING, [], version=stale)
        actions.complete(s, principal(s), a.reference, _supply(), now=NOW)
        again = actions.complete(s, principal(s), a.reference, _supply(), now=NOW)  # a retry
        assert again.id == a.id and len(again.items) == 1
        with pytest.raises(svc.ConsultationConflict, match="already completed"):
            actions.complete(s, principal(s), a.reference, svc.OutcomeInput("advice-given", True))


def test_a_walk_in_without_a_relationship_needs_the_patient_present(sample_ics):
    with session_scope(sample_ics) as s, pytest.raises(PatientAccessDenied):
        _start(s, nhs=DEV, pathway="sore-throat")
    with session_scope(sample_ics) as s:
        c = _start(s, nhs=DEV, pathway="sore-throat", patient_present=True)
        # the consultation is now this pharmacy's relationship with the patient
        assert actions.read(s, principal(s), c.reference).id == c.id


def test_another_pharmacy_cannot_open_the_consultation(sample_ics):
    with session_scope(sample_ics) as s:
        ref = _start(s).reference
    with session_scope(sample_ics) as s, pytest.raises(svc.ConsultationNotFound):
        actions.read(s, _other(s), ref)


def _other(s):
    """The community pharmacist as if at another pharmacy of the ICS."""
    from ipmo.organisations.models import Organisation

    p = principal(s)
    other = s.scalar(
        select(Organisation.ods_code).where(
            Organisation.kind == "pharmacy", Organisation.ods_code != p.org_code
        )
    )
    return type(p)(**{**p.__dict__, "org_code": other})


def _urgent(name: str, days: int = 28, **kw) -> svc.ItemInput:
    return svc.ItemInput(None, days, name=name, days=days, unit="dose", immediate_need=True, **kw)


def test_urgent_supply_item_by_item_with_the_emergency_supply_rules(sample_ics):
    morphine = "Morphine sulfate 10mg/5ml oral solution"
    with session_scope(sample_ics) as s:
        _gp_list(s, CARA, ["Ramipril 5mg capsules", morphine])
        c = _start(s, pathway=None, kind="urgent-supply")
        ramipril = _urgent("Ramipril 5mg capsules")

        def supply(*items):
            o = Outcome("supplied", True, items=list(items))
            return actions.complete(s, principal(s), c.reference, o, now=NOW)

        with pytest.raises(svc.ConsultationError, match="Schedule 2 controlled drug"):
            supply(ramipril, _urgent(morphine, 7))
        with pytest.raises(svc.ConsultationError, match="not been prescribed for this patient"):
            supply(_urgent("Warfarin 1mg tablets"))
        with pytest.raises(svc.ConsultationError, match="at most 30 days"):
            supply(_urgent("Ramipril 5mg capsules", 56))
        cd = svc.ItemInput(None, None, name=morphine, outcome="no-supply", reason=CD_REASON)
        done = supply(ramipril, cd)
        assert [(i.name, i.outcome) for i in done.items] == [
            ("Ramipril 5mg capsules", "supplied"),
            (morphine, "no-supply"),
        ]
        message = s.scalar(select(UpdateRecordMessage.body))
        header = message["entry"][0]["resource"]
        assert header["event"]["code"] == "ITK010D"  # Digital Medicines emergency supply
        assert "not supplied Morphine" in str(message)
        source = s.scalar(select(SourceList).where(SourceList.source_org_code == "FA001"))
        assert [i.name for i in source.items] == ["Ramipril 5mg capsules"]
