"""Helpers shared by the golden-fixture tests: the peer's five fixture measures and expectations.

The measures are rebuilt from the fixture's own ``frontend.measure`` objects (their BNF filters),
never from our code's output; the expected values are the peer's stored ``MeasureValue`` and
``MeasureGlobal`` rows (flattened in expected_measure_values.csv / expected_measure_globals.csv).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from ipmo.analytics.measures.definitions import MeasureDefinition, parse_definition

# the peer's org types → ours (CCG = sub-ICB "place", STP = ICB)
ORG_TYPE = {"practice": "practice", "pcn": "pcn", "ccg": "place", "stp": "icb"}
ORG_TYPE["regional_team"] = "region"
DECILES = range(10, 100, 10)


def golden_dir(shared: Path) -> Path:
    return shared / "peers/openprescribing/fixtures/measures_golden"


def fixture_definitions(shared: Path) -> list[MeasureDefinition]:
    objects = json.loads((golden_dir(shared) / "functional-measures-dont-edit.json").read_text())
    keep = ("name", "title", "description", "is_percentage", "is_cost_based", "low_is_good")
    out = []
    for obj in objects:
        if obj["model"] != "frontend.measure":
            continue
        fields = obj["fields"]
        data = {k: fields[k] for k in keep} | {
            "numerator_type": fields["numerator_type"],
            "denominator_type": fields["denominator_type"],
            "numerator_bnf_codes_filter": json.loads(fields["numerator_bnf_codes_filter"]),
            "denominator_bnf_codes_filter": json.loads(fields["denominator_bnf_codes_filter"]),
        }
        out.append(parse_definition(obj["pk"], json.dumps(data), f"fixture:{obj['pk']}"))
    return out


def expected_values(shared: Path) -> list[dict]:
    with (golden_dir(shared) / "expected_measure_values.csv").open() as handle:
        return list(csv.DictReader(handle))


def expected_globals(shared: Path) -> list[dict]:
    with (golden_dir(shared) / "expected_measure_globals.csv").open() as handle:
        return list(csv.DictReader(handle))


def close(expected: str, got) -> bool:
    """Equal to the peer's stored float within 1e-9 relative (sums may differ in the last bit)."""
    if got is None:
        return False
    want = float(expected)
    return abs(want - got) <= 1e-9 * max(1.0, abs(want))


def mismatches_values(expected: list[dict], table) -> list[str]:
    got = {
        (r["measure"], r["org_type"], r["org_code"], str(r["month"])): r for r in table.to_pylist()
    }
    columns = ["numerator", "denominator", "calc_value", "percentile"]
    columns += [f"cost_saving_{c}" for c in DECILES]
    problems = []
    for row in expected:
        key = (row["measure"], ORG_TYPE[row["org_type"]], row["org_code"], row["month"])
        if key not in got:
            problems.append(f"missing {key}")
            continue
        problems += [f"{key} {c}" for c in columns if not close(row[c], got[key][c])]
    return problems


def mismatches_globals(expected: list[dict], table) -> list[str]:
    got = {(r["measure"], r["org_type"], str(r["month"])): r for r in table.to_pylist()}
    columns = [f"p{c}" for c in DECILES] + [f"total_positive_cost_saving_{c}" for c in DECILES]
    problems = []
    for row in expected:
        key = (row["measure"], ORG_TYPE[row["org_type"]], row["month"])
        if key not in got:
            problems.append(f"missing {key}")
            continue
        problems += [f"{key} {c}" for c in columns if not close(row[c], got[key][c])]
    return problems
