"""Service evaluation: imported monthly figures, their checks, and the roll-up arithmetic."""

from __future__ import annotations

from datetime import date

import pytest

from ipmo.store import session_scope
from ipmo.workforce.geography import Geography, Org
from ipmo.workforce.service_evaluation import (
    ACTIVITY_COLUMNS,
    ActivityImportError,
    evaluation,
    import_activity,
    parse_activity_row,
    roll_up,
    to_csv,
)

from .helpers import seed

HEADER = ",".join(ACTIVITY_COLUMNS)
ORGS = {"FA001", "FA002", "FB001"}


def line(**v: str) -> dict[str, str]:
    base = dict(
        service="contraception",
        organisation_code="FA001",
        month="2026-09",
        referrals="10",
        completed="8",
        accepted="10",
        items_supplied="6",
        no_supply="2",
        escalations="1",
        survey_responses="4",
        satisfied="3",
        mean_hours_to_accept="2",
        mean_hours_to_complete="5",
        no_supply_reasons="not-clinically-appropriate=1;out-of-stock=1",
        otherwise="gp_in_hours=3;a_and_e=1",
    )
    base.update(v)
    return base


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"service": "haircut"}, "unknown service 'haircut'"),
        ({"organisation_code": "ZZ1"}, "unknown organisation 'ZZ1'"),
        ({"month": "Sept"}, "month 'Sept' is not YYYY-MM"),
        ({"completed": "11"}, "completed (11) exceeds referrals"),
        ({"no_supply": "9"}, "no_supply (9) exceeds completed"),
        ({"referrals": "-1"}, "referrals is negative"),
        ({"no_supply_reasons": "not-clinically-appropriate=1"}, "no_supply_reasons add up to 1"),
        ({"otherwise": "moon=1"}, "otherwise part 'moon=1' is not key=count"),
        # one no-supply vocabulary: the referral outcomes' codes, not a second list
        ({"no_supply_reasons": "not_in_stock=2"}, "known: not-clinically-appropriate, out-of"),
        ({"otherwise": "gp_in_hours=5"}, "otherwise answers exceed survey_responses"),
    ],
)
def test_bad_figures_are_refused_naming_the_line(bad, message):
    with pytest.raises(ActivityImportError) as err:
        parse_activity_row(line(**bad), 7, ORGS)
    assert str(err.value).startswith("line 7: ") and message in str(err.value)


GEO = Geography(
    orgs={
        "ICB": Org("ICB", "ICB", "icb", None),
        "P1": Org("P1", "Place one", "place", "ICB"),
        "F1": Org("F1", "Pharmacy 1", "pharmacy", "P1"),
        "F2": Org("F2", "Pharmacy 2", "pharmacy", "P1"),
    },
    practice_patients={},
)


def test_roll_up_sums_counts_and_keeps_means_correct():
    a = parse_activity_row(line(organisation_code="F1"), 2, {"F1", "F2"})
    b = parse_activity_row(
        line(
            organisation_code="F2",
            referrals="30",
            accepted="30",
            completed="20",
            no_supply="2",
            mean_hours_to_accept="6",
            mean_hours_to_complete="10",
            no_supply_reasons="",
            otherwise="",
            survey_responses="0",
            satisfied="0",
        ),
        3,
        {"F1", "F2"},
    )
    [place] = roll_up([a, b], GEO, "place")
    assert (place["group"], place["month"], place["referrals"]) == ("P1", "2026-09", 40)
    # items not supplied ÷ items asked for (6 + 6 supplied, 2 + 2 not): referrals/figures.py's
    assert place["no_supply_share"] == pytest.approx(4 / 16, abs=1e-4)
    # accepted: 10 at 2 h and 30 at 6 h → mean 5 h; completed: 8 at 5 h and 20 at 10 h
    assert place["mean_hours_to_accept"] == pytest.approx(5.0)
    assert place["mean_hours_to_complete"] == pytest.approx((8 * 5 + 20 * 10) / 28, abs=1e-4)
    assert place["satisfaction"] == pytest.approx(0.75)
    assert place["otherwise"]["gp_in_hours"] == 3
    assert place["no_supply_reasons"] == {"not-clinically-appropriate": 1, "out-of-stock": 1}
    assert len(roll_up([a, b], GEO, "pharmacy")) == 2
    csv_text = to_csv([place])
    assert "not-clinically-appropriate=1;out-of-stock=1" in csv_text.splitlines()[1]


