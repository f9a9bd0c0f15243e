"""Practice PINCER / SMR-cohort rates per 1,000 registered patients, from the store, with
disclosure control (counts ≤ 7 withheld, others rounded to 5) applied before the rate."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import insert

from ipmo.patients.models import Patient
from ipmo.review import practice_review_rates, rates_table
from ipmo.review import service as review_service
from ipmo.review.models import IndicatorRate
from ipmo.store import session_scope

AS_OF = date(2024, 6, 30)
EARLIER = date(2024, 1, 31)


def _patients(session, practice: str, alive: int, dead: int = 0, start: int = 0) -> None:
    rows = [
        {
            "nhs_number": f"8{start + i:09d}",
            "given_name": "Test",
            "family_name": "Patient",
            "birth_date": date(1950, 1, 1),
            "sex": "female",
            "practice_code": practice,
            "date_of_death": date(2024, 3, 1) if i >= alive else None,
        }
        for i in range(alive + dead)
    ]
    session.execute(insert(Patient), rows)


def _rate(session, practice: str, rule_id: str, numerator: int, as_of=AS_OF) -> None:
    session.add(
        IndicatorRate(
            practice_code=practice,
            rule_id=rule_id,
            as_of=as_of,
            denominator=numerator + 50,
            numerator=numerator,
        )  # fmt: skip
    )


@pytest.fixture
def store(sample_ics):
    """A10001: 1,200 living + 3 dead patients; A10002: 40 (+ the sample ICS's five: two at
    A10001, one at A10002, two at A20001)."""
    with session_scope(sample_ics) as s:
        _patients(s, "A10001", alive=1200, dead=3)
        _patients(s, "A10002", alive=40, start=5000)
        _rate(s, "A10001", "PINCER-A", 37)
        _rate(s, "A10001", "PINCER-B", 5)
        _rate(s, "A10001", "SMR-CARE-HOME", 12)
        _rate(s, "A10001", "STOPP-B1", 300)  # not a PINCER/SMR rule: not shown
        _rate(s, "A10002", "PINCER-A", 9)
        _rate(s, "A10001", "PINCER-A", 100, as_of=EARLIER)
    return sample_ics


def _by_key(rows):
    return {(r.practice, r.rule_id): r for r in rows}


def test_rate_is_flagged_patients_per_1000_registered(store):
    with session_scope(store) as s:
        row = _by_key(practice_review_rates(s))[("A10001", "PINCER-A")]
    # 1,200 + the sample ICS's 2 = 1,202 registered → 1,200 published; 37 flagged → 35
    assert (row.registered, row.flagged) == (1200, 35)
    assert row.per_1000 == round(1000 * 35 / 1200, 1)
    assert row.family == "pincer" and row.as_of == AS_OF
    assert row.practice_name == "Riverside Medical Centre"


def test_dead_patients_are_not_registered(store):
    with session_scope(store) as s:
        row = _by_key(practice_review_rates(s))[("A10001", "PINCER-A")]
    assert row.registered == 1200  # with the three who died before AS_OF it would be 1,205


def test_small_counts_are_withheld_and_no_rate_is_shown(store):
    with session_scope(store) as s:
        row = _by_key(practice_review_rates(s))[("A10001", "PINCER-B")]
    assert row.flagged is None and row.per_1000 is None
    assert row.registered == 1200


def test_rate_is_formed_from_the_published_counts_not_the_raw_ones(store):
    with session_scope(store) as s:
        row = _by_key(practice_review_rates(s))[("A10002", "PINCER-A")]
    # raw 9 / 41 would give 219.5 and reveal the exact counts; published 10 / 40 gives 250.0
    assert (row.registered, row.flagged, row.per_1000) == (40, 10, 250.0)


def test_every_practice_gets_every_pincer_indicator_and_smr_cohort_and_nothing_else(store):
    with session_scope(store) as s:
        rows = practice_review_rates(s)
    assert {r.family for r in rows} == {"pincer", "smr"}
    assert not any(r.rule_id.startswith("STOPP") for r in rows)
    by_practice = {p: {r.rule_id for r in rows if r.practice == p} for p in ("A10001", "A10002")}
    assert by_practice["A10001"] == by_practice["A10002"]
    expected = {"PINCER-A", "PINCER-AM", "SMR-CARE-HOME", "SMR-POLYPHARMACY-10"}
    assert expected <= by_practice["A10001"]
    # a cohort nobody is in is withheld (zero is disclosive too), never shown as 0
    smr_dmard = _by_key(rows)[("A10002", "SMR-DMARD")]
    assert smr_dmard.flagged is None


def test_latest_run_is_used_unless_a_date_is_asked_for(store):
    with session_scope(store) as s:
        latest = _by_key(practice_review_rates(s))[("A10001", "PINCER-A")]
        earlier = _by_key(practice_review_rates(s, as_of=EARLIER))[("A10001", "PINCER-A")]
    assert latest.flagged == 35 and earlier.flagged == 100


def test_one_family_can_be_asked_for_and_an_unknown_one_is_refused(store):
    with session_scope(store) as s:
        assert {r.family for r in practice_review_rates(s, families=("smr",))} == {"smr"}
        with pytest.raises(ValueError, match="unknown rule family pincerr"):
            practice_review_rates(s, families=("pincerr",))


def test_no_rates_before_the_review_run(sample_ics):
    with session_scope(sample_ics) as s:
        assert practice_review_rates(s) == []


def test_after_a_real_review_run_small_practices_show_nothing_disclosive(sample_ics):
    review_service.run(sample_ics, AS_OF)
    with session_scope(sample_ics) as s:
        rows = practice_review_rates(s)
    assert {r.practice for r in rows} == {"A10001", "A10002", "A20001"}
    # five patients in the sample ICS: every count is ≤ 7, so everything is withheld
    assert all(r.registered is None and r.flagged is None and r.per_1000 is None for r in rows)


def test_table_has_one_typed_row_per_rate(store):
    with session_scope(store) as s:
        rows = practice_review_rates(s)
    table = rates_table(rows)
    assert table.num_rows == len(rows)
    assert table.column_names[:3] == ["practice", "practice_name", "rule_id"]
    assert str(table.schema.field("per_1000").type) == "double"


def test_api_and_page_show_the_rates_to_analysts_only(store, client_as):
    analyst = client_as("analyst")
    data = analyst.get("/api/analytics/practice-review-rates?family=pincer").json()
    row = next(r for r in data if r["practice"] == "A10002" and r["rule_id"] == "PINCER-A")
    assert (row["flagged"], row["per_1000"], row["as_of"]) == (10, 250.0, "2024-06-30")
    csv_text = analyst.get("/api/analytics/practice-review-rates?format=csv").text
    assert csv_text.splitlines()[0].startswith("practice,practice_name,rule_id")
    assert analyst.get("/api/analytics/practice-review-rates?family=x").status_code == 422
    page = analyst.get("/analytics/practice-review-rates?family=smr")
    assert page.status_code == 200 and 'id="practice-review-rates"' in page.text
    assert "SMR-CARE-HOME" in page.text and "PINCER-A" not in page.text
    denied = client_as("community.pharmacist").get("/api/analytics/practice-review-rates")
    assert denied.status_code == 403


def test_same_rates_on_sqlite_and_postgresql(any_engine):
    from ipmo.synth.sample import seed_sample_ics

    with session_scope(any_engine) as s:
        seed_sample_ics(s)
        _patients(s, "A10002", alive=40, start=5000)
        _rate(s, "A10002", "PINCER-A", 9)
    with session_scope(any_engine) as s:
        row = _by_key(practice_review_rates(s))[("A10002", "PINCER-A")]
    assert (row.registered, row.flagged, row.per_1000) == (40, 10, 250.0)
