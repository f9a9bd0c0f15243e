"""The hazard log: loading, the DCB0129 risk matrix, and validation of each entry.

Risk is rated with the 5 × 5 matrix the DCB0129 / DCB0160 implementation guidance uses
(NHS Digital, "DCB0129: Clinical Risk Management: its Application in the Manufacture of Health IT
Systems – Implementation Guidance", risk matrix and acceptability table): likelihood (very low …
very high) against severity (minor … catastrophic) gives a rating from 1 (acceptable) to 5
(unacceptable). The matrix is here once, as data, and every hazard's stated ratings are checked
against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_LOG = Path(__file__).resolve().parents[3] / "docs" / "safety" / "hazard-log.yaml"

SEVERITIES = ("minor", "significant", "considerable", "major", "catastrophic")
LIKELIHOODS = ("very low", "low", "medium", "high", "very high")
# Rows: likelihood (very low → very high); columns: severity (minor → catastrophic).
MATRIX = (
    (1, 1, 2, 2, 3),
    (1, 2, 2, 3, 4),
    (2, 2, 3, 3, 4),
    (2, 3, 3, 4, 5),
    (3, 4, 4, 5, 5),
)
ACCEPTABILITY = {
    1: "acceptable, no further action",
    2: "acceptable where further reduction is impractical",
    3: "undesirable: accepted only with the clinical safety officer's agreement",
    4: "unacceptable: further controls required",
    5: "unacceptable: must not be deployed",
}
STATUSES = ("open", "controlled", "transferred", "closed")
# The clinical items a hazard can name in ``covers`` (see checker.clinical_items).
ITEM_KINDS = ("rule", "discrepancy", "service", "finding", "pathway")


class HazardLogError(ValueError):
    """The hazard log file is malformed (names the hazard and the field)."""


def rating(likelihood: str, severity: str) -> int:
    return MATRIX[LIKELIHOODS.index(likelihood)][SEVERITIES.index(severity)]


@dataclass(frozen=True)
class Risk:
    likelihood: str
    severity: str

    @property
    def rating(self) -> int:
        return rating(self.likelihood, self.severity)


@dataclass(frozen=True)
class Hazard:
    id: str
    title: str
    description: str
    causes: tuple[str, ...]
    effect: str
    initial: Risk
    design_controls: tuple[str, ...]
    test_controls: tuple[str, ...]
    residual: Risk
    status: str
    covers: tuple[str, ...] = ()
    notes: str = ""


@dataclass(frozen=True)
class HazardLog:
    system: str
    version: str
    hazards: tuple[Hazard, ...]
    release_notes: tuple[dict[str, Any], ...] = field(default=())

    def by_id(self, hazard_id: str) -> Hazard:
        for h in self.hazards:
            if h.id == hazard_id:
                return h
        raise KeyError(hazard_id)


def _risk(raw: Any, where: str) -> Risk:
    if not isinstance(raw, dict):
        raise HazardLogError(f"{where}: expected likelihood and severity")
    likelihood, severity = raw.get("likelihood"), raw.get("severity")
    if likelihood not in LIKELIHOODS:
        raise HazardLogError(f"{where}.likelihood: {likelihood!r} is not one of {LIKELIHOODS}")
    if severity not in SEVERITIES:
        raise HazardLogError(f"{where}.severity: {severity!r} is not one of {SEVERITIES}")
    return Risk(likelihood, severity)


def _strings(raw: Any, where: str, *, required: bool = True) -> tuple[str, ...]:
    if raw is None and not required:
        return ()
    if not isinstance(raw, list) or not all(isinstance(x, str) and x.strip() for x in raw):
        raise HazardLogError(f"{where}: expected a list of non-empty strings")
    if required and not raw:
        raise HazardLogError(f"{where}: must name at least one")
    return tuple(raw)


def _text(raw: dict[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise HazardLogError(f"{where}.{key}: required text")
    return value.strip()


def _hazard(raw: Any, index: int) -> Hazard:
    if not isinstance(raw, dict):
        raise HazardLogError(f"hazards[{index}]: expected a mapping")
    where = f"hazards[{index}]"
    hid = _text(raw, "id", where)
    where = hid
    status = raw.get("status")
    if status not in STATUSES:
        raise HazardLogError(f"{where}.status: {status!r} is not one of {STATUSES}")
    covers = _strings(raw.get("covers"), f"{where}.covers", required=False)
    for item in covers:
        kind = item.split(":", 1)[0]
        if ":" not in item or kind not in ITEM_KINDS:
            raise HazardLogError(
                f"{where}.covers: {item!r} must be KIND:NAME, KIND in {ITEM_KINDS}"
            )
    return Hazard(
        id=hid,
        title=_text(raw, "title", where),
        description=_text(raw, "description", where),
        causes=_strings(raw.get("causes"), f"{where}.causes"),
        effect=_text(raw, "effect", where),
        initial=_risk(raw.get("initial_risk"), f"{where}.initial_risk"),
        design_controls=_strings(raw.get("design_controls"), f"{where}.design_controls"),
        # An empty list is loaded (so the checker can name the hazard); the checker refuses it.
        test_controls=_strings(
            raw.get("test_controls") or [], f"{where}.test_controls", required=False
        ),
        residual=_risk(raw.get("residual_risk"), f"{where}.residual_risk"),
        status=status,
        covers=covers,
        notes=str(raw.get("notes") or "").strip(),
    )


def load(path: Path = DEFAULT_LOG) -> HazardLog:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise HazardLogError(f"{path}: cannot read the hazard log: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("hazards"), list):
        raise HazardLogError(f"{path}: expected a mapping with a 'hazards' list")
    hazards = tuple(_hazard(h, i) for i, h in enumerate(raw["hazards"]))
    seen: set[str] = set()
    for h in hazards:
        if h.id in seen:
            raise HazardLogError(f"{h.id}: duplicate hazard id")
        seen.add(h.id)
    notes = raw.get("release_notes") or []
    if not isinstance(notes, list):
        raise HazardLogError(f"{path}: release_notes must be a list")
    for i, note in enumerate(notes):
        if not isinstance(note, dict) or not note.get("change") or not note.get("hazards"):
            raise HazardLogError(f"release_notes[{i}]: needs 'change' and the 'hazards' it touched")
        for hid in note["hazards"]:
            if hid not in seen:
                raise HazardLogError(f"release_notes[{i}]: unknown hazard {hid!r}")
    return HazardLog(
        system=str(raw.get("system") or "ipmo"),
        version=str(raw.get("version") or ""),
        hazards=hazards,
        release_notes=tuple(notes),
    )
