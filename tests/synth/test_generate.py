"""The synthetic ICS: determinism, identity validity, referential integrity, refusal rules."""

from __future__ import annotations

from datetime import date

import nhs_number
import pytest
from sqlalchemy import text

from ipmo.store import create_store_engine, init_store
from ipmo.synth import DEMO_CODES, SynthError, generate

AS_OF = date(2026, 1, 1)


def _engine(path):
    eng = create_store_engine(f"sqlite:///{path}")
    init_store(eng)
    return eng


def _dump(engine, table):
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT * FROM {table} ORDER BY id")).all()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    eng = _engine(tmp_path_factory.mktemp("tiny") / "a.sqlite3")
    report = generate(eng, size="tiny", seed=7, progress=False, as_of=AS_OF)
    yield eng, report
    eng.dispose()


def test_same_seed_gives_identical_data(tiny, tmp_path):
    eng, _ = tiny
    other = _engine(tmp_path / "b.sqlite3")
    generate(other, size="tiny", seed=7, progress=False, as_of=AS_OF)
    for table in (
        "organisations",
        "patients",
        "conditions",
        "observations",
        "medication_issues",
        "admissions",
        "source_lists",
        "source_items",
    ):
        assert _dump(eng, table) == _dump(other, table), table
    other.dispose()


def test_different_seed_gives_different_patients(tiny, tmp_path):
    eng, _ = tiny
    other = _engine(tmp_path / "c.sqlite3")
    generate(other, size="tiny", seed=8, progress=False, as_of=AS_OF)
    assert _dump(eng, "patients") != _dump(other, "patients")
    other.dispose()


def test_tiny_has_the_requested_shape(tiny):
    eng, report = tiny
    with eng.connect() as conn:
        kinds = dict(
            conn.execute(text("SELECT kind, count(*) FROM organisations GROUP BY kind")).all()
        )
    assert kinds == {
        "icb": 1,
        "place": 2,
        "pcn": 3,
        "practice": 8,
        "pharmacy": 10,
        "trust": 1,
        "care_home": 2,
        "nhs111": 1,
    }
    assert report.counts["patients"] == 400
    for table in ("medication_issues", "observations", "source_items", "conditions"):
        assert report.counts[table] > 0


def test_nhs_numbers_are_valid_synthetic_and_unique(tiny):
    eng, _ = tiny
    numbers = [r[0] for r in eng.connect().execute(text("SELECT nhs_number FROM patients"))]
    assert len(set(numbers)) == len(numbers) == 400
    assert all(nhs_number.is_valid(x) and x.startswith("999") for x in numbers)


def test_foreign_keys_hold(tiny):
    eng, _ = tiny
    with eng.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
        wrong_kind = conn.execute(
            text(
                "SELECT count(*) FROM patients p JOIN organisations o"
                " ON o.ods_code = p.practice_code"
                " WHERE o.kind <> 'practice'"
            )
        ).scalar()
        orphan_items = conn.execute(
            text(
                "SELECT count(*) FROM source_items i LEFT JOIN source_lists l"
                " ON l.id = i.source_list_id WHERE l.id IS NULL"
            )
        ).scalar()
    assert wrong_kind == 0 and orphan_items == 0


def test_demo_codes_exist(tiny):
    eng, _ = tiny
    with eng.connect() as conn:
        rows = conn.execute(text("SELECT ods_code, kind FROM organisations"))
        found = {r[0]: r[1] for r in rows}
    assert found[DEMO_CODES.icb] == "icb"
    assert found[DEMO_CODES.pcn] == "pcn"
    assert found[DEMO_CODES.practice] == "practice"
    assert found[DEMO_CODES.pharmacy] == "pharmacy"
    assert found[DEMO_CODES.trust] == "trust"
    assert found[DEMO_CODES.care_home] == "care_home"
    assert found[DEMO_CODES.nhs111] == "nhs111"


def test_source_lists_disagree_realistically(tiny):
    """GP, pharmacy and hospital lists exist, and some pharmacy items are branded AMPs."""
    eng, _ = tiny
    with eng.connect() as conn:
        kinds = dict(
            conn.execute(
                text("SELECT source_kind, count(*) FROM source_lists GROUP BY source_kind")
            ).all()
        )
        amp = conn.execute(text("SELECT count(*) FROM source_items WHERE mapping = 'amp'")).scalar()
    assert set(kinds) == {"gp", "pharmacy", "hospital"}
    assert amp > 0


def test_non_empty_store_is_refused_then_replaced(tiny, tmp_path):
    eng = _engine(tmp_path / "d.sqlite3")
    generate(eng, size="tiny", seed=1, progress=False, as_of=AS_OF)
    with pytest.raises(SynthError, match="--replace"):
        generate(eng, size="tiny", seed=2, progress=False, as_of=AS_OF)
    generate(eng, size="tiny", seed=7, progress=False, as_of=AS_OF, replace=True)
    assert _dump(eng, "patients") == _dump(tiny[0], "patients")
    eng.dispose()


def test_unknown_size_is_refused(engine):
    with pytest.raises(SynthError, match="unknown size"):
        generate(engine, size="huge", progress=False)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM organisations")).scalar() == 0


def test_generates_on_both_engines(any_engine):
    """SQLite takes executemany, PostgreSQL takes COPY; both give the same rows."""
    report = generate(any_engine, size="tiny", seed=7, progress=False, as_of=AS_OF)
    assert report.counts["patients"] == 400
    with any_engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM medication_issues")).scalar()
        first = conn.execute(text("SELECT nhs_number FROM patients ORDER BY id LIMIT 1")).scalar()
    assert n == report.counts["medication_issues"]
    assert nhs_number.is_valid(first)
    # sequences moved past the explicit ids: a normal insert still works
    with any_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO conditions (patient_id, snomed_code, term) VALUES (1, '38341003', 'x')"
            )
        )


def test_replace_keeps_tables_unrelated_to_the_ics(tmp_path):
    eng = _engine(tmp_path / "e.sqlite3")
    generate(eng, size="tiny", seed=1, progress=False, as_of=AS_OF)
    with eng.begin() as conn:
        conn.execute(
            text("INSERT INTO dmd_vtm (id, name, invalid) VALUES ('90332006', 'Paracetamol', 0)")
        )
    generate(eng, size="tiny", seed=2, progress=False, as_of=AS_OF, replace=True)
    with eng.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM dmd_vtm")).scalar() == 1
    eng.dispose()


def test_generate_inside_a_callers_session_commits_with_it(engine):
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        generate(session, size="tiny", seed=3, progress=False, as_of=AS_OF)
        session.rollback()  # the caller decides: nothing was committed behind its back
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM patients")).scalar() == 0
    with Session(engine) as session:
        generate(session, size="tiny", seed=3, progress=False, as_of=AS_OF)
        session.commit()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM patients")).scalar() == 400
