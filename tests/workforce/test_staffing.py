"""Aggregate workforce views: WTE per 10,000 registered patients, IP coverage, vacancies,
rotations, the training pipeline and gap flags — worked by hand on a tiny made-up ICS."""

from __future__ import annotations

from datetime import date

import pytest

from ipmo.workforce.geography import Geography, Org
from ipmo.workforce.staffing import (
    PostFacts,
    rotations,
    summarise,
    training_pipeline,
    vacancies,
)

ON = date(2026, 1, 15)
GEO = Geography(
    orgs={
        "ICB": Org("ICB", "ICB", "icb", None),
        "P1": Org("P1", "Place one", "place", "ICB"),
        "P2": Org("P2", "Place two", "place", "ICB"),
        "N1": Org("N1", "PCN one", "pcn", "P1"),
        "N2": Org("N2", "PCN two", "pcn", "P2"),
        "G1": Org("G1", "Practice 1", "practice", "N1"),
        "G2": Org("G2", "Practice 2", "practice", "N2"),
        "F1": Org("F1", "Pharmacy 1", "pharmacy", "P1"),
        "T1": Org("T1", "Trust", "trust", "ICB"),
    },
    practice_patients={"G1": 20_000, "G2": 10_000},
)


def post(
    number,
    org,
    wte,
    *,
    role="pharmacist",
    filled=True,
    ip=False,
    split=None,
    start=date(2025, 1, 1),
    end=None,
    programme=None,
    sector="gp",
):
    return PostFacts(
        assignment_number=number,
        org_code=org,
        title="t",
        role=role,
        band="7",
        wte=wte,
        filled=filled,
        ip=ip,
        start=start,
        end=end,
        allocations=tuple(split or [(sector, org, wte)]),
        training_programme=programme,
        reports_to=None,
        leadership=False,
    )


POSTS = [
    post("a", "G1", 1.0, ip=True),
    post("b", "G1", 1.0),
    post("c", "G2", 0.5, filled=False),
    post(
        "d", "T1", 1.0, sector="hospital", split=[("hospital", "T1", 0.6), ("community", "F1", 0.4)]
    ),
    post("e", "G2", 1.0, end=date(2025, 12, 31)),  # ended before ON
    post("f", "F1", 1.0, role="pharmacy_technician", sector="community"),
]


def by_key(rows):
    return {r.key: r for r in rows}


def test_wte_per_10k_by_pcn_uses_the_pcns_registered_patients():
    rows, total = summarise(POSTS, GEO, by="pcn", on=ON)
    r = by_key(rows)
    assert r["N1"].patients == 20_000 and r["N1"].in_post_wte == 2.0
    assert r["N1"].wte_per_10k == pytest.approx(1.0)  # 2 WTE / 20,000 × 10,000
    assert r["N2"].in_post_wte == 0.0 and r["N2"].vacant_wte == 0.5
    assert r["N2"].wte_per_10k == 0.0
    # in post on ON: a, b (2.0) + d (1.0) + f (1.0) = 4.0 over 30,000 patients
    assert total.in_post_wte == pytest.approx(4.0)
    assert total.wte_per_10k == pytest.approx(4.0 / 3)


def test_a_split_post_counts_where_each_share_is_worked():
    rows, _ = summarise(POSTS, GEO, by="place", on=ON)
    r = by_key(rows)
    # P1: a + b (G1) + 0.4 of d (F1) + f (F1); the trust's 0.6 is not in a place
    assert r["P1"].in_post_wte == pytest.approx(3.4)
    assert r["-"].in_post_wte == pytest.approx(0.6)
    assert r["-"].patients is None and r["-"].wte_per_10k is None  # no population of its own
    sectors = by_key(summarise(POSTS, GEO, by="sector", on=ON)[0])
    assert sectors["hospital"].in_post_wte == pytest.approx(0.6)
    assert sectors["community"].in_post_wte == pytest.approx(1.4)