def test_import_then_evaluate_from_the_store_and_reimport_replaces(any_engine):
    seed(any_engine)
    rows = [
        line(),
        line(
            organisation_code="FB001",
            referrals="5",
            accepted="5",
            completed="5",
            no_supply="0",
            no_supply_reasons="",
        ),
    ]
    text = HEADER + "\n" + "\n".join(",".join(r[c] for c in ACTIVITY_COLUMNS) for r in rows)
    with session_scope(any_engine) as s:
        assert import_activity(s, text) == 2
    with session_scope(any_engine) as s:
        assert import_activity(s, text) == 2  # same keys: replaced, not added
    with session_scope(any_engine) as s:
        by_place = {r["group"]: r for r in evaluation(s, by="place", service="contraception")}
        ics = evaluation(s, by="ics")
    assert by_place["00X"]["referrals"] == 10 and by_place["00Y"]["referrals"] == 5
    assert [r["referrals"] for r in ics if r["service"] == "contraception"] == [15]
    assert date(2026, 9, 1).strftime("%Y-%m") == ics[0]["month"]


def test_a_repeated_row_is_refused_and_nothing_written(engine):
    seed(engine)
    r = ",".join(line()[c] for c in ACTIVITY_COLUMNS)
    with (
        pytest.raises(ActivityImportError, match="line 3: repeats .* of line 2"),
        session_scope(engine) as s,
    ):
        import_activity(s, f"{HEADER}\n{r}\n{r}\n")
    with session_scope(engine) as s:
        assert evaluation(s, by="ics", service="contraception") == []


def test_referral_figures_are_used_and_win_over_imported_ones(engine, monkeypatch):
    """The count records the referrals domain offers (``SERVICE_FIGURE_COUNTS`` in its hooks.py:
    counts and time totals in minutes) join the evaluation; an imported row for the same service,
    pharmacy and month is dropped."""
    import ipmo.referrals.hooks as referral_hooks
    from ipmo.referrals.figures import ADDITIVE

    seed(engine)
    r = ",".join(line(month="2026-11")[c] for c in ACTIVITY_COLUMNS)
    with session_scope(engine) as s:
        import_activity(s, f"{HEADER}\n{r}\n")
    calls = []

    def fake(session, key="pharmacy", since=None, until=None):
        calls.append((key, since))
        counts = dict.fromkeys(ADDITIVE, 0) | {
            "referrals": 4, "accepted": 4, "closed": 3, "completed": 3, "completed_in_time": 2,
            "consultations": 3, "items_supplied": 2, "no_supply": 1, "escalated": 1,
            "no_supply:out-of-stock": 1, "minutes_to_accept_total": 120.0,
            "minutes_to_complete_total": 360.0,
        }  # fmt: skip
        return [{"service": "contraception", "org_code": "FA001", "month": date(2026, 11, 1)}
                | counts]  # fmt: skip

    monkeypatch.setattr(referral_hooks, "SERVICE_FIGURE_COUNTS", fake)
    with session_scope(engine) as s:
        [row] = evaluation(s, by="pharmacy", service="contraception", on=date(2026, 11, 30))
    assert calls == [("pharmacy", date(2025, 12, 1))]
    assert (row["group"], row["referrals"], row["completed"]) == ("FA001", 4, 3)
    assert (row["items_supplied"], row["no_supply_share"]) == (2, pytest.approx(1 / 3, abs=1e-4))
    assert row["mean_hours_to_accept"] == pytest.approx(0.5)
    assert row["mean_hours_to_complete"] == pytest.approx(2.0)
    assert row["completed_in_time_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert row["no_supply_reasons"] == {"out-of-stock": 1}
