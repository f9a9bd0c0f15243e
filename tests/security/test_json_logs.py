"""JSON log lines (IPMO_LOG_FORMAT=json, issue 20): one object per line with the request's trace
ids, and no NHS number in the message or the exception."""

from __future__ import annotations

import io
import json
import logging

import pytest

from ipmo.logs import TRACE_IDS, log_handler


def _log_one(monkeypatch, fmt: str, emit) -> str:
    monkeypatch.setenv("IPMO_LOG_FORMAT", fmt)
    stream = io.StringIO()
    logger = logging.getLogger("ipmo.test.jsonlogs")
    logger.handlers[:] = [log_handler(stream)]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    token = TRACE_IDS.set(("req-123", "corr-456"))
    try:
        emit(logger)
    finally:
        TRACE_IDS.reset(token)
        logger.handlers[:] = []
    return stream.getvalue()


def test_a_json_line_carries_the_trace_ids_and_masks_the_nhs_number(monkeypatch):
    out = _log_one(monkeypatch, "json", lambda log: log.info("read %s", "999 000 0018"))
    entry = json.loads(out.strip())
    assert entry["level"] == "INFO" and entry["logger"] == "ipmo.test.jsonlogs"
    assert entry["request_id"] == "req-123" and entry["correlation_id"] == "corr-456"
    assert entry["message"] == "read [nhs-number]"
    assert entry["time"].endswith("+00:00")


def test_an_exception_is_in_the_line_and_masked_too(monkeypatch):
    def emit(log):
        try:
            raise ValueError("no patient 9990000018")
        except ValueError:
            log.exception("failed")

    entry = json.loads(_log_one(monkeypatch, "json", emit).strip())
    assert "ValueError" in entry["exception"]
    assert "9990000018" not in json.dumps(entry)


def test_text_stays_the_default_and_an_unknown_format_is_refused(monkeypatch):
    out = _log_one(monkeypatch, "text", lambda log: log.info("hello"))
    assert "request_id=req-123" in out and not out.startswith("{")
    monkeypatch.setenv("IPMO_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="IPMO_LOG_FORMAT"):
        log_handler(io.StringIO())
