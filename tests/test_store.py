from datetime import date

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from ipmo.organisations.models import Organisation, OrgKind
from ipmo.patients.models import Patient
from ipmo.store import StoreError, create_store_engine, session_scope
from ipmo.store.migrate import current_revision


def test_migrations_create_every_table(any_engine):
    from ipmo.store.registry import load_all_models

    tables = set(inspect(any_engine).get_table_names())
    assert set(load_all_models().metadata.tables) <= tables
    assert current_revision(any_engine) is not None


def test_unit_of_work_rolls_back_on_error(any_engine):
    with session_scope(any_engine) as s:
        s.add(Organisation(ods_code="QXX", name="ICB", kind=OrgKind.ICB))
    with pytest.raises(IntegrityError), session_scope(any_engine) as s:
        s.add(Organisation(ods_code="A1", name="P", kind=OrgKind.PRACTICE, parent_code="QXX"))
        s.add(Organisation(ods_code="QXX", name="dup", kind=OrgKind.ICB))
    with session_scope(any_engine) as s:
        assert s.scalars(select(Organisation.ods_code)).all() == ["QXX"]


def test_foreign_keys_are_enforced_on_both_engines(any_engine):
    with pytest.raises(IntegrityError), session_scope(any_engine) as s:
        s.add(
            Patient(
                nhs_number="9990000018",
                given_name="A",
                family_name="B",
                birth_date=date(1950, 1, 1),
                sex="female",
                practice_code="NOPE",
            )
        )


def test_a_wrong_database_url_is_one_clear_line():
    with pytest.raises(StoreError, match="not a usable database URL"):
        create_store_engine("notadb://x")
    with pytest.raises(StoreError, match="cannot connect"):
        create_store_engine("postgresql://nobody@127.0.0.1:1/none")
