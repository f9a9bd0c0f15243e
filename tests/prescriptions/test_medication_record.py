"""Dispensed EPS items reach the patient's One Medication Record as the dispensing pharmacy's
source, through the records domain's published ``record_pharmacy_supply`` (issue 16 §5)."""

from __future__ import annotations

import json

from sqlalchemy import select

from ipmo.patients import Patient
from ipmo.prescriptions import ingest_message
from ipmo.records.service import load_sources
from ipmo.security.models import AuditEvent
from ipmo.store import session_scope

ADA = "9990000018"


def _send(engine, message, **kw):
    with session_scope(engine) as s:
        return ingest_message(s, json.dumps(message), **kw)


def _pharmacy_sources(engine):
    with session_scope(engine) as s:
        patient = s.scalar(select(Patient).where(Patient.nhs_number == ADA))
        return [
            (d.source_kind, d.source_org_code, [(i.name, i.supply_basis) for i in d.items])
            for d in load_sources(s, patient.id)
            if d.source_kind == "pharmacy"
        ]


def test_dispensed_items_become_the_pharmacy_source(sample_ics, eps):
    order = eps.with_nhs_number(eps.load(eps.ORDER_RP), ADA)
    _send(sample_ics, order)
    _send(sample_ics, eps.release_for("24F5DA-A83008-7EFE6Z", ods="FA001"))
    assert _pharmacy_sources(sample_ics) == []  # nothing dispensed yet
    full = eps.dispense_for(order, 0, "0001")
    _send(sample_ics, full)
    not_dispensed = eps.dispense_for(order, 1, "0002")
    not_dispensed["identifier"]["value"] = "dn-not-dispensed"
    _send(sample_ics, not_dispensed)
    _send(sample_ics, full)  # a replay adds nothing
    ((kind, org, items),) = _pharmacy_sources(sample_ics)
    sender = eps.resources(full, "MessageHeader")[0]["sender"]["identifier"]["value"]
    assert (kind, org) == ("pharmacy", sender)
    assert len(items) == 1 and items[0][1].startswith("EPS dispensing supply")
    with session_scope(sample_ics) as s:
        audited = s.scalars(
            select(AuditEvent.username).where(AuditEvent.action == "record.pharmacy_supply")
        ).all()
    assert audited == [f"system:eps-feed@{sender}"]


def test_patients_outside_the_ics_and_opted_out_feeds_write_no_record(sample_ics, eps):
    from ipmo.records.models import SourceList

    order = eps.with_nhs_number(eps.load(eps.ORDER_RP), ADA)
    _send(sample_ics, order)
    _send(sample_ics, eps.dispense_for(order, 0, "0001"), feed_record=False)
    assert _pharmacy_sources(sample_ics) == []
    outsider = eps.load(eps.CANCEL_SEND)  # the example's own patient: not in this ICS
    _send(sample_ics, outsider)
    disp = eps.dispense_for(outsider, 0, "0001")
    disp["identifier"]["value"] = "dn-outsider"
    assert _send(sample_ics, disp).outcome == "applied"
    with session_scope(sample_ics) as s:
        assert s.scalars(select(SourceList.id)).all() == []


def _two_dispenses(eps):
    """The repeat-prescribing example for Ada, then two dispense notifications: item 1 fully
    dispensed, then item 2 (two lines of the pharmacy's source)."""
    order = eps.with_nhs_number(eps.load(eps.ORDER_RP), ADA)
    first = eps.dispense_for(order, 0, "0001")
    first["identifier"]["value"] = "dn-first"
    second = eps.dispense_for(order, 1, "0001")
    second["identifier"]["value"] = "dn-second"
    return order, first, second


def _withdrawal(eps, order, dispense):
    task = eps.withdrawal_for(order, dispense)
    task["id"] = task["identifier"][0]["value"] = f"withdraw-{dispense['identifier']['value']}"
    return task


def _lines(engine) -> list[str]:
    return [name for _, _, items in _pharmacy_sources(engine) for name, _ in items]


def test_a_withdrawn_dispense_takes_its_lines_out_of_the_record(sample_ics, eps):
    order, first, second = _two_dispenses(eps)
    for message in (order, first, second):
        _send(sample_ics, message)
    names = [r["medicationCodeableConcept"]["coding"][0]["display"] for r in
             eps.resources(order, "MedicationRequest")[:2]]  # fmt: skip
    assert sorted(_lines(sample_ics)) == sorted(names)
    _send(sample_ics, _withdrawal(eps, order, second))
    assert _lines(sample_ics) == [names[0]]  # only the withdrawn dispense's line goes
    _send(sample_ics, _withdrawal(eps, order, first))  # now the latest dispense not withdrawn
    assert _lines(sample_ics) == []
    with session_scope(sample_ics) as s:
        audited = s.scalars(
            select(AuditEvent.username).where(
                AuditEvent.action == "record.pharmacy_supply_withdrawn"
            )
        ).all()
    sender = eps.resources(first, "MessageHeader")[0]["sender"]["identifier"]["value"]
    assert audited == [f"system:eps-feed@{sender}"] * 2


def test_a_withdrawal_without_a_line_in_the_record_changes_nothing_there(sample_ics, eps):
    order, first, second = _two_dispenses(eps)
    _send(sample_ics, order)
    _send(sample_ics, first)
    _send(sample_ics, second, feed_record=False)  # its line never reached the record
    _send(sample_ics, _withdrawal(eps, order, second))
    assert len(_lines(sample_ics)) == 1  # the first dispense's line stays
    with session_scope(sample_ics) as s:
        assert not s.scalars(
            select(AuditEvent.username).where(
                AuditEvent.action == "record.pharmacy_supply_withdrawn"
            )
        ).all()


def test_a_batch_withdrawal_takes_the_line_out_as_one_message_does(sample_ics, eps):
    from ipmo.prescriptions.ingest import ingest_batch

    order, first, second = _two_dispenses(eps)
    with session_scope(sample_ics) as s:
        result = ingest_batch(s, [json.dumps(m) for m in (order, first, second)])
    assert len(_lines(sample_ics)) == 2 and not result.refused
    with session_scope(sample_ics) as s:
        ingest_batch(s, [json.dumps(_withdrawal(eps, order, second))])
    assert len(_lines(sample_ics)) == 1
