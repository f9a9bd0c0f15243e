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
