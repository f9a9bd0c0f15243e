"""Application logging that cannot leak patient identifiers.

NHS numbers travel in URLs (``/api/patients/9990000018``) and error messages; every log record
passes through :class:`RedactPatientIdentifiers`, which masks NHS-number-like digit runs before a
handler sees it. Uvicorn's access log is routed through the same filter.

People (and their tools) type NHS numbers in many layouts: ``9995986868``, ``999 598 6868``,
``999-598-6868``, and in URLs ``999+598+6868`` or ``999%20598%206868`` (the access log prints the
path percent-encoded and the query string raw). Masked here:

* any 3-3-4 grouping whose separators are runs of spaces, ``-``, ``+``, ``.``, ``_`` or their
  percent-encodings (the layout of NHS Digital's "NHS number" standard, DCB1078, plus what URL
  encoding does to it);
* any 10 digits with such separators *anywhere* that pass the NHS number's modulus-11 check
  (DCB1078), so odd groupings (``99959 86868``) of real numbers are caught without masking every
  date-time and address in the logs;
* the same after percent-decoding (up to three rounds), for digits that are themselves encoded
  (``%39%39%39…``) or double-encoded paths.

The exception text and stack of a record are masked too (a traceback can quote a URL).
"""

from __future__ import annotations

import json
import logging
import os
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TextIO
from urllib.parse import unquote_plus

# one separator: whitespace, - + . _ or a percent-encoded space, tab, +, -, . or _
_SEP = r"(?:[\s\-+._]|%(?:20|09|2[bBdDeE]|5[fF]))"
NHS_NUMBER_LIKE = re.compile(rf"(?<![\d%])\d{{3}}{_SEP}{{0,3}}\d{{3}}{_SEP}{{0,3}}\d{{4}}(?!\d)")
_ANY_SPACING = re.compile(rf"(?<![\d%])(?:\d{_SEP}{{0,3}}){{9}}\d(?!\d)")
MASK = "[nhs-number]"


def _valid_check_digit(digits: str) -> bool:
    """The NHS number's modulus-11 check (NHS Data Dictionary, "NHS number")."""
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def _mask_valid(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", re.sub(r"%[0-9A-Fa-f]{2}", "", match.group(0)))
    return MASK if len(digits) == 10 and _valid_check_digit(digits) else match.group(0)


def _redact_plain(text: str) -> str:
    return _ANY_SPACING.sub(_mask_valid, NHS_NUMBER_LIKE.sub(MASK, text))


def redact(text: str) -> str:
    masked = _redact_plain(text)
    decoded = text
    for _ in range(3):  # percent-encoded digits, double encoding
        if "%" not in decoded and "+" not in decoded:
            break
        decoded = unquote_plus(decoded)
        redacted = _redact_plain(decoded)
        if redacted != decoded:
            # something hid behind the encoding: log the decoded text, masked
            return redacted
    return masked


class RedactPatientIdentifiers(logging.Filter):
    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


# The NHS API tracing headers of the request being served (``ipmo.web.fhir.TraceHeaders`` sets
# them): every log line written while serving it carries them, so a client's X-Request-ID /
# X-Correlation-ID finds ipmo's side of the story (NHS England API standards, "Tracing").
TRACE_IDS: ContextVar[tuple[str, str]] = ContextVar("ipmo_trace_ids", default=("-", "-"))
LOG_FORMAT = (
    "%(asctime)s %(levelname)s %(name)s "
    "request_id=%(request_id)s correlation_id=%(correlation_id)s: %(message)s"
)


class TraceIds(logging.Filter):
    """Adds ``request_id`` and ``correlation_id`` (``-`` when none) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id, record.correlation_id = TRACE_IDS.get()
        return True


class JsonLines(logging.Formatter):
    """One JSON object per line (``IPMO_LOG_FORMAT=json``) for a log shipper: time (UTC, ISO
    8601), level, logger, message, request_id, correlation_id and, for errors, the exception —
    all after :class:`RedactPatientIdentifiers` has masked NHS numbers."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "correlation_id": getattr(record, "correlation_id", "-"),
        }
        if record.exc_text:
            entry["exception"] = record.exc_text
        elif record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def _formatter() -> logging.Formatter:
    fmt = os.environ.get("IPMO_LOG_FORMAT", "text").lower()
    if fmt == "json":
        return JsonLines()
    if fmt != "text":
        raise ValueError("IPMO_LOG_FORMAT must be text or json")
    return logging.Formatter(LOG_FORMAT)


def log_handler(stream: TextIO | None = None) -> logging.Handler:
    """The handler ipmo logs through: trace ids added, patient identifiers masked; plain text
    lines by default, JSON lines with ``IPMO_LOG_FORMAT=json``."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_formatter())
    handler.addFilter(TraceIds())
    handler.addFilter(RedactPatientIdentifiers())
    return handler


def configure_logging(level: int = logging.INFO) -> None:
    handler = log_handler()
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True


UVICORN_LOG_CONFIG = None  # we configure logging ourselves; uvicorn must not replace it
