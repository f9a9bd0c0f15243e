"""Referrals as FHIR R4 ``Task`` + ``ServiceRequest`` (BaRS shape): search, read, and the
receiving pharmacy's Task update (accept, start, complete with outcome, decline).

Every read goes through the referral use cases' gate (:func:`ipmo.referrals.actions.open_referral`
for one, :func:`ipmo.referrals.actions.list_visible` for a search: the parties to a referral and
ICS-wide roles only, each access audited), and every change through the lifecycle functions of
:mod:`ipmo.referrals.state_changes` the REST API and the pages call (receiver only, allowed
transitions, outcome rules, outbox). Versioning: ``ETag: W/"<version>"`` on reads; an update
must name the version it was made against in ``If-Match`` (428 without, 412 when stale: FHIR R4
§3.1.0.5 "Managing Resource Contention").
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from ipmo import hooks
from ipmo.fhir.bundles import NHS_NUMBER_SYSTEM, ODS_SYSTEMS
from ipmo.fhir.capability import PROFILES
from ipmo.fhir.outcome import FhirError
from ipmo.fhir.search import (
    content_etag,
    fhir_response,
    search_controls,
    searchset,
    strict_search,
    version_etag,
    version_from_if_match,
)
from ipmo.patients.identity import InvalidNhsNumber, normalise_nhs_number
from ipmo.referrals import lifecycle as lc
from ipmo.referrals.actions import list_visible, open_referral
from ipmo.referrals.errors import NotInvolved, ReferralConflict, ReferralError, ReferralNotFound
from ipmo.referrals.message_codes import SERVICE_SYSTEM
from ipmo.referrals.models import Referral
from ipmo.referrals.outcome_details import ReferralOutcome
from ipmo.referrals.outcome_messages import outcome_task
from ipmo.referrals.state_changes import accept, record_outcome, reject, start
from ipmo.referrals.trail import patient_stub
from ipmo.security import Activity, Principal
from ipmo.security.access import audit_event
from ipmo.web.deps import Caller, caller, request_body

router = APIRouter(tags=["FHIR"])
VIEW = caller(Activity.REFERRAL_VIEW)
RECEIVE = caller(Activity.REFERRAL_RECEIVE)
OUTCOME_SYSTEM = "urn:ipmo:referral-outcome"
# ServiceRequest.status for each Task.status (the request stays active while the Task is open)
REQUEST_STATUS = {
    **{s.value: "active" for s in lc.OPEN},
    "completed": "completed",
    "cancelled": "revoked",
    "rejected": "revoked",
    "failed": "revoked",
}


def _patient_ref(ref: Referral) -> dict[str, Any]:
    if ref.nhs_number:
        return {
            "reference": f"Patient/{ref.nhs_number}",
            "identifier": {"system": NHS_NUMBER_SYSTEM, "value": ref.nhs_number},
        }
    return {"display": ref.patient_name}  # a referral without an NHS number (BaRS allows it)


def task_resource(ref: Referral) -> dict[str, Any]:
    task = outcome_task(ref)
    task = {
        "resourceType": "Task",
        "id": ref.reference,
        "meta": {"versionId": str(ref.version), "profile": [PROFILES["Task"]]},
        **{k: v for k, v in task.items() if k != "resourceType"},
        "focus": {"reference": f"ServiceRequest/{ref.reference}"},
        "for": _patient_ref(ref),
    }
    if ref.target_org_code:
        task["owner"] = {
            "reference": f"Organization/{ref.target_org_code}",
            "identifier": {"system": ODS_SYSTEMS[0], "value": ref.target_org_code},
        }
    if ref.escalated_to and "statusReason" not in task:
        task["statusReason"] = {"coding": [{"code": ref.escalated_to}]}
    return task


def service_request_resource(ref: Referral) -> dict[str, Any]:
    sr: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": ref.reference,
        "meta": {"versionId": str(ref.version), "profile": [PROFILES["ServiceRequest"]]},
        "identifier": [{"system": "urn:ipmo:referral-reference", "value": ref.reference}],
        "status": REQUEST_STATUS.get(ref.status, "unknown"),
        "intent": "order",
        "code": {"coding": [{"system": SERVICE_SYSTEM, "code": ref.service}]},
        "subject": _patient_ref(ref),
        "authoredOn": task_resource(ref)["authoredOn"],
        "requester": {
            "reference": f"Organization/{ref.sender_org_code}",
            "identifier": {"system": ODS_SYSTEMS[0], "value": ref.sender_org_code},
        },
    }
    if ref.target_org_code:
        sr["performer"] = [{"reference": f"Organization/{ref.target_org_code}"}]
    if ref.summary:
        sr["note"] = [{"text": ref.summary}]
    return sr


def _nhs(value: str | None) -> str | None:
    if not value:
        return None
    text = value.removeprefix("Patient/")
    if "|" in text:
        system, text = text.split("|", 1)
        if system and system != NHS_NUMBER_SYSTEM:
            raise FhirError(
                400, "not-supported", "patients are identified by NHS number", "patient"
            )
    try:
        return normalise_nhs_number(text)
    except InvalidNhsNumber as exc:
        raise FhirError(400, "value", f"patient: {exc}", "patient") from None


def _statuses(value: str | None, allowed: set[str]) -> set[str]:
    chosen = {s for s in (value or "").split(",") if s}
    if chosen - allowed:
        raise FhirError(
            400, "value", f"status {value!r}: one of {', '.join(sorted(allowed))}", "status"
        )
    return chosen


def _visible(c: Caller, patient: str | None, statuses: set[str], key) -> list[Referral]:
    rows = list_visible(c.session, c.principal, nhs_number=_nhs(patient), limit=10_000)
    return [r for r in rows if not statuses or key(r) in statuses]


def _one(session: Session, principal: Principal, reference: str, action: str) -> Referral:
    try:
        return open_referral(session, principal, reference, action)
    except ReferralNotFound as exc:
        raise FhirError(404, "not-found", f"no referral {reference!r}", "id") from exc
    except NotInvolved as exc:  # the refusal is audited (kept: a durable entry)
        raise FhirError(403, "forbidden", str(exc)) from None


class _Search(NamedTuple):
    patient: str | None
    status: str | None


def _search(
    patient: str | None = Query(None),
    status: str | None = Query(None),
    _controls: None = Depends(search_controls),
) -> _Search:
    """The search parameters Task and ServiceRequest share, after the common result controls."""
    return _Search(patient, status)


@router.get("/fhir/R4/Task")
def search_tasks(q: _Search = Depends(_search), c: Caller = VIEW) -> JSONResponse:
    """Referrals your organisation is party to, as Tasks, newest first; with ``patient``, also
    the interventions of their medication reviews (offered by the review domain: ``FHIR_TASKS``)."""
    chosen = _statuses(q.status, {s.value for s in lc.Status})
    rows = _visible(c, q.patient, chosen, lambda r: r.status)
    found = [task_resource(r) for r in rows]
    number = _nhs(q.patient)
    if number:
        for provider in hooks.offered("FHIR_TASKS"):
            found += [
                t
                for t in provider(c.session, c.principal, number)
                if t["status"] in chosen or not chosen
            ]
    return fhir_response(searchset(c.request, found))


@router.get("/fhir/R4/Task/{reference}")
def read_task(
    reference: str, _strict: None = Depends(strict_search), c: Caller = VIEW
) -> JSONResponse:
    for prefix, read in hooks.offered_map("FHIR_TASK_READS").items():
        if reference.startswith(prefix):  # another domain's Task (a review intervention)
            task = read(c.session, c.principal, reference)
            if task is None:
                raise FhirError(404, "not-found", f"no Task {reference!r}", "id")
            return fhir_response(task, headers={"ETag": content_etag(task)})
    ref = _one(c.session, c.principal, reference, "referral.fhir.read")
    return fhir_response(task_resource(ref), headers={"ETag": version_etag(ref.version)})


@router.get("/fhir/R4/ServiceRequest")
def search_service_requests(q: _Search = Depends(_search), c: Caller = VIEW) -> JSONResponse:
    chosen = _statuses(q.status, set(REQUEST_STATUS.values()))
    rows = _visible(c, q.patient, chosen, lambda r: REQUEST_STATUS.get(r.status))
    return fhir_response(searchset(c.request, [service_request_resource(r) for r in rows]))


@router.get("/fhir/R4/ServiceRequest/{reference}")
def read_service_request(
    reference: str, _strict: None = Depends(strict_search), c: Caller = VIEW
) -> JSONResponse:
    ref = _one(c.session, c.principal, reference, "referral.fhir.read")
    return fhir_response(service_request_resource(ref), headers={"ETag": version_etag(ref.version)})


# ---- updates -------------------------------------------------------------------------------


def _code(concept: Any) -> str | None:
    if not isinstance(concept, dict):
        return None
    for coding in concept.get("coding") or []:
        if isinstance(coding, dict) and coding.get("code"):
            return str(coding["code"])
    return concept.get("text") if isinstance(concept.get("text"), str) else None


def _apply(
    session: Session, principal: Principal, ref: Referral, task: dict[str, Any], version: int
) -> None:
    """Move the referral to the Task's status through the lifecycle functions.

    ``completed`` takes the outcome from ``businessStatus`` (supplied, no-supply, advice-given,
    referred-on), the no-supply reason or the referred-on target from ``statusReason``, and the
    note from ``note[0].text``; ``rejected`` (the pharmacy declines) takes its reason from
    ``statusReason``."""
    wanted = task.get("status")
    note = ((task.get("note") or [{}])[0] or {}).get("text")
    reason = _code(task.get("statusReason"))
    if wanted == ref.status:
        return
    if wanted == lc.Status.ACCEPTED:
        accept(session, principal, ref, version)
    elif wanted == lc.Status.IN_PROGRESS:
        start(session, principal, ref, version)
    elif wanted == lc.Status.COMPLETED:
        outcome = _code(task.get("businessStatus"))
        if not outcome:
            raise FhirError(
                422,
                "required",
                "a completed Task needs its businessStatus (the outcome)",
                "Task.businessStatus",
            )
        referred_on = outcome == lc.Outcome.REFERRED_ON
        recorded = ReferralOutcome(
            outcome,
            None if referred_on else reason,
            note,
            reason if referred_on else None,
        )
        record_outcome(session, principal, ref, recorded, version)
    elif wanted == lc.Status.REJECTED:
        if not reason:
            raise FhirError(422, "required", "declining needs a statusReason", "Task.statusReason")
        reject(session, principal, ref, reason, version)
    else:
        raise FhirError(
            422,
            "business-rule",
            f"Task.status cannot be set to {wanted!r} here (accepted, in-progress, completed or "
            "rejected)",
            "Task.status",
        )


def _checked(ref: Referral, reference: str, if_match: str | None, make_task) -> tuple[dict, int]:
    """The Task wanted and the version it was made against, or the refusal (nothing changed)."""
    version = version_from_if_match(if_match)
    if version is None:
        raise FhirError(428, "required", 'If-Match: W/"<version>" is required', "If-Match")
    if version != ref.version:
        raise FhirError(
            412,
            "conflict",
            f"Task/{reference} is at version {ref.version}, not {version}: read it again",
            "If-Match",
        )
    task = make_task(task_resource(ref))
    _validate(task)
    if task.get("id") not in (None, reference):
        raise FhirError(400, "invalid", "Task.id does not match the URL", "Task.id")
    return task, version


def _update(
    session: Session,
    principal: Principal,
    reference: str,
    if_match: str | None,
    make_task,
) -> JSONResponse:
    ref = _one(session, principal, reference, "referral.fhir.update")
    try:
        task, version = _checked(ref, reference, if_match, make_task)
    except FhirError:
        session.commit()  # nothing changed; the audited access stays on the record
        raise
    try:
        _apply(session, principal, ref, task, version)
    except FhirError:  # refused before any change
        session.commit()
        raise
    except ReferralError as exc:
        raise FhirError(422, "business-rule", str(exc), "Task.businessStatus") from None
    except ReferralConflict as exc:
        raise FhirError(409, "conflict", str(exc), "Task.status") from None
    except NotInvolved as exc:
        # the service's receiver rule said no: nothing it did stays, the refusal is audited
        session.rollback()
        audit_event(
            session,
            principal,
            "referral.fhir.update",
            patient_stub(ref),
            {"referral": reference},
            outcome="refused",
            reason="not-receiver",
        )
        session.commit()
        raise FhirError(403, "forbidden", str(exc)) from None
    session.commit()
    body = task_resource(ref)
    return fhir_response(body, headers={"ETag": version_etag(ref.version)})


def _validate(task: Any) -> None:
    from fhir.resources.R4B.task import Task

    if not isinstance(task, dict) or task.get("resourceType") != "Task":
        raise FhirError(400, "invalid", "the body must be a Task resource", "Task")
    try:
        Task.model_validate(task)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "Task." + ".".join(str(p) for p in first["loc"])
        raise FhirError(400, "invalid", f"{where}: {first['msg']}", where) from None


def _json_body(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise FhirError(400, "invalid", "the body is not JSON") from None


class _Sent(NamedTuple):
    raw: bytes
    if_match: str | None


def _sent(
    raw: bytes = Depends(request_body),
    if_match: str | None = Header(None),
    _strict: None = Depends(strict_search),
) -> _Sent:
    """What a Task update (PUT or PATCH) sends: its body (read on the loop; parsed by the
    handler, after the caller is authorised) and the If-Match version."""
    return _Sent(raw, if_match)


@router.put("/fhir/R4/Task/{reference}")
def update_task(reference: str, sent: _Sent = Depends(_sent), c: Caller = RECEIVE) -> JSONResponse:
    """The receiving pharmacy's Task update: ``status`` accepted / in-progress / completed (with
    ``businessStatus``) / rejected; other elements are ours and are not changed by a PUT."""
    body = _json_body(sent.raw)
    return _update(c.session, c.principal, reference, sent.if_match, lambda _current: body)


@router.patch("/fhir/R4/Task/{reference}")
def patch_task(reference: str, sent: _Sent = Depends(_sent), c: Caller = RECEIVE) -> JSONResponse:
    """JSON Patch (RFC 6902, ``application/json-patch+json``): ``add`` / ``replace`` / ``remove``
    of the top-level elements ``/status``, ``/businessStatus``, ``/statusReason``, ``/note``."""
    ops = _json_body(sent.raw)
    if not isinstance(ops, list):
        raise FhirError(400, "invalid", "a JSON Patch is a list of operations", "Patch")

    def patched(current: dict[str, Any]) -> dict[str, Any]:
        task = dict(current)
        for i, op in enumerate(ops):
            where = f"Patch[{i}]"
            if not isinstance(op, dict) or op.get("op") not in ("add", "replace", "remove"):
                raise FhirError(400, "not-supported", f"{where}: add, replace or remove", where)
            path = op.get("path")
            name = path[1:] if isinstance(path, str) else None
            if name not in ("status", "businessStatus", "statusReason", "note"):
                raise FhirError(
                    400, "not-supported", f"{where}: path {path!r} cannot be patched", where
                )
            if op["op"] == "remove":
                task.pop(name, None)
            elif "value" not in op:
                raise FhirError(400, "required", f"{where}: value is required", where)
            else:
                task[name] = op["value"]
        return task

    return _update(c.session, c.principal, reference, sent.if_match, patched)
