"""Reconciliation's dm+d dictionary: the shipped starter dictionary, and an error when it is
missing — never a silent switch to matching medicines by name only."""

from __future__ import annotations

import pytest

import ipmo.terminology.dictionary as dictionary_module
from ipmo.records.terminology import default_dictionary
from ipmo.terminology import Dictionary, DictionaryMissing


@pytest.fixture
def fresh_cache():
    default_dictionary.cache_clear()
    yield
    default_dictionary.cache_clear()


def test_the_shipped_starter_dictionary_is_used(fresh_cache):
    d = default_dictionary()
    assert isinstance(d, Dictionary)
    assert len(d.rows) > 1000


def test_a_missing_dictionary_is_an_error(fresh_cache, tmp_path, monkeypatch):
    monkeypatch.setattr(dictionary_module, "ARTIFACT", tmp_path / "starter_dictionary.csv.gz")
    with pytest.raises(DictionaryMissing, match="starter_dictionary.csv.gz is missing"):
        default_dictionary()
