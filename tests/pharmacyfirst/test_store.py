"""What the store guarantees, on SQLite and PostgreSQL: a consultation changed by someone else
between one user's read and write is refused (409), not overwritten; an Idempotency-Key is per
pharmacy."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from ipmo.pharmacyfirst import actions
from ipmo.pharmacyfirst import service as svc
from ipmo.store import session_scope

from .conftest import CARA, DAY, principal

ANSWERS = {"urinary_catheter": False, "recurrent_uti": False, "pregnant": False}


def test_concurrent_edits_are_refused_not_overwritten(ics_any):
    with session_scope(ics_any) as s:
        new = svc.NewConsultation("clinical-pathway", "walk-in", DAY, "uti")
        ref = actions.start(s, principal(s), CARA, new, idempotency_key="same-key").reference
    first, second = Session(ics_any), Session(ics_any)
    try:
        # the second request has read the consultation (version 1) and is about to write it
        opened = actions.read(second, principal(second), ref)
        assert opened.version == 1
        actions.assess(first, principal(first), ref, ANSWERS, [])
        first.commit()
        with pytest.raises(svc.ConsultationConflict, match="changed by someone else"):
            actions.assess(second, principal(second), ref, ANSWERS | {"recurrent_uti": True}, [])
        second.rollback()
    finally:
        first.close()
        second.close()
    with session_scope(ics_any) as s:
        c = actions.read(s, principal(s), ref)
        assert c.answers["recurrent_uti"] is False and c.version == 2
        # the same key again at the same pharmacy: the same consultation
        again = actions.start(s, principal(s), CARA, new, idempotency_key="same-key")
        assert again.reference == ref


def test_a_walk_in_stated_present_is_audited_with_that_reason(ics_any):
    from sqlalchemy import select

    from ipmo.security.models import AuditEvent

    from .conftest import DEV

    with session_scope(ics_any) as s:
        new = svc.NewConsultation("clinical-pathway", "walk-in", DAY, "sore-throat")
        actions.start(s, principal(s), DEV, new, patient_present=True)
    with session_scope(ics_any) as s:
        reasons = s.scalars(
            select(AuditEvent.reason).where(
                AuditEvent.action == "pharmacyfirst.start", AuditEvent.patient_nhs_number == DEV
            )
        ).all()
    assert reasons == [actions.WALK_IN_REASON]


def test_two_starts_racing_with_the_same_key_make_one_consultation(ics_any, monkeypatch):
    """Both requests look the key up before either has inserted (held at a barrier): the loser's
    insert hits the unique constraint and it answers the winner's consultation as a replay."""
    import threading

    from sqlalchemy import func, select

    from ipmo.pharmacyfirst.models import Consultation

    looked_up, seen = threading.Barrier(2, timeout=30), threading.local()
    by_key = svc.by_key

    def by_key_then_wait(session, org_code, key):
        found = by_key(session, org_code, key)
        if not getattr(seen, "once", False):  # only the first look-up of each request waits
            seen.once = True
            looked_up.wait()
        return found

    monkeypatch.setattr(svc, "by_key", by_key_then_wait)
    new = svc.NewConsultation("clinical-pathway", "walk-in", DAY, "uti")
    results, errors = [], []

    def race():
        try:
            with session_scope(ics_any) as s:
                done = actions.start_or_replay(s, principal(s), CARA, new, idempotency_key="k-1")
                results.append((done.consultation.reference, done.replay))
        except Exception as exc:  # noqa: BLE001 - the assertion below shows it
            errors.append(repr(exc))

    threads = [threading.Thread(target=race) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(results) == 2
    assert len({ref for ref, _ in results}) == 1
    assert sorted(replay for _, replay in results) == [False, True]
    with session_scope(ics_any) as s:
        assert s.scalar(select(func.count()).select_from(Consultation)) == 1
