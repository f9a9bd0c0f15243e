"""The EPS dose-to-text unit tests (130 vectors) as the contract for the renderer.

Source: NHSDigital/electronic-prescription-service-api @77e80e1,
packages/coordinator/tests/services/translation/request/dosage.spec.ts (MIT), extracted to
../shared/fhir/dose_syntax/eps_dose_to_text_vectors.json.
"""

import json
from decimal import Decimal
from pathlib import Path

import pytest

from ipmo.terminology.dosage import DoseTextError, dosage_to_text, dosages_to_text

# Parametrised at collection time, so the path is resolved here the way conftest.shared_dir does.
SHARED = Path(__file__).resolve().parents[2].parent / "shared"

VECTORS = json.loads(
    (SHARED / "fhir/dose_syntax/eps_dose_to_text_vectors.json").read_text(),
    parse_float=Decimal,
)
TEXT = [v for v in VECTORS if "expected" in v]
ERRORS = [v for v in VECTORS if v.get("expectError")]


def _render(vector):
    fn = dosages_to_text if vector["function"] == "stringifyDosages" else dosage_to_text
    return fn(vector["input"])


def test_vector_counts():
    assert (len(TEXT), len(ERRORS)) == (79, 51)


@pytest.mark.parametrize("vector", TEXT, ids=[v["name"] for v in TEXT])
def test_spec_eps_text_vector(vector):
    assert _render(vector) == vector["expected"]


@pytest.mark.parametrize("vector", ERRORS, ids=[v["name"] for v in ERRORS])
def test_spec_eps_must_error_vector(vector):
    with pytest.raises(DoseTextError) as info:
        _render(vector)
    assert str(info.value).strip(), "the error must carry a reason"
