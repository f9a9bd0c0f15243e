"""Service figures, one definition everywhere (issue 15 §5): counted by one SQL statement on
SQLite and PostgreSQL, the figures of each service add up to all services at every level, items
supplied and no supply are counted, the service evaluation and the API read the same numbers."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session

from ipmo.referrals.figures import (
    ADDITIVE,
    COUNTS,
    GROUPINGS,
    activity_figures,
    consultation_records,
    derive,
    figures_csv,
    referral_leakage,
    service_counts,
)
from ipmo.referrals.new_referrals import NewReferral, create_referral
from ipmo.referrals.outcome_details import ReferralOutcome
from ipmo.referrals.state_changes import accept, record_outcome
from ipmo.store import session_scope
from ipmo.workforce.service_evaluation import ALL_SERVICES, evaluation

from .conftest import ADA, EVE, WED_10AM, principal

CARA = "9990000034"  # A10002 (Riverside PCN), nominated FA001


def _refer(engine, service, nhs=ADA, outcome=None, reason=None, sender="nhs111", late=False):
    with session_scope(engine) as s:
        ref = create_referral(
            s,
            principal(s, sender),
            NewReferral(
                service=service,
                nhs_number=nhs,
                patient_choice="FA001",
                no_relationship_reason="NHS 111 caller" if sender == "nhs111" else None,
            ),
            now=WED_10AM,
        )
        if outcome is None:
            return
        p = principal(s, "community.pharmacist")
        accept(s, p, ref, now=WED_10AM + timedelta(minutes=30))
        done = WED_10AM + (timedelta(days=9) if late else timedelta(minutes=90))
        target = "gp" if outcome == "referred-on" else None
        record_outcome(s, p, ref, ReferralOutcome(outcome, reason, "done", target), now=done)


@pytest.fixture
def activity(ics_any):
    _refer(ics_any, "urgent-repeat-supply", ADA, "supplied")
    _refer(ics_any, "urgent-repeat-supply", ADA, "no-supply", "out-of-stock")
    _refer(ics_any, "urgent-repeat-supply", CARA, "supplied", late=True)
    _refer(ics_any, "urgent-repeat-supply", CARA)  # still open: not (yet) with a pharmacy
    _refer(ics_any, "pharmacy-first", EVE, "advice-given")
    _refer(ics_any, "pharmacy-first", CARA, "referred-on")
    return ics_any


def test_items_supplied_and_no_supply_are_counted_from_the_outcomes(activity):
    with Session(activity) as s:
        [ics] = activity_figures(s, by="icb", month="2026-11")
        [urgent] = activity_figures(s, by="icb", service="urgent-repeat-supply")
    assert (ics["group"], ics["referrals"], ics["completed"], ics["consultations"]) == (
        "QXX",
        6,
        5,
        5,
    )
    assert (urgent["items_supplied"], urgent["no_supply"]) == (2, 1)
    assert urgent["no_supply_share"] == pytest.approx(1 / 3, abs=1e-4)
    assert urgent["no_supply_reasons"] == {"out-of-stock": 1}
    assert (ics["referred_on"], ics["advice_given"]) == (1, 1)
    # the urgent-supply deadline is 12 hours: the one completed nine days later is not in time
    assert (ics["completed_in_time"], ics["completed_in_time_rate"]) == (4, 0.8)
    # channel shift: 3 of the 4 NHS 111 urgent repeat requests reached a pharmacy
    assert (urgent["nhs111_urgent"], urgent["channel_shift_to_pharmacy"]) == (4, 0.75)
    assert ics["mean_minutes_to_accept"] == 30.0


def test_the_figures_of_each_service_add_up_to_all_services_at_every_level(activity):
    checked = []
    with Session(activity) as s:
        for by in GROUPINGS:
            whole = {r["group"]: r for r in activity_figures(s, by=by)}
            parts: dict[str, dict] = {}
            for service in ("urgent-repeat-supply", "pharmacy-first"):
                for r in activity_figures(s, by=by, service=service):
                    g = parts.setdefault(r["group"], dict.fromkeys(COUNTS, 0))
                    for c in COUNTS:
                        g[c] += r[c]
            assert whole, by
            assert set(parts) == set(whole), by
            for group, summed in parts.items():
                assert summed == {c: whole[group][c] for c in COUNTS}, (by, group)
                checked.append((by, group))
    assert {by for by, _g in checked} == set(GROUPINGS) and len(checked) == 5


def test_the_service_evaluation_and_the_api_read_the_same_figures(activity):
    with Session(activity) as s:
        rows = evaluation(s, by="ics", on=date(2026, 11, 30), all_services=True)
        [api] = activity_figures(s, by="icb")
    by_service = {r["service"]: r for r in rows}
    assert set(by_service) == {"urgent-repeat-supply", "pharmacy-first", ALL_SERVICES}
    total = by_service[ALL_SERVICES]
    for figure in ("referrals", "completed", "items_supplied", "no_supply", "consultations"):
        assert total[figure] == api[figure], figure
        assert total[figure] == sum(
            r[figure] for k, r in by_service.items() if k != ALL_SERVICES
        ), figure
    assert total["no_supply_share"] == api["no_supply_share"]
    assert total["completed_in_time_rate"] == api["completed_in_time_rate"]
    assert total["channel_shift_to_pharmacy"] == api["channel_shift_to_pharmacy"]
    assert total["mean_hours_to_accept"] == pytest.approx(api["mean_minutes_to_accept"] / 60)


def test_pcn_figures_follow_the_patients_practice(activity):
    with Session(activity) as s:
        by_pcn = {r["group"]: r for r in activity_figures(s, by="pcn")}
        [ev] = [
            r
            for r in evaluation(s, by="pcn", on=date(2026, 11, 30), all_services=True)
            if r["service"] == ALL_SERVICES and r["group"] == "U10001"
        ]
    assert by_pcn["U10001"]["referrals"] == 5 and by_pcn["U20001"]["referrals"] == 1
    assert ev["referrals"] == 5 and ev["group_name"] == "Riverside PCN"


def test_counts_are_plain_sums_and_derive_reads_only_them(activity):
    with Session(activity) as s:
        records = service_counts(s, since=date(2026, 11, 1), until=date(2026, 12, 1))
    assert len(records) == 2 and all(set(ADDITIVE) <= set(r) for r in records)
    summed = {c: sum(r[c] for r in records) for c in ADDITIVE}
    assert derive(summed)["no_supply_share"] == pytest.approx(1 / 3, abs=1e-4)


def test_figures_download_as_csv_with_names(activity):
    with Session(activity) as s:
        text = figures_csv(activity_figures(s, by="place"))
    header, north = text.splitlines()[:2]
    assert header.startswith("group,name,referrals,")
    assert north.startswith("00X,North Place,6,")
    assert "out-of-stock=1" in north


def test_a_bad_grouping_or_month_is_refused():
    with pytest.raises(ValueError, match="by must be one of"):
        activity_figures(None, by="galaxy")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="month must look like 2026-10"):
        activity_figures(None, month="Nov")  # type: ignore[arg-type]


def test_referral_leakage_lists_practices_that_refer_little_for_their_size(ics_any):
    for _ in range(2):
        _refer(ics_any, "pharmacy-first", ADA, sender="gp")
    with Session(ics_any) as s:
        rows = {
            r["practice"]: r
            for r in referral_leakage(s, date(2026, 11, 1), date(2026, 12, 1), "pharmacy-first")
        }
    assert rows["A10001"]["referrals"] == 2
    assert rows["A10002"]["referrals"] == 0 and rows["A10002"]["shortfall"] > 0
    assert rows["A10002"]["pharmacies_nearby"] == 2  # FA001 and FA002 in North Place
    assert rows["A10002"]["low"] and not rows["A10001"]["low"]


def _consultation(**v):
    return {
        "status": "completed",
        "kind": "urgent-supply",
        "outcome": "supplied",
        "referral_reference": None,
        "org_code": "FA001",
        "practice_code": "A10001",
        "consulted_on": date(2026, 11, 18),
        "items_supplied": 0,
        "items_not_supplied": 0,
        "no_supply_reason": None,
    } | v


def test_pharmacy_first_consultations_are_counted_once():
    """Walk-ins add consultations; a consultation for a referral adds only what its item lines
    add beyond the one item the referral's outcome counted; open ones add nothing."""
    walk_in = _consultation(kind="clinical-pathway", outcome="advice-given")
    urgent = _consultation(referral_reference="R1", items_supplied=2, items_not_supplied=1,
                           no_supply_reason="out-of-stock")  # fmt: skip
    no_items = _consultation(referral_reference="R2")  # the referral's one item already counted
    still_open = _consultation(status="in-progress")
    records = consultation_records([walk_in, urgent, no_items, still_open])
    assert len(records) == 2
    first, second = records
    assert (first["service"], first["consultations"], first["advice_given"]) == (
        "pharmacy-first",
        1,
        1,
    )
    assert first["referrals"] == 0
    assert (second["service"], second["consultations"], second["referrals"]) == (
        "urgent-repeat-supply",
        0,
        0,
    )
    assert (second["items_supplied"], second["no_supply"], second["no_supply:out-of-stock"]) == (
        1,
        1,
        1,
    )
    [by_practice] = consultation_records([walk_in], key="practice")
    assert by_practice["org_code"] == "A10001" and by_practice["month"] == date(2026, 11, 1)


def test_leakage_and_figures_in_the_api_and_csv(client_as):
    analyst = client_as("analyst")
    rows = analyst.get("/api/referral-leakage?since=2026-11-01&until=2026-12-01").json()
    assert {r["practice"] for r in rows} == {"A10001", "A10002", "A20001"}
    assert analyst.get("/api/referral-leakage?since=2026-12-01&until=2026-11-01").status_code == 422
    csv_text = analyst.get(
        "/api/referral-leakage?since=2026-11-01&until=2026-12-01&format=csv"
    ).text
    assert csv_text.splitlines()[0].startswith("practice,name,referrals,patients")
    figures = client_as("community.pharmacist").get("/api/referral-activity?by=icb&format=csv").text
    assert figures.splitlines()[0].startswith("group,name,referrals,accepted")
