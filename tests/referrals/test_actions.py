"""Referral use cases (referrals/actions.py): refusals are audited and stay audited, resends with an
Idempotency-Key store nothing new (keys are each organisation's own), and referrals sent without a
relationship are listed for the ICS medicines safety officer (issue 12)."""

from __future__ import annotations

from sqlalchemy import func, select

from ipmo.referrals.models import Referral
from ipmo.security.models import AuditEvent
from ipmo.store import session_scope

from .apihelpers import message, post

ADA = "9990000018"
UNKNOWN = "9990000069"  # valid, not in this ICS
REASON = {"no_relationship_reason": "NHS 111 caller"}


def audit_since(engine, mark: int) -> list[AuditEvent]:
    with session_scope(engine) as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.seq > mark).order_by(AuditEvent.seq))
        out = rows.all()
        s.expunge_all()
        return out


def mark(engine) -> int:
    with session_scope(engine) as s:
        return s.scalar(select(func.coalesce(func.max(AuditEvent.seq), 0)))


def count_referrals(engine) -> int:
    with session_scope(engine) as s:
        return s.scalar(select(func.count()).select_from(Referral))


def _sent(mod, **kw) -> dict:
    body = {"service": "urgent-repeat-supply", "nhs_number": ADA, **REASON, **kw}
    r = mod.client("nhs111").post("/api/referrals", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_a_refused_action_keeps_its_audit_entry(mod, sample_ics):
    ref = _sent(mod)
    before = mark(sample_ics)
    r = mod.client("gp").post(f"/api/referrals/{ref['reference']}/accept", json={})
    assert r.status_code == 403  # Ada's GP sees the referral but is not its receiver
    r = mod.client("nhs111").post(f"/api/referrals/{ref['reference']}/accept", json={})
    assert r.status_code == 403  # the sender is not the receiver: refused by the action
    entries = [(e.username, e.action, e.outcome, e.reason) for e in audit_since(sample_ics, before)]
    assert ("nhs111", "referral.accept", "refused", "not-involved") in entries
    assert not [e for e in entries if e[2] == "permitted" and e[1] == "referral.open"]


def test_a_conflict_keeps_its_refusal_audited_and_changes_nothing(mod, sample_ics):
    ref = _sent(mod)
    pharmacist = mod.client("community.pharmacist")
    ok = pharmacist.post(f"/api/referrals/{ref['reference']}/accept", json={"version": 1})
    assert ok.status_code == 200
    before = mark(sample_ics)
    stale = pharmacist.post(f"/api/referrals/{ref['reference']}/start", json={"version": 1})
    assert stale.status_code == 409 and "changed" in stale.json()["detail"]
    entries = audit_since(sample_ics, before)
    assert [(e.action, e.outcome, e.reason) for e in entries] == [
        ("referral.start", "refused", "conflict")
    ]
    assert entries[0].patient_nhs_number == ADA
    with session_scope(sample_ics) as s:
        assert s.scalar(select(Referral.status)) == "accepted"


def test_a_referral_refused_for_want_of_a_reason_is_audited_alike_for_unknown_numbers(
    mod, sample_ics
):
    gp = mod.client("gp")
    before = mark(sample_ics)
    answers = [
        gp.post("/api/referrals", json={"service": "pharmacy-first", "nhs_number": nhs})
        for nhs in ("9990000042", UNKNOWN)  # Dev (another practice's patient), not in the ICS
    ]
    assert [a.status_code for a in answers] == [422, 422]
    assert answers[0].json() == answers[1].json()
    entries = audit_since(sample_ics, before)
    assert [(e.action, e.outcome, e.reason, e.patient_nhs_number) for e in entries] == [
        ("referral.create", "refused", "no-relationship-no-reason", "9990000042"),
        ("referral.create", "refused", "no-relationship-no-reason", UNKNOWN),
    ]
    assert count_referrals(sample_ics) == 0


def test_a_dms_referral_needs_an_admission_to_the_senders_trust(mod, sample_ics):
    hospital = mod.client("hospital.pharmacist")
    never = {"service": "discharge-medicines-service", "nhs_number": ADA, **REASON}
    r = hospital.post("/api/referrals", json=never)
    assert r.status_code == 422 and "admission to your trust" in r.json()["detail"]
    r = hospital.post("/api/referrals", json={**never, "nhs_number": UNKNOWN})
    assert r.status_code == 422 and "admission to your trust" in r.json()["detail"]
    assert count_referrals(sample_ics) == 0
    admitted = hospital.post(
        "/api/referrals",
        json={"service": "discharge-medicines-service", "nhs_number": "9990000042"},
    )
    assert admitted.status_code == 201, admitted.text


def test_an_idempotency_key_makes_a_resend_store_nothing_new(mod, sample_ics):
    body = {"service": "urgent-repeat-supply", "nhs_number": ADA, **REASON}
    nhs111 = mod.client("nhs111")
    first = nhs111.post("/api/referrals", json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 201
    before = mark(sample_ics)
    again = nhs111.post("/api/referrals", json=body, headers={"Idempotency-Key": "k-1"})
    assert again.status_code == 200 and again.headers["X-Idempotent-Replay"] == "true"
    assert again.json()["reference"] == first.json()["reference"]
    assert count_referrals(sample_ics) == 1
    assert [e.action for e in audit_since(sample_ics, before)] == ["referral.message.replay"]
    # the key is nhs111's own: the GP's request with the same key is its own referral
    gp = mod.client("gp").post(
        "/api/referrals",
        json={"service": "pharmacy-first", "nhs_number": ADA},
        headers={"Idempotency-Key": "k-1"},
    )
    assert gp.status_code == 201 and gp.json()["reference"] != first.json()["reference"]
    assert count_referrals(sample_ics) == 2


def test_stated_reasons_are_listed_for_the_safety_officer_only(mod, sample_ics):
    ref = _sent(mod)
    post(mod.client("nhs111"), message(receiver="FA001"))  # a 111 message: "NHS 111 caller"
    mod.client("gp").post("/api/referrals", json={"service": "pharmacy-first", "nhs_number": ADA})
    listed = mod.client("safety.officer").get("/api/referral-oversight")
    assert listed.status_code == 200
    rows = listed.json()
    assert len(rows) == 2  # the GP's own patient needed no reason
    assert {r["no_relationship_reason"] for r in rows} == {"NHS 111 caller"}
    assert ref["reference"] in {r["reference"] for r in rows}
    page = mod.client("safety.officer").get("/referral-oversight")
    assert page.status_code == 200 and ref["reference"] in page.text
    for user in ("nhs111", "gp", "community.pharmacist", "analyst"):
        assert mod.client(user).get("/api/referral-oversight").status_code == 403


def test_a_lost_race_to_accept_is_a_409_with_its_refusal_audited_not_a_500(
    mod, sample_ics, monkeypatch
):
    """Found by the soak (bench/bench_soak.py): two pharmacists accepting the same referral at
    once — the loser's versioned UPDATE fails at flush, and auditing the refusal then touched the
    expired referral in the failed session (PendingRollbackError, a 500)."""
    from ipmo.referrals import actions
    from ipmo.referrals.models import Referral as ReferralRow

    ref = _sent(mod)
    original = actions.changes.accept

    def accepted_by_someone_else_meanwhile(session, principal, referral, *args):
        with session_scope(sample_ics) as other:  # another pharmacist's request commits first
            row = other.scalar(select(ReferralRow).where(ReferralRow.reference == ref["reference"]))
            row.status = "accepted"
            row.version += 1
        return original(session, principal, referral, *args)

    monkeypatch.setattr(actions.changes, "accept", accepted_by_someone_else_meanwhile)
    before = mark(sample_ics)
    r = mod.client("community.pharmacist").post(
        f"/api/referrals/{ref['reference']}/accept", json={}
    )
    assert r.status_code == 409, r.text
    entries = audit_since(sample_ics, before)
    assert ("referral.accept", "refused", "conflict") in [
        (e.action, e.outcome, e.reason) for e in entries
    ]
