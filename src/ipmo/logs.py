"""Application logging that cannot leak patient identifiers.

NHS numbers travel in URLs (``/api/patients/9990000018``) and error messages; every log record
passes through :class:`RedactPatientIdentifiers`, which masks any 10-digit run (spaced or not)
before a handler sees it. Uvicorn's access log is routed through the same filter.
"""

from __future__ import annotations

import logging
import re

NHS_NUMBER_LIKE = re.compile(r"(?<!\d)\d{3}[ -]?\d{3}[ -]?\d{4}(?!\d)")
MASK = "[nhs-number]"


def redact(text: str) -> str:
    return NHS_NUMBER_LIKE.sub(MASK, text)


class RedactPatientIdentifiers(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = redact(message)
        record.args = None
        return True


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactPatientIdentifiers())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True


UVICORN_LOG_CONFIG = None  # we configure logging ourselves; uvicorn must not replace it
