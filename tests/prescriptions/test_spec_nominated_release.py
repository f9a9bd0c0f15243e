"""EPS nominated pharmacy release (issue 16): a ``Task/$release`` that names no prescription
downloads every prescription nominated to the releasing pharmacy that is ready (To Be
Dispensed, 0001), each becoming With Dispenser (0002; its items 0008) at that pharmacy with a
"released" step; prescriptions nominated elsewhere, or already downloaded, are left alone.
Source: NHS Digital Medicines Implementation Guide, "Prescription Release" (a nominated pharmacy
release request and a patient release request, both ``POST /Task/$release``), and the EPS FHIR
API's release example (see ``conftest.nominated_release``)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from ipmo.prescriptions import MessageRefused, ingest_message
from ipmo.prescriptions.models import EpsMessage, Prescription
from ipmo.store import session_scope

from .conftest import urgent_order

ADA, BEN = "9990000018", "9990000026"


def _send(engine, message):
    with session_scope(engine) as s:
        return ingest_message(s, json.dumps(message))


def _state(engine) -> dict[str, tuple[str, str | None, list[str]]]:
    with session_scope(engine) as s:
        return {
            p.prescription_id: (p.status_code, p.dispenser_org, [e.kind for e in p.events])
            for p in s.scalars(select(Prescription))
        }


def _orders(engine):
    """Two prescriptions nominated to FA001 and one to FA002."""
    ids = []
    for n, (pharmacy, number) in enumerate([("FA001", ADA), ("FA001", BEN), ("FA002", ADA)], 1):
        order, pid = urgent_order(n, "2026-12-07T09:00:00+00:00", pharmacy, number)
        _send(engine, order)
        ids.append(pid)
    return ids


def test_a_nominated_release_downloads_what_is_nominated_to_the_pharmacy_and_ready(engine, eps):
    first, second, elsewhere = _orders(engine)
    # the second was downloaded by another pharmacy (a patient release naming it) before
    _send(engine, eps.release_for(second, ods="FA003"))
    result = _send(engine, eps.nominated_release("FA001", "nominated-1"))
    assert result.outcome == "applied"
    state = _state(engine)
    assert state[first] == ("0002", "FA001", ["created", "released"])
    assert state[second] == ("0002", "FA003", ["created", "released"])  # not released again
    assert state[elsewhere] == ("0001", None, ["created"])  # nominated to another pharmacy
    with session_scope(engine) as s:
        item_statuses = {
            i.status_code
            for i in s.scalar(
                select(Prescription).where(Prescription.prescription_id == first)
            ).items
        }
    assert item_statuses == {"0008"}  # every item With Dispenser (item code 0008)


def test_a_nominated_release_replayed_changes_nothing_and_a_reused_id_is_refused(engine, eps):
    first, _, _ = _orders(engine)
    release = eps.nominated_release("FA001", "nominated-1")
    _send(engine, release)
    before = _state(engine)
    assert _send(engine, release).outcome == "replay"
    assert _state(engine) == before
    other = eps.nominated_release("FA002", "nominated-1")
    other["parameter"][0]["resource"]["identifier"][0]["value"] = "FA001"
    other["parameter"][0]["resource"]["name"] = "Another name"
    with pytest.raises(MessageRefused, match="same message id"):
        _send(engine, other)
    assert _state(engine) == before


def test_a_later_nominated_release_downloads_only_what_became_ready(engine, eps):
    first, second, _ = _orders(engine)
    _send(engine, eps.nominated_release("FA001", "nominated-1"))
    order, late = urgent_order(9, "2026-12-07T10:00:00+00:00", "FA001", ADA)
    _send(engine, order)
    _send(engine, eps.nominated_release("FA001", "nominated-2"))
    state = _state(engine)
    assert state[late] == ("0002", "FA001", ["created", "released"])
    assert state[first][2] == ["created", "released"]  # one release step each, not two
    with session_scope(engine) as s:
        rows = s.execute(
            select(EpsMessage.message_id, EpsMessage.prescription_id, EpsMessage.state).where(
                EpsMessage.event == "release"
            )
        ).all()
    assert sorted(rows) == [("nominated-1", "", "applied"), ("nominated-2", "", "applied")]


def test_a_nominated_release_with_nothing_ready_releases_nothing(engine, eps):
    _, _, elsewhere = _orders(engine)
    before = _state(engine)
    assert _send(engine, eps.nominated_release("FA009", "nominated-1")).outcome == "applied"
    assert _state(engine) == before


def test_a_release_naming_no_pharmacy_is_refused(engine, eps):
    _orders(engine)
    release = eps.nominated_release("FA001", "nominated-1")
    del release["parameter"][0]
    with pytest.raises(MessageRefused, match="no owner pharmacy"):
        _send(engine, release)
    assert all(status == "0001" for status, _, _ in _state(engine).values())
