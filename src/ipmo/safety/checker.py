"""The hazard log's checker: the log is true of the code and of the test suite.

Three promises (DCB0129 §2.3: the hazard log is maintained "throughout the lifecycle"):

1. every test control a hazard cites is a pytest id that the suite collects (so a renamed or
   deleted test cannot leave a hazard with imaginary evidence);
2. every hazard has at least one test control;
3. every clinical item the code carries — each case-finding rule, each discrepancy class of the One
   Medication Record, each referral service, each care-home administration finding and each
   Pharmacy First clinical pathway — is named by some hazard's ``covers``, so a new rule without a
   hazard fails CI.
"""

from __future__ import annotations

import functools
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ipmo.safety.hazard_log import HazardLog

ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Finding:
    hazard: str  # hazard id, or "-" for the log as a whole
    problem: str

    def __str__(self) -> str:
        return f"{self.hazard}: {self.problem}"


def clinical_items() -> set[str]:
    """Every clinical item in the code, as ``kind:name`` (the vocabulary of ``covers``)."""
    from ipmo.carehomes import FINDING_RULES
    from ipmo.pharmacyfirst.pathways import catalogue
    from ipmo.records.reconcile import TYPES
    from ipmo.referrals.catalogue import ReferralService
    from ipmo.review.rules import all_rules

    items = {f"rule:{r.id}" for r in all_rules()}
    items |= {f"discrepancy:{t}" for t in TYPES}
    items |= {f"service:{s.value}" for s in ReferralService}
    items |= {f"finding:{f}" for f in FINDING_RULES}
    items |= {f"pathway:{code}" for code in catalogue().codes()}
    return items


def collected_tests(files: Iterable[str], root: Path = ROOT) -> frozenset[str]:
    """The test ids pytest collects from ``files`` (parametrised ids folded to the function)."""
    return _collect(tuple(sorted(set(files))), root)


@functools.lru_cache(maxsize=8)
def _collect(files: tuple[str, ...], root: Path) -> frozenset[str]:
    existing = [f for f in files if (root / f).is_file()]
    if not existing:
        return frozenset()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            *existing,
        ],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    ids = set()
    for line in proc.stdout.splitlines():
        if "::" in line and not line.startswith(" "):
            ids.add(line.split("[", 1)[0].strip())
    return frozenset(ids)


def check_log(log: HazardLog, *, root: Path = ROOT, collect: bool = True) -> list[Finding]:
    findings: list[Finding] = []
    cited = {t for h in log.hazards for t in h.test_controls}
    for t in sorted(cited):
        if "::" not in t:
            findings.append(Finding("-", f"test control {t!r} is not a pytest id (file::test)"))
    collected = collected_tests((t.split("::", 1)[0] for t in cited), root) if collect else cited
    for h in log.hazards:
        if not h.test_controls:
            findings.append(Finding(h.id, "has no test control"))
        for t in h.test_controls:
            if t not in collected:
                findings.append(Finding(h.id, f"cites {t}, which pytest does not collect"))
        if h.residual.rating > h.initial.rating:
            findings.append(Finding(h.id, "residual risk is higher than the initial risk"))
        if h.residual.rating >= 4 and h.status != "open":
            findings.append(
                Finding(
                    h.id, f"residual risk {h.residual.rating} is unacceptable: status must be open"
                )
            )
    items = clinical_items()
    covered = {c for h in log.hazards for c in h.covers}
    for item in sorted(items - covered):
        findings.append(Finding("-", f"{item} is in the code but no hazard covers it"))
    for item in sorted(covered - items):
        findings.append(Finding("-", f"a hazard covers {item}, which the code does not have"))
    return findings
