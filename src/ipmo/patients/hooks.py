"""What the patients spine offers the web app, found by name (``ipmo.hooks``).

* ``HTTP_ERRORS`` — an NHS number that fails its checks is the user's to correct: 422.
"""

from __future__ import annotations

from ipmo.patients.identity import InvalidNhsNumber

HTTP_ERRORS = {InvalidNhsNumber: (422, "Check the NHS number")}
