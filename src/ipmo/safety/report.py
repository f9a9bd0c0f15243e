"""The hazard log and the clinical safety case report, rendered from the log (HTML, PDF).

The report follows the headings DCB0129 §2.5 asks a clinical safety case report to carry (system
description, the clinical risk management system used, the hazards and their residual risk, the
evidence, outstanding issues, and the statement the clinical safety officer signs). The evidence is
the pass/fail count of each hazard's test controls in a given JUnit XML file (``pytest
--junitxml``); with no file the report says that no run was given rather than guessing.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

from defusedxml import ElementTree
from jinja2 import Environment, PackageLoader, select_autoescape

from ipmo.safety.hazard_log import ACCEPTABILITY, LIKELIHOODS, MATRIX, SEVERITIES, HazardLog

_ENV = Environment(
    loader=PackageLoader("ipmo.safety", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _test_id(classname: str, name: str, root: Path) -> str:
    """pytest's junit ``classname`` is the dotted module path (plus a class, if any)."""
    parts = classname.split(".")
    for cut in range(len(parts), 0, -1):
        path = "/".join(parts[:cut]) + ".py"
        if (root / path).is_file():
            inner = "::".join(parts[cut:] + [name.split("[", 1)[0]])
            return f"{path}::{inner}"
    return f"{'/'.join(parts)}.py::{name.split('[', 1)[0]}"


def test_evidence(junit: Path, root: Path) -> dict[str, Counter[str]]:
    """Per test id, how many of its cases passed, failed or were skipped in a JUnit XML run."""
    tree = ElementTree.parse(str(junit))
    out: dict[str, Counter[str]] = {}
    for case in tree.iter("testcase"):
        tid = _test_id(case.get("classname", ""), case.get("name", ""), root)
        tags = {child.tag for child in case}
        result = (
            "failed"
            if tags & {"failure", "error"}
            else "skipped"
            if "skipped" in tags
            else "passed"
        )
        out.setdefault(tid, Counter())[result] += 1
    return out


def render_html(
    log: HazardLog,
    *,
    evidence: dict[str, Counter[str]] | None = None,
    findings: list[str] | None = None,
    on: date | None = None,
) -> str:
    rows = []
    for h in log.hazards:
        counts: Counter[str] = Counter()
        for t in h.test_controls:
            counts.update((evidence or {}).get(t, Counter({"not run": 1})))
        rows.append({"hazard": h, "counts": counts})
    template = _ENV.get_template("safety_case_report.html")
    return template.render(
        log=log,
        rows=rows,
        evidence_given=evidence is not None,
        findings=findings or [],
        matrix=MATRIX,
        severities=SEVERITIES,
        likelihoods=LIKELIHOODS,
        acceptability=ACCEPTABILITY,
        on=on or date.today(),
    )
