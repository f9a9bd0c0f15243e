"""SNOMED CT identifier checks: the Verhoeff check digit and repair of float-damaged ids.

dm+d ids are SNOMED CT concept identifiers (SCTIDs). Their last digit is a Verhoeff check digit
over the other digits (SNOMED CT Technical Implementation Guide, section 6.3 "Check-digit" and
6.2 "SCTID data structure": ``[item id][namespace (7, long form)][partition (2)][check (1)]``).

Several public codelists were round-tripped through a float64 (pandas, R, spreadsheets), which
cannot hold integers above 2**53 exactly, so the last digits drifted
(../shared/terminology/README.md, "Data quality: float-damaged dm+d ids"). :func:`repair_candidates`
implements the repair rule stated there: among ids within ±16 of the damaged value, the original is
the one that passes Verhoeff, is in the UK ``1000001`` namespace with partition 10/11/12 and has
the same float64 value.
"""

from __future__ import annotations


# Verhoeff (1969), the tables the SNOMED CT Technical Implementation Guide prints in its appendix
# "Check-digit computation", generated from their definitions rather than copied out:
# d is multiplication in the dihedral group D5 (elements 0-4 rotations, 5-9 reflections), and
# permutation i is permutation 1 applied i times.
def _d5(j: int, k: int) -> int:
    if j < 5:
        return (j + k) % 5 + (5 if k >= 5 else 0)
    return (j - k) % 5 + (0 if k >= 5 else 5)


_D = tuple(tuple(_d5(j, k) for k in range(10)) for j in range(10))
_P1 = (1, 5, 7, 6, 2, 8, 3, 0, 9, 4)
_P = [tuple(range(10))]
for _ in range(7):
    _P.append(tuple(_P1[x] for x in _P[-1]))
_INV = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)

FLOAT_EXACT_LIMIT = 2**53
"""Integers above this cannot all be represented in a float64; ids above it may be damaged."""

UK_NAMESPACE = "1000001"
"""The UK drug extension namespace that every dm+d-issued id carries (VMP/AMP/VMPP/AMPP)."""


def check_digit(digits: str) -> int:
    """The Verhoeff check digit to append to ``digits`` (a string of decimal digits)."""
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _D[c][_P[(i + 1) % 8][int(ch)]]
    return _INV[c]


def verhoeff_ok(code: str) -> bool:
    """True when ``code`` is all digits and its last digit is the correct Verhoeff check digit."""
    if not code or not code.isdigit():
        return False
    c = 0
    for i, ch in enumerate(reversed(code)):
        c = _D[c][_P[i % 8][int(ch)]]
    return c == 0


def is_valid_sctid(code: str) -> bool:
    """A well-formed SNOMED CT identifier: 6–18 digits, no leading zero, Verhoeff check passes.

    Length limits and the no-leading-zero rule: SNOMED CT TIG section 6.2.
    """
    return 6 <= len(code) <= 18 and code[0] != "0" and verhoeff_ok(code)


def is_uk_extension(code: str) -> bool:
    """Long-format id in the UK ``1000001`` namespace (the namespace dm+d issues ids from)."""
    return len(code) >= 11 and code[-10:-3] == UK_NAMESPACE


def repair_candidates(code: str, window: int = 16) -> list[str]:
    """Ids that a float round-trip could have turned into ``code`` and that are valid dm+d ids.

    The rule (../shared/terminology/README.md, "Recommendations for the importer"): within
    ±``window`` of the damaged value, keep ids that pass Verhoeff, carry the ``1000001`` namespace
    with partition 10, 11 or 12, and have the same float64 value. Exactly one candidate is a
    repair; none or several means the id must stay quarantined.
    """
    if not code.isdigit():
        return []
    value = int(code)
    as_float = float(value)
    found = []
    for n in range(value - window, value + window + 1):
        if float(n) != as_float:
            continue
        text = str(n)
        if text[-3:-1] in ("10", "11", "12") and is_uk_extension(text) and verhoeff_ok(text):
            found.append(text)
    return found
