"""Two requests making a patient's reconciled record at once (found by the load run,
bench/bench_load.py: two pharmacists deciding on a record nobody had written yet — the second
INSERT hit the unique key and answered 500)."""

from __future__ import annotations

from sqlalchemy import event, func, select

from ipmo.patients import Patient
from ipmo.records import service
from ipmo.records.models import ReconciledRecord
from ipmo.store import session_scope
from ipmo.synth.sample import seed_sample_ics


def test_a_record_made_by_another_request_meanwhile_is_used_not_a_500(any_engine):
    with session_scope(any_engine) as s:
        seed_sample_ics(s)
    with session_scope(any_engine) as s:
        patient_id = s.scalars(select(Patient.id).order_by(Patient.id)).first()
    raced = []

    def other_request_commits_first(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("INSERT INTO RECONCILED_RECORDS") and not raced:
            raced.append(True)
            with session_scope(any_engine) as other:
                other.add(ReconciledRecord(patient_id=patient_id, version=1))

    event.listen(any_engine, "before_cursor_execute", other_request_commits_first)
    try:
        with session_scope(any_engine) as s:
            rec = service._record(s, patient_id)
            assert rec.patient_id == patient_id and rec.version == 1
    finally:
        event.remove(any_engine, "before_cursor_execute", other_request_commits_first)
    assert raced, "the other request never ran: the test proves nothing"
    with session_scope(any_engine) as s:
        count = s.scalar(select(func.count()).where(ReconciledRecord.patient_id == patient_id))
    assert count == 1