def test_posts_that_ended_or_have_not_started_are_left_out():
    _, total = summarise(POSTS, GEO, by="place", on=date(2024, 6, 1))
    assert total.in_post_wte == 0.0 and total.vacant_wte == 0.0


def test_ip_coverage_is_the_share_of_pharmacist_wte_held_by_prescribers():
    rows, total = summarise(POSTS, GEO, by="pcn", on=ON)
    assert by_key(rows)["N1"].ip_coverage == pytest.approx(0.5)
    assert total.ip_coverage == pytest.approx(1.0 / 3.0)  # a of a, b, d
    assert total.technician_wte == 1.0


def test_gaps_are_flagged_for_low_ratio_high_vacancy_and_low_ip():
    rows, total = summarise(POSTS, GEO, by="pcn", on=ON)
    r = by_key(rows)
    assert r["N1"].gaps == []
    flags = " | ".join(r["N2"].gaps)
    assert "below 80% of the average" in flags and "vacancy rate 100%" in flags
    assert any("independent prescribers 33%" in g for g in total.gaps)


def test_sector_rows_are_not_compared_on_wte():
    rows, _ = summarise(POSTS, GEO, by="sector", on=ON)
    assert not any("WTE per 10,000" in g for r in rows for g in r.gaps)


def test_unknown_grouping_is_refused():
    with pytest.raises(ValueError, match="unknown grouping 'ward'"):
        summarise(POSTS, GEO, by="ward", on=ON)


def test_vacancies_group_by_sector_and_role_with_their_age():
    assert vacancies(POSTS, ON) == [
        {
            "sector": "gp",
            "role": "pharmacist",
            "posts": 1,
            "wte": 0.5,
            "oldest_days": (ON - date(2025, 1, 1)).days,
        }
    ]


def test_rotations_list_posts_split_across_sectors():
    assert [r["assignment_number"] for r in rotations(POSTS, ON)] == ["d"]


def test_training_pipeline_against_the_plan():
    posts = [
        post("t1", "T1", 1.0, programme="independent_prescribing", end=date(2026, 6, 30)),
        post(
            "t2",
            "T1",
            1.0,
            programme="independent_prescribing",
            end=date(2026, 9, 30),
            filled=False,
        ),
        post("t3", "T1", 1.0, programme="trainee_pharmacy_technician", start=date(2026, 3, 1)),
    ]
    plan = {("independent_prescribing", 2026): 3, ("foundation_trainee_pharmacist", 2026): 2}
    rows = {(r["programme"], r["year"]): r for r in training_pipeline(posts, plan)}
    ip = rows[("independent_prescribing", 2026)]
    assert (ip["filled"], ip["unfilled"], ip["planned"], ip["gap"]) == (1, 1, 3, 2)
    assert rows[("foundation_trainee_pharmacist", 2026)]["filled"] == 0
    tech = rows[("trainee_pharmacy_technician", 2027)]  # no end date: start year + 1
    assert (tech["planned"], tech["gap"]) == (None, None)


def _leader(number, reports_to=None, filled=True):
    p = post(number, "ICB", 1.0, filled=filled)
    return PostFacts(**{**p.__dict__, "reports_to": reports_to, "leadership": True})


def test_leadership_tree_counts_teams_and_lists_many_leaf_leaders():
    from ipmo.workforce.organogram import leadership_tree

    few = [_leader("chief"), *[_leader(f"l{i}", "chief") for i in range(3)]]
    [root] = leadership_tree(few + [post("x", "G1", 0.5)], on=ON)
    assert len(root.children) == 3 and not root.stack
    many = [_leader("chief"), *[_leader(f"l{i}", "chief") for i in range(8)]]
    staff = PostFacts(**{**post("s", "G1", 0.5).__dict__, "reports_to": "l0"})
    [root] = leadership_tree([*many, staff], on=ON)
    assert root.stack and len(root.children) == 8
    assert any("team: 1 post(s), 0.5 WTE" in line for c in root.children for line in c.lines)
    vacant = leadership_tree([_leader("v", filled=False)], on=ON)[0]
    assert vacant.style == "vacant"
