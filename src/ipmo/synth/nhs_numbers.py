"""Valid synthetic NHS numbers, drawn deterministically from the ranges never issued to people.

The 999 range (999 000 0000 – 999 999 9999) holds only ~909,000 valid numbers (6 free digits, and
a check digit of 10 is not allowed), too few for a 1.5 million ICS. We use it first and then the
rest of the range the ``nhs-number`` package marks as synthetic (``REGION_SYNTHETIC``:
9000000000–9999999999, "not to be issued"), going down 998…, 997…. Check digits are computed with
numpy (Modulus 11, NHS Data Dictionary) and every number is re-validated with ``nhs-number``.
"""

from __future__ import annotations

import nhs_number
import numpy as np

WEIGHTS = np.array([10, 9, 8, 7, 6, 5, 4, 3, 2])


def _valid(prefix: int, suffixes: np.ndarray) -> np.ndarray:
    """The valid 10-digit numbers among ``prefix`` + 6-digit ``suffixes``, as int64."""
    body = prefix * 1_000_000 + suffixes.astype(np.int64)  # 9 digits
    digits = (body[:, None] // (10 ** np.arange(8, -1, -1))) % 10
    check = 11 - (digits @ WEIGHTS) % 11
    check = np.where(check == 11, 0, check)
    ok = check != 10
    return body[ok] * 10 + check[ok]


def synthetic_nhs_numbers(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` distinct valid numbers, shuffled by ``rng``; the 999 block first."""
    chosen: list[np.ndarray] = []
    have = 0
    prefix = 999
    while have < n:
        need = n - have
        if need < 600_000:  # sample candidates rather than scoring the whole block
            suffixes = rng.choice(1_000_000, min(1_000_000, int(need * 1.2) + 50), replace=False)
        else:
            suffixes = rng.permutation(1_000_000)
        block = _valid(prefix, suffixes)[:need]
        chosen.append(block)
        have += len(block)
        prefix -= 1
        if prefix < 900:
            raise ValueError("more patients than synthetic NHS numbers")
    numbers = np.concatenate(chosen)[:n].astype(str).tolist()
    bad = [x for x in numbers[:1000] if not nhs_number.is_valid(x)]
    if bad:  # the vectorised Modulus 11 must agree with the package
        raise AssertionError("generated NHS number failed the nhs-number check")
    return numbers
