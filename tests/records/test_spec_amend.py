"""Amendments over a reconciliation (``records.amend``): one test per rule M1–M3, the matching
rule and the checks made before a change is accepted, each with a case where it does not fire."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ipmo.records.amend import AMENDMENT_LABEL, Amendment, AmendmentError, apply, check
from ipmo.records.models import AmendmentKind

ON = date(2025, 6, 1)  # the acceptance date = the fixtures' INDEX


def amendment(kind: str, medicine: str, dose: str | None = None, on: date = ON, code=None):
    return Amendment(kind, medicine, code, dose, on, "pharm1", reason="agreed at review")


@pytest.fixture
def gp(rec):
    """A GP list with ibuprofen, amlodipine and omeprazole current at INDEX."""

    def make(*extra):
        return rec.source(
            "gp",
            "A81001",
            rec.item("900121", "Ibuprofen 400mg tablets", dose_text="1 tablet three times a day"),
            rec.item("900151", "Amlodipine 5mg tablets", dose_text="1 tablet once a day"),
            rec.item("900101", "Omeprazole 20mg gastro-resistant capsules"),
            *extra,
        )

    return make


def _run(rec, dictionary, sources, amendments, index=ON):
    result = rec.run(*sources, index=index)
    states = apply(result, sources, amendments, dictionary)
    return result, states, {line.name: line for line in result.lines}


def test_m1_an_amendment_counts_from_its_effective_date(rec, dictionary, gp):
    stop = amendment(AmendmentKind.STOP, "Ibuprofen 400mg tablets")
    _, states, lines = _run(rec, dictionary, [gp()], [stop], index=ON - timedelta(days=1))
    assert states == ["not-yet"] and lines["Ibuprofen"].status == "current"
    _, states, lines = _run(rec, dictionary, [gp()], [stop], index=ON)
    assert states == ["applied"] and lines["Ibuprofen"].status == "stopped"


def test_m2_stop_stops_only_the_matching_line(rec, dictionary, gp):
    _, _, lines = _run(
        rec, dictionary, [gp()], [amendment(AmendmentKind.STOP, "Ibuprofen 400mg tablets")]
    )
    assert lines["Ibuprofen"].status == "stopped"
    assert [c["kind"] for c in lines["Ibuprofen"].changes] == ["stop"]
    assert lines["Amlodipine"].status == "current" and lines["Amlodipine"].changes == []


def test_m2_dose_change_replaces_the_dose_and_keeps_the_previous_one(rec, dictionary, gp):
    change = amendment(AmendmentKind.DOSE_CHANGE, "Amlodipine 5mg tablets", "2 tablets once a day")
    _, _, lines = _run(rec, dictionary, [gp()], [change])
    line = lines["Amlodipine"]
    assert line.dose_text == "2 tablets once a day" and line.status == "current"
    assert line.changes[0]["previous_dose"] == "1 tablet once a day"
    assert lines["Ibuprofen"].dose_text == "1 tablet three times a day"


def test_m2_start_adds_a_line_whose_only_source_is_the_amendment(rec, dictionary, gp):
    start = amendment(AmendmentKind.START, "Paracetamol 500mg tablets", "2 tablets when required")
    result, states, lines = _run(rec, dictionary, [gp()], [start])
    line = lines["Paracetamol"]
    assert states == ["applied"] and line.status == "current"
    assert list(line.by_source) == [AMENDMENT_LABEL] and line.dose_text == "2 tablets when required"
    assert AMENDMENT_LABEL not in result.sources  # not a source column
    _, _, without = _run(rec, dictionary, [gp()], [])
    assert "Paracetamol" not in without


def test_m2_start_after_a_stop_makes_the_line_current_again(rec, dictionary, gp):
    stop = amendment(AmendmentKind.STOP, "Ibuprofen 400mg tablets")
    restart = amendment(AmendmentKind.START, "Ibuprofen 200mg tablets", "1 tablet when required")
    _, states, lines = _run(rec, dictionary, [gp()], [stop, restart])
    assert states == ["applied", "applied"]
    assert lines["Ibuprofen"].status == "current"
    assert lines["Ibuprofen"].dose_text == "1 tablet when required"


def test_m2_a_start_a_source_already_has_current_leaves_the_source_line(rec, dictionary, gp):
    start = amendment(AmendmentKind.START, "Amlodipine 10mg tablets", "1 tablet once a day")
    result, states, lines = _run(rec, dictionary, [gp()], [start])
    assert states == ["in-sources"] and lines["Amlodipine"].changes == []
    assert len(result.lines) == 3


def test_m3_a_newer_source_entry_supersedes_the_amendment(rec, dictionary, gp):
    stop = amendment(AmendmentKind.STOP, "Ibuprofen 400mg tablets")
    reissued = rec.item(
        "900121", "Ibuprofen 400mg tablets", authored_on=date(2025, 1, 10), last_issued=ON
    )
    later = rec.source("pharmacy", "FA001", reissued)
    _, states, lines = _run(rec, dictionary, [gp(), later], [stop], index=ON + timedelta(days=5))
    assert states == ["applied"]  # issued on the day of the stop: not newer
    assert lines["Ibuprofen"].status == "stopped"
    reissued.last_issued = ON + timedelta(days=3)
    _, states, lines = _run(rec, dictionary, [gp(), later], [stop], index=ON + timedelta(days=5))
    assert states == ["superseded"] and lines["Ibuprofen"].status == "current"


def test_m3_a_later_stop_in_a_source_supersedes_a_start(rec, dictionary, gp):
    start = amendment(AmendmentKind.START, "Paracetamol 500mg tablets")
    stopped = rec.item(
        "900181", "Paracetamol 500mg tablets", status="stopped", end_date=ON + timedelta(days=2)
    )
    index = ON + timedelta(days=5)
    _, states, lines = _run(rec, dictionary, [gp(stopped)], [start], index=index)
    assert states == ["superseded"] and "Paracetamol" not in lines
    stopped.end_date = ON - timedelta(days=2)  # stopped before the start: the start stands
    _, states, lines = _run(rec, dictionary, [gp(stopped)], [start], index=index)
    assert states == ["applied"] and lines["Paracetamol"].status == "current"


def test_matching_is_by_substance_not_strength_or_code_level(rec, dictionary, gp):
    other_strength = amendment(AmendmentKind.STOP, "Ibuprofen 200mg tablets")
    _, _, lines = _run(rec, dictionary, [gp()], [other_strength])
    assert lines["Ibuprofen"].status == "stopped"
    by_code = Amendment(AmendmentKind.STOP, None, "900003", None, ON, "p")  # the VTM's code
    _, _, lines = _run(rec, dictionary, [gp()], [by_code])
    assert lines["Ibuprofen"].status == "stopped"
    other_substance = amendment(AmendmentKind.STOP, "Naproxen 500mg tablets")
    _, states, lines = _run(rec, dictionary, [gp()], [other_substance])
    assert states == ["no-line"] and lines["Ibuprofen"].status == "current"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (amendment(AmendmentKind.STOP, "Naproxen 500mg tablets"), "not on the current list"),
        (amendment(AmendmentKind.DOSE_CHANGE, "Naproxen 500mg tablets", "1 daily"), "not on"),
        (amendment(AmendmentKind.DOSE_CHANGE, "Amlodipine 5mg tablets", " "), "needs the new dose"),
        (
            amendment(AmendmentKind.DOSE_CHANGE, "Amlodipine 5mg tablets", "1 Tablet once a day"),
            "already taken at that dose",
        ),
        (amendment(AmendmentKind.START, "Omeprazole 40mg capsules"), "already on the current"),
    ],
)
def test_check_refuses_a_change_that_does_not_fit_the_list(rec, dictionary, gp, change, words):
    result = rec.run(gp())
    with pytest.raises(AmendmentError, match=words):
        check(change, result, dictionary)


@pytest.mark.parametrize(
    "change",
    [
        amendment(AmendmentKind.STOP, "Ibuprofen 400mg tablets"),
        amendment(AmendmentKind.DOSE_CHANGE, "Amlodipine 5mg tablets", "2 tablets once a day"),
        amendment(AmendmentKind.START, "Paracetamol 500mg tablets"),
    ],
)
def test_check_accepts_a_change_that_fits_the_list(rec, dictionary, gp, change):
    check(change, rec.run(gp()), dictionary)  # no exception
