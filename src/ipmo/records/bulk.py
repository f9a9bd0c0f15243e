"""FHIR Bulk Data export (``$export``) of the ICS's medication lines for the analytics zone:
pseudonymised and disclosure-controlled, never identifiable.

Protocol: HL7 FHIR Bulk Data Access IG v2.0.0 (https://hl7.org/fhir/uv/bulkdata/export.html):
an async kick-off (``Prefer: respond-async`` → 202 + ``Content-Location``), a status URL polled
(202 with ``X-Progress`` while running, 200 with the manifest when done, DELETE to cancel), and
one NDJSON file per resource type. Jobs live in the data folder (``exports/<job id>/``: the job
file, the NDJSON files, the manifest), so any server process can answer a poll; the work runs on
a background thread of the process that took the kick-off.

What leaves (the analytics zone's rule, ARCHITECTURE.md: "pseudonymised, aggregated"; NHS
England's pseudonymisation guidance, https://digital.nhs.uk/services/pseudonymisation):

* ``Patient``: a keyed pseudonym (HMAC-SHA-256 of the NHS number with a key derived from the
  server's secret: stable across exports for linkage, not reversible without the key), sex, and
  the registered practice's ODS code. No NHS number, name, birth date, address, date of death.
* ``MedicationRequest`` / ``MedicationDispense``: the pseudonym, the dm+d (or SNOMED) code only
  (the source's free-text name, dose text and reasons can carry anything, so never), the status,
  the course of therapy, and the month of the date (no day).
* Disclosure control (:mod:`ipmo.disclosure`, OpenSAFELY's small-number rule): a medicine held by
  :data:`~ipmo.disclosure.SUPPRESSION_THRESHOLD` or fewer patients ICS-wide is withheld (a rare
  medicine can single a person out), and so is a practice with that few patients exported; a
  line without a code is withheld. What was withheld is counted in the manifest's ``error``
  file (an OperationOutcome), never silently.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import shutil
import threading
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from ipmo.disclosure import SUPPRESSION_THRESHOLD
from ipmo.fhir.capability import PROFILES
from ipmo.patients.models import Patient
from ipmo.records.models import SourceItem, SourceList
from ipmo.records.source_lines import (
    COURSE,
    COURSE_SYSTEM,
    DISPENSE_STATUS,
    REQUEST_STATUS,
    is_dispense,
)
from ipmo.store import session_scope

log = logging.getLogger(__name__)

EXPORT_TYPES = ("Patient", "MedicationRequest", "MedicationDispense")
OUTPUT_FORMATS = ("application/fhir+ndjson", "application/ndjson", "ndjson")
PSEUDED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "PSEUDED",
    "display": "pseudonymized",
}
DMD = "https://dmd.nhs.uk"
NOT_USED = "not-used"  # records.service: a line kept only to say why it is not used


class ExportNotFound(LookupError):
    """No such job (never started, cancelled, or another user's: the same answer)."""


class ExportRunning(RuntimeError):
    """The user already has an export running (one at a time: the IG's 429)."""


KEEP_FOR = timedelta(days=1)  # a job's files are deleted a day after it started (``Expires``)


@dataclass(frozen=True)
class ExportRequest:
    types: tuple[str, ...]
    since: datetime | None
    request_url: str


def pseudonym(key: bytes, nhs_number: str) -> str:
    """A stable, keyed pseudonym for a patient (64 hex characters: a valid FHIR id)."""
    return hmac.new(key, nhs_number.encode(), hashlib.sha256).hexdigest()


def pseudonym_key(secret_key: str) -> bytes:
    """The export's own key, derived from the server secret (a separate purpose, a separate
    key: a leaked pseudonym key gives nothing that signs sessions)."""
    return hmac.new(secret_key.encode(), b"ipmo bulk export pseudonyms v1", "sha256").digest()


# ---- jobs on disk --------------------------------------------------------------------------


def _jobs(data_dir: Path) -> Path:
    return data_dir / "exports"


def job_dir(data_dir: Path, job_id: str, owner: str) -> Path:
    """The folder of an existing job of ``owner`` (another user's job is not found)."""
    try:
        uuid.UUID(job_id)
    except ValueError:
        raise ExportNotFound(job_id) from None
    folder = _jobs(data_dir) / job_id
    try:
        job = json.loads((folder / "job.json").read_text())
    except (OSError, ValueError):
        raise ExportNotFound(job_id) from None
    if job.get("owner") != owner:
        raise ExportNotFound(job_id)
    return folder


def prune(data_dir: Path, now: datetime | None = None) -> int:
    """Delete the jobs started more than :data:`KEEP_FOR` ago; how many were deleted."""
    limit = (now or datetime.now(UTC)).timestamp() - KEEP_FOR.total_seconds()
    gone = 0
    root = _jobs(data_dir)
    for folder in root.iterdir() if root.exists() else ():
        job = folder / "job.json"
        if job.exists() and job.stat().st_mtime < limit:
            shutil.rmtree(folder, ignore_errors=True)
            gone += 1
    return gone


def _running(data_dir: Path, owner: str) -> bool:
    root = _jobs(data_dir)
    for folder in root.iterdir() if root.exists() else ():
        try:
            job = json.loads((folder / "job.json").read_text())
        except (OSError, ValueError):
            continue
        if job.get("owner") == owner and status(folder)["state"] == "running":
            return True
    return False


def create_job(data_dir: Path, owner: str, request: ExportRequest) -> tuple[str, Path]:
    """A new job folder (old jobs pruned first); :class:`ExportRunning` if ``owner`` has one
    running."""
    prune(data_dir)
    if _running(data_dir, owner):
        raise ExportRunning(owner)
    job_id = str(uuid.uuid4())
    folder = _jobs(data_dir) / job_id
    folder.mkdir(parents=True)
    _publish(
        folder / "job.json",
        json.dumps({"owner": owner, "request": request.request_url, "types": request.types}),
    )
    return job_id, folder


def _publish(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all: another process polling the job reads the files as
    they appear, and found a manifest that existed but was still empty (a 500 on the status
    poll; seen once in CI)."""
    part = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.part")
    part.write_text(text)
    os.replace(part, path)


def status(folder: Path) -> dict[str, Any]:
    """``{"state": "running"|"done"|"failed", ...}`` of a job folder."""
    if (folder / "manifest.json").exists():
        return {"state": "done", "manifest": json.loads((folder / "manifest.json").read_text())}
    if (folder / "failed.json").exists():
        return {"state": "failed", **json.loads((folder / "failed.json").read_text())}
    progress = folder / "progress.txt"
    return {"state": "running", "progress": progress.read_text() if progress.exists() else ""}


def cancel(folder: Path) -> None:
    """Stop the job (its thread sees the folder gone) and delete everything it wrote."""
    shutil.rmtree(folder, ignore_errors=True)


def output_file(folder: Path, name: str) -> Path:
    """One NDJSON file of a finished job (names are the job's own: no path from the client)."""
    manifest = status(folder).get("manifest")
    names = {
        Path(o["url"]).name
        for o in (manifest or {}).get("output", []) + [*(manifest or {}).get("error", [])]
    }
    if name not in names:
        raise ExportNotFound(name)
    return folder / name


# ---- the export itself ---------------------------------------------------------------------


class _Cancelled(Exception):
    pass


def run_export(
    engine: Engine,
    folder: Path,
    request: ExportRequest,
    key: bytes,
    base_url: str,
    now: datetime | None = None,
) -> dict[str, Any] | None:
    """Write the NDJSON files and the manifest (``None`` if the job was cancelled meanwhile)."""
    started = (now or datetime.now(UTC)).replace(microsecond=0)
    try:
        manifest = _export(engine, folder, request, key, base_url, started)
    except _Cancelled:
        return None
    except Exception as exc:  # the client polls for it: a failed job says so, not a hang
        log.exception("bulk export failed")
        if folder.exists():
            _publish(folder / "failed.json", json.dumps({"error": type(exc).__name__}))
        return None
    if not folder.exists():
        return None
    _publish(folder / "manifest.json", json.dumps(manifest))
    return manifest


def start_in_background(
    engine: Engine, folder: Path, request: ExportRequest, key: bytes, base_url: str
) -> threading.Thread:
    thread = threading.Thread(
        target=run_export,
        args=(engine, folder, request, key, base_url),
        name=f"bulk-export-{folder.name[:8]}",
        daemon=True,
    )
    thread.start()
    return thread


def _export(
    engine: Engine,
    folder: Path,
    request: ExportRequest,
    key: bytes,
    base_url: str,
    started: datetime,
) -> dict[str, Any]:
    withheld: Counter[str] = Counter()
    with session_scope(engine) as session:
        patients = session.execute(
            select(Patient.id, Patient.nhs_number, Patient.sex, Patient.practice_code)
        ).all()
        ids = {p.id: pseudonym(key, p.nhs_number) for p in patients}
        per_practice = Counter(p.practice_code for p in patients if p.practice_code)
        _progress(folder, "patients pseudonymised")
        query = (
            select(
                SourceList.patient_id,
                SourceList.source_kind,
                SourceItem.id,
                SourceItem.dmd_code,
                SourceItem.code_system,
                SourceItem.status,
                SourceItem.category,
                SourceItem.authored_on,
                SourceItem.last_issued,
                SourceItem.resource_type,
            )
            .join(SourceItem, SourceItem.source_list_id == SourceList.id)
            .where(SourceItem.status != NOT_USED)
            .order_by(SourceItem.id)
        )
        if request.since is not None:  # _since: lines of sources received since then
            query = query.where(SourceList.received_at >= request.since)
        lines = session.execute(query).all()
    holders: dict[str, set[int]] = defaultdict(set)
    for line in lines:
        if line.dmd_code:
            holders[line.dmd_code].add(line.patient_id)
    rare = {code for code, who in holders.items() if len(who) <= SUPPRESSION_THRESHOLD}
    outputs: list[dict[str, Any]] = []

    def write(rtype: str, resources: Iterator[dict[str, Any]]) -> None:
        if rtype not in request.types:
            return
        if not folder.exists():
            raise _Cancelled
        name = f"{rtype}.ndjson"
        count = 0
        with (folder / name).open("w", encoding="utf-8") as out:
            for res in resources:
                out.write(json.dumps(res, separators=(",", ":")))
                out.write("\n")
                count += 1
        if count:  # the IG: no file for a type with nothing to export
            outputs.append({"type": rtype, "url": f"{base_url}/{name}", "count": count})
        else:
            (folder / name).unlink()
        _progress(folder, f"{rtype} written")

    def patient_resources() -> Iterator[dict[str, Any]]:
        for p in patients:
            res: dict[str, Any] = {
                "resourceType": "Patient",
                "id": ids[p.id],
                "meta": {"profile": [PROFILES["Patient"]], "security": [PSEUDED]},
                "gender": p.sex if p.sex in ("male", "female", "other") else "unknown",
            }
            if p.practice_code and per_practice[p.practice_code] > SUPPRESSION_THRESHOLD:
                res["generalPractitioner"] = [
                    {
                        "identifier": {
                            "system": "https://fhir.nhs.uk/Id/ods-organization-code",
                            "value": p.practice_code,
                        }
                    }
                ]
            elif p.practice_code:
                withheld["practice of a patient (a practice with few patients)"] += 1
            yield res

    def line_resources(rtype: str) -> Iterator[dict[str, Any]]:
        dispense = rtype == "MedicationDispense"
        for line in lines:
            if is_dispense(line.source_kind, line.resource_type) != dispense:
                continue
            if not line.dmd_code:
                withheld[f"{rtype} without a code (free text only)"] += 1
                continue
            if line.dmd_code in rare:
                withheld[f"{rtype} of a medicine held by few patients"] += 1
                continue
            yield _line(rtype, line, ids[line.patient_id])

    write("Patient", patient_resources())
    write("MedicationRequest", line_resources("MedicationRequest"))
    write("MedicationDispense", line_resources("MedicationDispense"))
    errors = []
    if withheld:
        outcome = {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "information",
                    "code": "suppressed",
                    "diagnostics": f"{what}: {n} withheld by disclosure control "
                    f"(threshold {SUPPRESSION_THRESHOLD} patients)",
                }
                for what, n in sorted(withheld.items())
            ],
        }
        (folder / "OperationOutcome.ndjson").write_text(json.dumps(outcome) + "\n")
        errors.append({"type": "OperationOutcome", "url": f"{base_url}/OperationOutcome.ndjson"})
    return {
        "transactionTime": started.isoformat().replace("+00:00", "Z"),
        "request": request.request_url,
        "requiresAccessToken": True,
        "output": outputs,
        "error": errors,
    }


def _month(day: date | None) -> str | None:
    return day.strftime("%Y-%m") if day else None


def _line(rtype: str, line: Any, subject: str) -> dict[str, Any]:
    system = line.code_system if line.code_system and ":" in line.code_system else DMD
    res: dict[str, Any] = {
        "resourceType": rtype,
        "id": f"{'d' if rtype == 'MedicationDispense' else 'r'}{line.id}",
        "meta": {"profile": [PROFILES[rtype]], "security": [PSEUDED]},
    }
    medication = {"coding": [{"system": system, "code": line.dmd_code}]}
    if rtype == "MedicationRequest":
        res["status"] = REQUEST_STATUS.get(line.status, "unknown")
        res["intent"] = "order"
        res["medicationCodeableConcept"] = medication
        res["subject"] = {"reference": f"Patient/{subject}"}
        if line.category in COURSE:
            res["courseOfTherapyType"] = {
                "coding": [{"system": COURSE_SYSTEM, "code": COURSE[line.category]}]
            }
        if month := _month(line.authored_on):
            res["authoredOn"] = month
    else:
        res["status"] = DISPENSE_STATUS.get(line.status, "unknown")
        res["medicationCodeableConcept"] = medication
        res["subject"] = {"reference": f"Patient/{subject}"}
        if month := _month(line.last_issued or line.authored_on):
            res["whenHandedOver"] = month
    return res


def _progress(folder: Path, text: str) -> None:
    if not folder.exists():
        raise _Cancelled
    _publish(folder / "progress.txt", text)
