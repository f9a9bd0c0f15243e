"""The referral lifecycle in FHIR ``Task`` terms (pure: no database).

Task.status values (FHIR R4 TaskStatus): requested → received → accepted → in-progress →
completed, or rejected / cancelled / failed. The business outcome goes in Task.businessStatus
(issue 5: supplied, no supply with a reason, advice given, referred on / escalated).
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    REQUESTED = "requested"
    RECEIVED = "received"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    FAILED = "failed"


OPEN = frozenset({Status.REQUESTED, Status.RECEIVED, Status.ACCEPTED, Status.IN_PROGRESS})
AWAITING_ACCEPT = frozenset({Status.REQUESTED, Status.RECEIVED})
CLOSED = frozenset(Status) - OPEN


class Outcome(StrEnum):
    """Task.businessStatus once the pharmacy has seen the patient."""

    SUPPLIED = "supplied"
    NO_SUPPLY = "no-supply"
    ADVICE_GIVEN = "advice-given"
    REFERRED_ON = "referred-on"
    # set by the system, not chosen by a pharmacist
    RETURNED = "returned-to-referrer"  # nobody accepted in time and nowhere else to go
    CANCELLED = "cancelled-by-referrer"


CHOSEN_OUTCOMES = (Outcome.SUPPLIED, Outcome.NO_SUPPLY, Outcome.ADVICE_GIVEN, Outcome.REFERRED_ON)


class NoSupplyReason(StrEnum):
    """Why no medicine was supplied (after the NUMSAS / CPCS urgent-supply outcome categories;
    paraphrased, *unverified* against the current Pharmacy First data set). The ONE no-supply
    vocabulary: referral outcomes and Pharmacy First consultations (and their items) use it."""

    NOT_CLINICALLY_APPROPRIATE = "not-clinically-appropriate"
    OUT_OF_STOCK = "out-of-stock"
    PRESCRIPTION_AVAILABLE = "prescription-available"
    PATIENT_DID_NOT_ATTEND = "patient-did-not-attend"
    PATIENT_DECLINED = "patient-declined"
    # urgent supply may not include Schedule 1-3 controlled drugs (HMR 2012 reg. 225); the code
    # keeps its first name so stored outcomes still read
    CONTROLLED_DRUG = "schedule-2-3-controlled-drug"
    # Pharmacy First clinical pathway: the patient did not meet the pathway's gateway criteria
    GATEWAY_NOT_MET = "gateway-not-met"
    OTHER = "other"


class EscalateTo(StrEnum):
    GP = "gp"
    NHS111 = "nhs111"
    URGENT_CARE = "urgent-care"


class Action(StrEnum):
    RECEIVE = "receive"
    ACCEPT = "accept"
    START = "start"
    COMPLETE = "complete"
    REJECT = "reject"
    REROUTE = "reroute"
    CANCEL = "cancel"
    FAIL = "fail"


TRANSITIONS: dict[Action, tuple[frozenset[Status], Status]] = {
    Action.RECEIVE: (frozenset({Status.REQUESTED}), Status.RECEIVED),
    Action.ACCEPT: (AWAITING_ACCEPT, Status.ACCEPTED),
    Action.START: (frozenset({Status.ACCEPTED}), Status.IN_PROGRESS),
    Action.COMPLETE: (frozenset({Status.ACCEPTED, Status.IN_PROGRESS}), Status.COMPLETED),
    Action.REJECT: (AWAITING_ACCEPT, Status.REJECTED),
    Action.REROUTE: (AWAITING_ACCEPT, Status.REQUESTED),
    Action.CANCEL: (OPEN, Status.CANCELLED),
    Action.FAIL: (AWAITING_ACCEPT, Status.FAILED),
}


class TransitionNotAllowed(ValueError):
    """The referral is not in a state where that can happen (HTTP 409)."""


def next_status(current: str, action: Action) -> Status:
    allowed, target = TRANSITIONS[action]
    if current not in allowed:
        raise TransitionNotAllowed(f"cannot {action.value} a referral that is {current}")
    return target


class OutcomeError(ValueError):
    """An outcome that is incomplete or contradicts itself; ``field`` is the form field at
    fault (the page links its error summary to it)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def check_outcome(
    outcome: str, reason: str | None, escalate_to: str | None
) -> tuple[Outcome, str | None, EscalateTo | None]:
    """Validate a pharmacist's outcome: no supply needs a reason and only no supply has one;
    referred on needs where to and only referred on has it (issue 14: "Supplied" with a
    no-supply reason was accepted; the record would say both)."""
    try:
        chosen = Outcome(outcome)
    except ValueError:
        chosen = None
    if chosen not in CHOSEN_OUTCOMES:
        known = ", ".join(o.value for o in CHOSEN_OUTCOMES)
        if not outcome:
            raise OutcomeError("Select the outcome", "outcome")
        raise OutcomeError(
            f"Select the outcome (unknown outcome {outcome!r}; use {known})", "outcome"
        )
    target = None
    if chosen is Outcome.NO_SUPPLY:
        try:
            reason = NoSupplyReason(reason or "").value
        except ValueError:
            raise OutcomeError(
                "Select why nothing was supplied (no supply needs a reason)", "reason"
            ) from None
    elif reason:
        raise OutcomeError(
            "A reason for no supply goes only with the outcome 'No supply': clear the reason or "
            "choose 'No supply'",
            "reason",
        )
    if chosen is Outcome.REFERRED_ON:
        try:
            target = EscalateTo(escalate_to or "")
        except ValueError:
            raise OutcomeError(
                "Select where the patient was referred on to (referred on needs where to)",
                "escalate_to",
            ) from None
    elif escalate_to:
        raise OutcomeError(
            "Where the patient was referred on to goes only with the outcome 'Referred on': "
            "clear it or choose 'Referred on'",
            "escalate_to",
        )
    return chosen, reason, target
