"""The EPS short-form prescription ID and its check character.

Source: NHS Digital, "Electronic Prescription Service: prescription identifiers" (EPS Prescription
Messaging / DM+D guidance, "Short form Prescription ID"): 18 characters ``XXXXXX-XXXXXX-XXXXXC``
in three hyphenated groups of six — six random hex characters, the prescribing organisation's
ODS code (left-padded with zeros to six), five further hex characters and a check character
computed over the 17 preceding characters (hyphens excluded) with ISO/IEC 7064:2003 MOD 37-2 over
the alphabet ``0-9 A-Z +``.
"""

from __future__ import annotations

import re

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ+"
SHORT_FORM = re.compile(r"^[0-9A-F]{6}-[0-9A-Z]{6}-[0-9A-F]{5}[0-9A-Z+]$")


def check_character(body: str) -> str:
    """ISO/IEC 7064 MOD 37-2 check character of ``body`` (the 17 characters, no hyphens)."""
    total = 0
    for ch in body:
        total = ((total + ALPHABET.index(ch)) * 2) % 37
    return ALPHABET[(38 - total) % 37]


def valid_prescription_id(value: str) -> bool:
    """True when ``value`` is a well-formed short-form ID whose check character is right."""
    if not isinstance(value, str) or not SHORT_FORM.match(value):
        return False
    body = value.replace("-", "")
    return check_character(body[:-1]) == body[-1]
