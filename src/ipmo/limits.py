"""Limits on what clients send, shared by the web layer, the FHIR reader and the CSV readers.

Deeply nested JSON or XML makes the FHIR validators recurse past Python's stack (a 500 at ~115
levels of nested ``extension``); a CSV field over the csv module's 131,072-character limit raises
``csv.Error``; bytes that are not UTF-8 raise ``UnicodeDecodeError``. Each becomes
:class:`InputTooComplex` or :class:`BadText`, which callers turn into a 400 naming the problem.

Real FHIR resources nest about 15 levels (Bundle → entry → resource → dosageInstruction →
doseAndRate → doseQuantity …), so 64 leaves room for any real content.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

MAX_JSON_DEPTH = 64
MAX_XML_DEPTH = 64
MAX_CSV_FIELD = 131_072  # the csv module's default field_size_limit

# Raised once, process-wide, so an over-long field reaches our own check below (which names its
# row and column) instead of failing inside the csv module with no column to report.
_PARSER_FIELD_LIMIT = 64 * 1024 * 1024
if csv.field_size_limit() < _PARSER_FIELD_LIMIT:
    csv.field_size_limit(_PARSER_FIELD_LIMIT)


class InputTooComplex(ValueError):
    """Nested deeper than we parse (message safe to return)."""


class BadText(ValueError):
    """Text that cannot be read: not UTF-8, or malformed CSV (message safe to return)."""


_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_JSON_BRACKET = re.compile(rb"[\[\]{}]")


def json_too_deep(data: bytes | str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether JSON text nests arrays/objects deeper than ``limit`` (without parsing it)."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth = 0
    for match in _JSON_BRACKET.finditer(_JSON_STRING.sub(b"", raw)):
        if match.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def check_json_depth(data: bytes | str, limit: int = MAX_JSON_DEPTH) -> None:
    if json_too_deep(data, limit):
        raise InputTooComplex(f"the JSON is nested too deep (more than {limit} levels)")


def check_xml_depth(root: Any, limit: int = MAX_XML_DEPTH) -> None:
    """``root``: a parsed ElementTree element; walked without recursion."""
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > limit:
            raise InputTooComplex(f"the XML is nested too deep (more than {limit} levels)")
        stack.extend((child, depth + 1) for child in element)


class TooLarge(ValueError):
    """Over an upload's own size limit (message safe to return; answered with 413)."""


def decode_utf8(data: bytes | str, what: str = "the file", max_bytes: int | None = None) -> str:
    """UTF-8 text (a byte-order mark is dropped); anything else is refused, never guessed.
    ``max_bytes``: the upload's own limit, stricter than the server's body limit."""
    if max_bytes is not None and len(data) > max_bytes:
        raise TooLarge(f"{what} is larger than {max_bytes:,} bytes")
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadText(
            f"{what} is not UTF-8 text (byte {exc.start + 1} cannot be read); "
            "save it as CSV UTF-8 and try again"
        ) from None


class CheckedDictReader(csv.DictReader):
    """``csv.DictReader`` that refuses malformed CSV and over-long fields with :class:`BadText`
    naming the row (the header is row 1) and the column, instead of ``csv.Error``."""

    def __init__(self, text: str, max_field: int = MAX_CSV_FIELD) -> None:
        super().__init__(io.StringIO(text))
        self.max_field = max_field
        try:
            names = self.fieldnames  # reads the header row now, so its errors are caught here
        except csv.Error as exc:
            raise BadText(f"row 1: malformed CSV ({exc})") from None
        for n, name in enumerate(names or [], start=1):
            if len(name) > max_field:
                raise BadText(f"row 1, column {n}: the column name is too long")

    def __next__(self) -> dict[Any, Any]:
        try:
            row = super().__next__()
        except csv.Error as exc:
            raise BadText(f"row {self.line_num}: malformed CSV ({exc})") from None
        for column, value in row.items():
            values = value if isinstance(value, list) else [value]
            if any(v is not None and len(v) > self.max_field for v in values):
                name = "(extra column)" if column is None else repr(column)
                raise BadText(
                    f"row {self.line_num}, column {name}: the value is longer than "
                    f"{self.max_field:,} characters"
                )
        return row
