"""The internal shape every source is mapped to before normalisation and reconciliation.

One ``MedItem`` is one medication *line* in one source (a GP Connect MedicationStatement with
its authorisation and issues, a hospital MedicationRequest, a pharmacy dispense, a CSV row),
carrying its provenance so that any reconciled line can say where it came from (issue 4,
"Each item keeps its provenance"). Plain slotted dataclasses: reconciliation of 100k patients
must not pay for validation on every attribute access.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any


@dataclass(slots=True)
class MedItem:
    name: str
    status: str = "active"  # active|stopped|completed|on-hold|intended|entered-in-error|unknown
    code: str | None = None
    code_system: str | None = None
    # filled by normalise(): dm+d levels, names and the mapping method
    vmp: str | None = None
    vmp_name: str | None = None
    vtm: str | None = None
    vtm_name: str | None = None
    mapping: str = "unmapped"  # vmp|amp|vtm|name|name-vtm|unmapped
    form: str | None = None
    strength: str | None = None
    bnf_code: str | None = None
    dose_text: str | None = None
    dosage: list[dict[str, Any]] | None = None
    route: str | None = None
    category: str | None = None  # acute|repeat|repeat-dispensing|inpatient|discharge|...
    authored_on: date | None = None  # authorised / started / issued (FCI "authorised date")
    last_issued: date | None = None
    end_date: date | None = None
    prescriber_type: str | None = None  # e.g. prescribed-at-gp-practice | prescribed-elsewhere
    resource_type: str | None = None
    resource_id: str | None = None
    resource_version: str | None = None
    status_reason: str | None = None
    # which element of the message dated the line (authoredOn, dispenseRequest.validityPeriod.
    # start, Provenance.recorded, Bundle.timestamp, whenHandedOver, …): shown with the line
    date_source: str | None = None
    # dispenses: days the supply lasts and what that figure came from (records.current D1)
    supply_days: float | None = None
    supply_basis: str | None = None
    # set by reconcile(): the records.current clause that made the line current or not
    clause: str | None = None
    # derived by normalise() for fast comparison (not provenance; never stored as truth)
    strength_key: tuple | None = None
    therapeutic_class: str | None = None
    dose_amount: str | None = None  # "2 tablet", "1-2 tablet"
    per_day: float | None = None  # administrations per day (regular doses)
    daily_total: tuple[float, str] | None = None  # base-unit amount per day, e.g. (40.0, "mg")
    as_needed: bool = False
    key: str = ""  # match key (normalise.match_key), filled by normalise()
    signature: tuple | None = None  # everything _compare looks at; equal ⇒ nothing to report

    def why(self) -> str:
        """The clause that made this line current or not, in words (set by reconcile())."""
        from ipmo.records.current import explain  # current.py imports this module

        return explain(self, self.clause) if self.clause else "not yet decided"

    def to_json(self) -> dict[str, Any]:
        # a shallow dict of the shown fields: dataclasses.asdict deep-copied every line and its
        # dosage, a sixth of a record read (issue 20's load profile); the answer is serialised
        # at once, so sharing the dosage's dicts is safe
        data = {name: getattr(self, name) for name in _SHOWN}
        for key in ("authored_on", "last_issued", "end_date"):
            if data[key] is not None:
                data[key] = data[key].isoformat()
        return data


# what to_json shows: every field but the ones normalise() and reconcile() work with
_HIDDEN = ("strength_key", "daily_total", "per_day", "dose_amount", "as_needed", "key", "signature")
_SHOWN = tuple(f.name for f in fields(MedItem) if f.name not in _HIDDEN)


@dataclass(slots=True)
class NotUsed:
    """A medication line of a source that is not used in the list, with the reason (issue 13:
    nothing is dropped silently)."""

    reason: str
    resource: str | None = None  # e.g. "MedicationRequest/abc"
    name: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"resource": self.resource, "name": self.name, "reason": self.reason}


@dataclass(slots=True)
class SourceDocument:
    """One system's list for one patient, as read by an adapter."""

    source_kind: str  # gp|pharmacy|hospital|specialist
    source_org_code: str
    source_system: str
    items: list[MedItem] = field(default_factory=list)
    nhs_number: str | None = None
    patient_ref: str | None = None
    fhir_version: str | None = None  # R4 | STU3 | None for CSV
    resource_id: str | None = None
    resource_version: str | None = None
    as_of: date | None = None
    warnings: list[str] = field(default_factory=list)
    content_hash: str = ""
    not_used: list[NotUsed] = field(default_factory=list)
    # why the source is of its kind: "stated by the caller", or what in the content said so
    kind_reason: str | None = None
    # medication resources (or CSV rows) the payload held; more than lines + not used when some
    # were folded into one line (issues of an authorisation, repeat instances, partial dispenses)
    resources_read: int = 0

    @property
    def label(self) -> str:
        return f"{self.source_kind}:{self.source_org_code}"


def content_hash(payload: Any) -> str:
    """Stable hash of what a source said (idempotent ingest: same content → no change)."""
    blob = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
