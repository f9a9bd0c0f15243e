"""Spec: the float-damage figures published in ../shared/terminology/README.md ("Counts" and
"Data quality"), reproduced by reading ids as text and applying verhoeff.py."""

import csv
from collections import Counter

from ipmo.terminology.codelists import read_codelist
from ipmo.terminology.verhoeff import FLOAT_EXACT_LIMIT, repair_candidates, verhoeff_ok


def _dmd_ids(shared_dir):
    root = shared_dir / "terminology" / "public_codelists"
    ids = set()
    with (root / "INDEX.csv").open() as fh:
        for row in csv.DictReader(fh):
            if row["code_system"] == "dmd":
                ids |= {r.code for r in read_codelist(root / row["folder"] / row["file"])}
    return ids


def test_spec_damaged_id_counts(shared_dir):
    ids = _dmd_ids(shared_dir)
    assert len(ids) == 42_210
    failing = {c for c in ids if not verhoeff_ok(c)}
    assert len(failing) == 5_999
    assert len(ids) - len(failing) == 36_211
    by_candidates = Counter(min(len(repair_candidates(c)), 2) for c in failing)
    assert by_candidates == {1: 5_518, 2: 123, 0: 358}
    assert sum(1 for c in failing if int(c) <= FLOAT_EXACT_LIMIT) == 135
    repaired = {repair_candidates(c)[0] for c in failing if len(repair_candidates(c)) == 1}
    assert len(repaired & ids) == 4_359  # confirmed: also present undamaged elsewhere
