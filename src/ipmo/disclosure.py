"""Statistical disclosure control for anything that publishes counts of patients (population
analytics, the review rates). Part of the spine: any domain may use it.

Two constants and one pure function, applied before display or export (ARCHITECTURE.md,
"population analytics … counts below the disclosure threshold suppressed"). The values follow
OpenSAFELY's output-checking rules (opensafely.org, "Updated disclosure control guidance",
midpoint-6 rounding: counts of 7 or fewer are withheld, the rest rounded to the nearest 5), which
are stricter than NHS England's "small numbers" guidance (suppress 1–7 for HES-derived counts).
Prescribing totals (items, cost) are not patient counts and are published openly by NHSBSA; they
do not pass through here.
"""

from __future__ import annotations

SUPPRESSION_THRESHOLD = 7  # counts ≤ this are withheld (returned as None)
ROUNDING_MULTIPLE = 5  # other counts are rounded to the nearest multiple of this


def disclose(count: int | None) -> int | None:
    """The publishable form of a patient count: None when small, else rounded.

    >>> disclose(3) is None, disclose(8), disclose(12), disclose(13)
    (True, 10, 10, 15)

    A zero is also withheld: "no patients" can disclose as much as "a few" when combined with
    another published figure. Halves round up (12.5 → 15) so rounding never crosses below the
    threshold.
    """
    if count is None or count <= SUPPRESSION_THRESHOLD:
        return None
    return int((count + ROUNDING_MULTIPLE / 2) // ROUNDING_MULTIPLE) * ROUNDING_MULTIPLE
