"""The dm+d dictionary reconciliation uses: the terminology domain's shipped starter dictionary
when it is present, otherwise none (lines are then matched by parsed product name only)."""

from __future__ import annotations

from functools import lru_cache

from ipmo.records.normalise import DictionaryLike, EmptyDictionary


@lru_cache(maxsize=1)
def default_dictionary() -> DictionaryLike:
    try:
        from ipmo.terminology.dictionary import ARTIFACT, Dictionary
    except ImportError:  # terminology not installed in this build
        return EmptyDictionary()
    if not ARTIFACT.exists():
        return EmptyDictionary()
    return Dictionary.load(ARTIFACT)
