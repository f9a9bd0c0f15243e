"""``ipmo workforce import``: the ESR-like CSV, its validation and the all-or-nothing write."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ipmo.store import session_scope
from ipmo.synth.sample import ORGS as SAMPLE_ORGS
from ipmo.workforce.importer import (
    WorkforceImportError,
    check_assignments,
    import_assignments,
    import_training_plan,
    parse_row,
)
from ipmo.workforce.models import Post, StaffMember, TrainingPlanLine

from .helpers import csv_text, row, seed

ORGS = {code: str(kind) for code, _name, kind, _parent, _extra in SAMPLE_ORGS}


@pytest.fixture
def store(any_engine):
    seed(any_engine)
    return any_engine


def _count(engine, model) -> int:
    with session_scope(engine) as s:
        return s.scalar(select(func.count()).select_from(model))


def _import(engine, text: str):
    with session_scope(engine) as s:
        return import_assignments(s, text)


def test_a_valid_file_writes_people_posts_vacancies_and_splits(store):
    report = _import(
        store,
        csv_text(
            row(independent_prescriber="Y", prescriber_scope="hypertension"),
            row(
                assignment_number="A2",
                employee_number="",
                full_name="",
                wte="0.6",
                organisation_code="RXX",
                sector_split="hospital:0.4;community@FA001:0.2",
                reports_to="A1",
            ),
        ),
    )
    assert (report.assignments, report.people, report.vacancies) == (2, 1, 1)
    with session_scope(store) as s:
        a2 = s.scalar(select(Post).filter_by(assignment_number="A2"))
        assert a2.staff is None
        assert sorted((a.sector, a.org_code, a.wte) for a in a2.allocations) == [
            ("community", "FA001", 0.2),
            ("hospital", "RXX", 0.4),
        ]
        a1 = s.scalar(select(Post).filter_by(assignment_number="A1"))
        assert [(a.sector, a.org_code) for a in a1.allocations] == [("gp", "A10001")]
        assert a1.staff.independent_prescriber and a1.staff.prescriber_scope == "hypertension"


def test_reimporting_an_assignment_replaces_it(store):
    _import(store, csv_text(row()))
    _import(store, csv_text(row(wte="0.5", afc_band="8a")))
    with session_scope(store) as s:
        post = s.scalar(select(Post))
        assert (post.wte, post.band, len(post.allocations)) == (0.5, "8a", 1)
    assert _count(store, Post) == 1


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"organisation_code": "ZZZ99"}, "line 3: unknown organisation 'ZZZ99'"),
        ({"staff_role": "surgeon"}, "line 3: unknown staff_role 'surgeon'"),
        ({"wte": "-0.2"}, "line 3: wte -0.2 must be more than 0 and at most 1.0"),
        ({"wte": "1.2"}, "line 3: wte 1.2 must be more than 0 and at most 1.0"),
        ({"wte": "0"}, "line 3: wte 0 must be more than 0"),
        ({"afc_band": "12"}, "line 3: unknown Agenda for Change band '12'"),
        ({"assignment_start": "yesterday"}, "line 3: assignment_start 'yesterday' is not a date"),
        ({"sector_split": "gp:0.5"}, "line 3: sector_split adds up to 0.5 WTE but the post is 1"),
        ({"sector_split": "moon:1.0"}, "line 3: unknown sector 'moon'"),
        (
            {"staff_role": "pharmacy_technician", "independent_prescriber": "Y"},
            "line 3: only a pharmacist can be an independent prescriber",
        ),
        ({"reports_to": "NOPE"}, "line 3: reports_to 'NOPE' is not a known assignment_number"),
        ({"training_programme": "astronaut"}, "line 3: unknown training_programme 'astronaut'"),
    ],
)
def test_bad_rows_are_refused_naming_the_line(bad, message):
    good = row(assignment_number="A0", employee_number="E0", full_name="Other Person")
    rows = [good, row(employee_number="E9", full_name="Sam", **bad)]
    with pytest.raises(WorkforceImportError) as err:
        parsed = [parse_row(r, line, ORGS) for line, r in enumerate(rows, start=2)]
        check_assignments(parsed)
    assert message in str(err.value)


def test_a_bad_row_after_good_ones_writes_nothing(store):
    good = row(assignment_number="A0", employee_number="E0", full_name="Other Person")
    with pytest.raises(WorkforceImportError, match="line 3: wte 1.2"):
        _import(store, csv_text(good, row(wte="1.2")))
    assert _count(store, Post) == 0 and _count(store, StaffMember) == 0


def _check(*rows):
    check_assignments([parse_row(r, line, ORGS) for line, r in enumerate(rows, start=2)])


def test_overlapping_contracts_for_one_person_are_refused():
    with pytest.raises(WorkforceImportError, match="line 3: employee E1's contract A2 overlaps"):
        _check(
            row(assignment_end="2025-03-31"),
            row(assignment_number="A2", assignment_start="2025-03-01", wte="0.4"),
        )


def test_an_open_ended_contract_overlaps_any_later_one():
    with pytest.raises(WorkforceImportError, match="overlaps"):
        _check(row(), row(assignment_number="A2", assignment_start="2030-01-01"))


def test_consecutive_contracts_for_one_person_are_accepted():
    _check(
        row(assignment_end="2025-03-31"),
        row(assignment_number="A2", assignment_start="2025-04-01"),
    )


def test_one_employee_with_two_names_is_refused():
    with pytest.raises(WorkforceImportError, match="line 3: employee E1 has a different full_name"):
        _check(
            row(assignment_end="2025-03-31"),
            row(assignment_number="A2", assignment_start="2025-04-01", full_name="Someone Else"),
        )


def test_a_contract_overlapping_one_already_in_the_registry_is_refused(store):
    _import(store, csv_text(row()))
    with pytest.raises(WorkforceImportError, match="overlaps contract A1 \\(the registry\\)"):
        _import(store, csv_text(row(assignment_number="A9", assignment_start="2025-01-01")))
    assert _count(store, Post) == 1


def test_a_reporting_loop_is_refused():
    with pytest.raises(WorkforceImportError, match="line 2: reports_to makes a loop"):
        _check(
            row(reports_to="A2"),
            row(assignment_number="A2", employee_number="E2", full_name="B", reports_to="A1"),
        )


def test_missing_columns_are_named(store):
    with pytest.raises(WorkforceImportError, match="line 1: missing column\\(s\\): .*wte"):
        _import(store, "assignment_number,organisation_code\nA1,A10001\n")


def test_training_plan_import_and_bad_programme(store):
    with session_scope(store) as s:
        assert (
            import_training_plan(
                s, "programme,year,planned_places\nindependent_prescribing,2026,4\n"
            )
            == 1
        )
    assert _count(store, TrainingPlanLine) == 1
    with (
        pytest.raises(WorkforceImportError, match="line 2: unknown programme 'x'"),
        session_scope(store) as s,
    ):
        import_training_plan(s, "programme,year,planned_places\nx,2026,4\n")
