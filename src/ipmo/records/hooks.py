"""What the records domain offers the spine, found by name (``ipmo.hooks``).

* ``WARM_UP`` — loads the dm+d dictionary at start-up, so a worker is ready before its first
  record read rather than during it (issue 20's profile: the first minute of a fresh worker).
"""

from __future__ import annotations

from ipmo.records.terminology import default_dictionary

WARM_UP = default_dictionary
