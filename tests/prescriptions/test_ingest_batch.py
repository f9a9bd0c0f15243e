"""The batch ingest gives the same store as one message at a time (NHS England's examples plus
status updates, a release, dispenses and a withdrawal, in an order with early arrivals), refuses
the same messages for the same reasons, and is idempotent."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import select
from tests.conftest import _postgres_engine

from ipmo.prescriptions import MessageRefused, ingest, ingest_message
from ipmo.prescriptions.ingest import ingest_batch
from ipmo.prescriptions.models import EpsMessage, Prescription
from ipmo.store import create_store_engine, init_store, session_scope

from .conftest import urgent_order


def _traffic(eps) -> tuple[list[str], str]:
    order, pid = urgent_order(1, "2026-12-07T09:00:00+00:00", "FA001", "9990000018")
    early = eps.dispense_for(order, 0, "0003")  # before its prescription
    early["identifier"]["value"] = "early"
    second = eps.dispense_for(order, 0, "0001")
    second["identifier"]["value"] = "second"
    # nominated releases by FA001: one in the first batch (releasing an order of that batch),
    # one in the second (releasing one order the first batch stored and one of its own)
    nominated = [
        urgent_order(n, "2026-12-07T08:00:00+00:00", "FA001", "9990000026")[0] for n in (2, 3, 4)
    ]
    examples = [p.read_text() for p in sorted(eps.MESSAGES.glob("*.json"))]
    msgs = [json.dumps(early), json.dumps(nominated[0])]
    msgs += [json.dumps(eps.nominated_release("FA001", "nominated-a")), json.dumps(nominated[1])]
    msgs += examples
    msgs += [json.dumps(order), json.dumps(eps.release_for(pid)), json.dumps(second)]
    msgs += [json.dumps(eps.withdrawal_for(order, second)), examples[2], "{"]
    msgs += [json.dumps(nominated[2]), json.dumps(eps.nominated_release("FA001", "nominated-b"))]
    return msgs, pid


def _state(engine):
    with session_scope(engine) as s:
        ps = s.scalars(select(Prescription).order_by(Prescription.prescription_id)).all()
        state = [
            (
                p.prescription_id,
                p.status_code,
                [(i.line_item_id, i.status_code) for i in p.items],
                [e.kind for e in p.events],
            )
            for p in ps
        ]
        messages = sorted(
            s.execute(select(EpsMessage.sender_org, EpsMessage.message_id, EpsMessage.state)).all()
        )
    return state, messages


def _columns(row, skip: tuple[str, ...]) -> dict:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key not in skip}


def _every_column(engine):
    """Every column of every stored row but ids and write times (the batch writes rows in bulk,
    beside the ORM: nothing may differ from the one-message path)."""
    with session_scope(engine) as s:
        ps = s.scalars(select(Prescription).order_by(Prescription.prescription_id)).all()
        return [
            (
                _columns(p, ("id", "created_at", "updated_at")),
                [_columns(i, ("id", "prescription_pk")) for i in p.items],
                [_columns(e, ("id", "prescription_pk")) for e in p.events],
            )
            for p in ps
        ], sorted(
            (m.sender_org, m.message_id, m.event, m.content_hash, m.state, m.payload is None)
            for m in s.scalars(select(EpsMessage))
        )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def two_stores(request, tmp_path):
    """Two empty stores of the same kind (the batch writes through each driver its own way)."""
    if request.param == "sqlite":
        engines = []
        for name in ("one", "batch"):
            engine = create_store_engine(f"sqlite:///{tmp_path / name}.sqlite3")
            init_store(engine)
            engines.append(engine)
        yield engines
        for engine in engines:
            engine.dispose()
    else:
        made = [_postgres_engine(), _postgres_engine()]
        yield [engine for engine, _ in made]
        for _, drop in made:
            drop()


def test_batch_equals_one_at_a_time(two_stores, eps, monkeypatch):
    # a message without its own time is stamped when it is read: one clock for both paths
    monkeypatch.setattr(ingest, "utcnow", lambda: datetime(2026, 12, 7, 12, 0))
    msgs, pid = _traffic(eps)
    one, batch = two_stores
    refused_one = []
    for n, m in enumerate(msgs):
        try:
            with session_scope(one) as s:
                ingest_message(s, m)
        except MessageRefused as exc:
            refused_one.append((n, exc.diagnostics))
    with session_scope(batch) as s:
        result = ingest_batch(s, msgs[:20])
    with session_scope(batch) as s:
        rest = ingest_batch(s, msgs[20:])
    refused_batch = result.refused + [(n + 20, why) for n, why in rest.refused]
    assert sorted(refused_batch) == refused_one and len(refused_one) == 7  # 6 examples + "{"
    assert _state(batch) == _state(one)
    assert _every_column(batch) == _every_column(one)
    assert result.pending_applied + rest.pending_applied >= 9
    released = [kinds for _, _, _, kinds in _state(batch)[0] if kinds == ["created", "released"]]
    assert len(released) == 3  # the three orders nominated to FA001 and ready when released
    states = {p: (status, kinds) for p, status, _, kinds in _state(batch)[0]}
    # the early partial dispense applied on arrival, the release, a full dispense of that item
    # (3 items still with the pharmacy), withdrawn: partial again
    assert states[pid] == (
        "0003",
        ["created", "partially-dispensed", "released", "partially-dispensed", "withdrawn"],
    )
    with session_scope(batch) as s:
        again = ingest_batch(s, msgs)
    assert again.applied == again.pending == 0 and again.replays > 0
    assert _every_column(batch) == _every_column(one)
