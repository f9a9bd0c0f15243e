"""The dm+d dictionary reconciliation uses: the terminology domain's shipped starter dictionary.

A missing dictionary is an error (``ipmo.terminology.DictionaryMissing``), never a silent switch to
matching lines by parsed product name only."""

from __future__ import annotations

from functools import lru_cache

from ipmo.records.normalise import DictionaryLike
from ipmo.terminology import Dictionary


@lru_cache(maxsize=1)
def default_dictionary() -> DictionaryLike:
    return Dictionary.load()
