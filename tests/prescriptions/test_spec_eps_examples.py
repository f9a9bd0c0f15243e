"""Every example in ``../shared/fhir/eps`` is read or refused with a reason.

Messages and status updates are sent through the ingest (in name order, into one store); the
tracker's answers and Spine records are the acceptance data of ``test_spec_tracker.py`` and
``test_spec_status_truth_table.py``; API descriptions and error answers are not messages. Each
file has its expected handling here, and the test fails for a file the table does not know.
"""

from __future__ import annotations

import json

from ipmo.prescriptions import MessageRefused, ingest_message
from ipmo.store import session_scope

MISSING_ENDORSEMENT = "Claim-Request-400_Missing_Endorsement_Code.json"
REUSED_ID = "same message id"  # the NHS examples reuse message id 46183abc… for other content

# status_update_api/examples: read, or refused with the reason
PSU = {
    "request-collected.json": "pending",
    "request-dispatched.json": "pending",
    # the same (Task id, prescription) as request-dispatched with other content
    "request-erd-dispatched.json": "same message id",
    "request-duplicate-items.json": "pending",
    "request-multiple-items.json": "pending",
    # 24F5DA-A83008-7EFE6Z is among the messages, but for another patient
    "request-ready-to-collect.json": "for another patient",
    "request-ready-to-dispatch-partial.json": "pending",
    "request-ready-to-dispatch.json": "pending",
    "request-missing-fields.json": "the Task has no id",  # nor owner, and status "3"
    "request-multiple-missing-fields.json": "the Task has no id",
    "request-no-items.json": "with no Task",
    "format-1-request-multiple-items.json": "not an EPS message",  # the older non-FHIR format
    # answers, not requests: an OperationOutcome, transaction-responses, a check response
    "error-ods-code.json": "not an EPS message",
    "error-invalid-prescriptionid.json": "Bundle.type must be",
    "response-multiple-items.json": "Bundle.type must be",
    "response-single-item.json": "Bundle.type must be",
    "response-checkprescriptionstatusupdates.json": "not an EPS message",
}


def _send(engine, data):
    try:
        with session_scope(engine) as s:
            return ingest_message(s, data).outcome
    except MessageRefused as exc:
        return f"refused: {exc.diagnostics}"


def test_spec_every_eps_example_is_read_or_refused_with_a_reason(engine, shared_dir):
    root = shared_dir / "fhir" / "eps"
    outcomes: dict[str, str] = {}
    for path in sorted((root / "messages").glob("*.json")):
        outcomes[f"messages/{path.name}"] = _send(engine, path.read_bytes())
    for path in sorted((root / "status_update_api" / "examples").glob("*.json")):
        outcomes[f"psu/{path.name}"] = _send(engine, path.read_bytes())
    # messages: read, except the claim without endorsements and the reused message ids
    refused = {k: v for k, v in outcomes.items() if k.startswith("messages/") and "refused" in v}
    assert len(outcomes) - len(PSU) == 31 and len(refused) == 6
    assert [k for k in refused if MISSING_ENDORSEMENT in k] == [
        "messages/primary-care_acute_nominated-pharmacy_medical-prescriber_2-" + MISSING_ENDORSEMENT
    ]
    assert "no endorsement code" in refused[next(k for k in refused if MISSING_ENDORSEMENT in k)]
    assert sum(REUSED_ID in v for v in refused.values()) == 5
    for name, expected in PSU.items():
        got = outcomes[f"psu/{name}"]
        assert got == expected or (got.startswith("refused") and expected in got), (name, got)
    assert {k.removeprefix("psu/") for k in outcomes if k.startswith("psu/")} == set(PSU)
    # everything else under fhir/eps is acceptance data or a specification, each accounted for
    others = sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and not str(p.relative_to(root)).startswith(("messages/", "status_update"))
    )
    clinical = [o for o in others if o.startswith("tracker_api/examples/clinicalView/")]
    search = [o for o in others if o.startswith("tracker_api/examples/prescriptionSearch/")]
    errors = [o for o in others if o.startswith("tracker_api/examples/errors/")]
    spine = [o for o in others if o.startswith("tracker_api/spine_responses/")]
    assert (len(clinical), len(search), len(errors), len(spine)) == (15, 4, 6, 36)
    assert set(others) - set(clinical + search + errors + spine) == {
        "SOURCE.md",  # where the examples come from
        "tracker_api/eps-clinical-prescription-tracker-api.yaml",
    }
    for path in errors:  # the tracker's error answers are OperationOutcomes, as ours are
        assert json.loads((root / path).read_text())["resourceType"] == "OperationOutcome"
