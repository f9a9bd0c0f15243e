"""EPS prescriptions: the prescription ID check, a store fed by EPS messages and the tracker API.

Published names: :func:`valid_prescription_id` (the short-form ID's check character) and
:func:`ingest_message` (one EPS FHIR message into the store).
"""

from __future__ import annotations

from ipmo.prescriptions.ids import valid_prescription_id
from ipmo.prescriptions.ingest import IngestResult, MessageRefused, ingest_message

__all__ = ["IngestResult", "MessageRefused", "ingest_message", "valid_prescription_id"]
