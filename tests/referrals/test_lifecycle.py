"""Task status transitions and outcome rules (pure)."""

from __future__ import annotations

import pytest

from ipmo.referrals.lifecycle import (
    Action,
    OutcomeError,
    Status,
    TransitionNotAllowed,
    check_outcome,
    next_status,
)


@pytest.mark.parametrize(
    "current, action, expected",
    [
        ("requested", Action.RECEIVE, Status.RECEIVED),
        ("requested", Action.ACCEPT, Status.ACCEPTED),
        ("received", Action.ACCEPT, Status.ACCEPTED),
        ("accepted", Action.START, Status.IN_PROGRESS),
        ("in-progress", Action.COMPLETE, Status.COMPLETED),
        ("accepted", Action.COMPLETE, Status.COMPLETED),
        ("received", Action.REROUTE, Status.REQUESTED),
        ("in-progress", Action.CANCEL, Status.CANCELLED),
        ("requested", Action.FAIL, Status.FAILED),
    ],
)
def test_allowed_transitions(current, action, expected):
    assert next_status(current, action) is expected


@pytest.mark.parametrize(
    "current, action",
    [
        ("accepted", Action.ACCEPT),
        ("completed", Action.CANCEL),
        ("requested", Action.COMPLETE),
        ("in-progress", Action.REROUTE),
        ("cancelled", Action.ACCEPT),
        ("failed", Action.START),
    ],
)
def test_refused_transitions(current, action):
    with pytest.raises(TransitionNotAllowed, match=f"cannot {action.value}"):
        next_status(current, action)


def test_no_supply_needs_a_reason_and_referred_on_needs_a_target():
    with pytest.raises(ValueError, match="no supply needs a reason"):
        check_outcome("no-supply", None, None)
    assert check_outcome("no-supply", "out-of-stock", None)[1] == "out-of-stock"
    with pytest.raises(ValueError, match="referred on needs where to"):
        check_outcome("referred-on", None, "the moon")
    assert check_outcome("referred-on", None, "gp")[2].value == "gp"
    with pytest.raises(ValueError, match="unknown outcome"):
        check_outcome("returned-to-referrer", None, None)  # system-only outcome


def test_spec_outcome_consistent_with_reason():
    """Issue 14: a supplied outcome with a no-supply reason (or a target with an outcome that is
    not "referred on") contradicts itself and is refused, naming the field at fault."""
    with pytest.raises(OutcomeError, match="only with the outcome 'No supply'") as info:
        check_outcome("supplied", "out-of-stock", None)
    assert info.value.field == "reason"
    with pytest.raises(OutcomeError, match="only with the outcome 'Referred on'") as info:
        check_outcome("advice-given", None, "gp")
    assert info.value.field == "escalate_to"
    with pytest.raises(OutcomeError, match="^Select the outcome$"):
        check_outcome("", None, None)
    assert check_outcome("supplied", None, None)[1] is None
    assert check_outcome("supplied", "", "")[2] is None
