"""Amendments: changes made to the reconciled list itself, applied over a reconciliation.

Accepting a proposed change (``records.service.accept_change``) writes amendments; every record
read applies them after reconciling the sources, the way a pharmacist's ``stop`` decision is
applied (pure, no I/O). Rules, all ipmo's own (no published standard covers them):

* M1 an amendment counts at index dates on or after its ``effective_on`` date (a past index date
  shows the list as it stood then, like ``current.py`` X2).
* M2 ``stop``: the matching current line is published as stopped. ``dose_change``: the line's
  dose text becomes the new one. ``start``: a line is added (its only "source" is
  :data:`AMENDMENT_LABEL`), or a line stopped earlier is current again; when a source already has
  the medicine current, the source's line stands. A switch is a stop and a start.
* M3 an amendment gives way when a source records something *newer* about the same medicine: an
  item authorised, issued, or stopped/ended after ``effective_on`` (the sources, above all the GP
  record, remain the truth: e.g. the GP restarted a medicine that was stopped here, or carried
  out the change in the GP system).
* Matching uses reconciliation's own key (``normalise.match_key``: VTM first; an unmapped name
  joins a line of the same substance name), so "Ibuprofen 200mg tablets" matches an ibuprofen
  400mg line: a change is about the medicine, not the strength.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from ipmo.records.canonical import MedItem, SourceDocument
from ipmo.records.models import AmendmentKind
from ipmo.records.normalise import DictionaryLike, normalise_item
from ipmo.records.reconcile import Line, Reconciliation
from ipmo.terminology.names import substance_key

AMENDMENT_LABEL = "record-amendment"
_ENDED = frozenset({"stopped", "completed", "entered-in-error"})
_VERB = {
    AmendmentKind.STOP: "Stopped",
    AmendmentKind.START: "Started",
    AmendmentKind.DOSE_CHANGE: "Dose changed",
}


class AmendmentError(ValueError):
    """The change cannot be made to the list as it stands; the message is safe to show."""


@dataclass(frozen=True, slots=True)
class Amendment:
    kind: str  # AmendmentKind
    medicine: str | None
    dmd_code: str | None
    dose_text: str | None
    effective_on: date
    by: str
    reason: str = ""
    proposal_id: int | None = None

    @property
    def label(self) -> str:
        return self.medicine or self.dmd_code or "the medicine"


def _item(medicine: str | None, dmd_code: str | None, dictionary: DictionaryLike) -> MedItem:
    item = MedItem(name=(medicine or dmd_code or "").strip(), code=dmd_code or None)
    return normalise_item(item, dictionary)


def _substance_keys(lines: list[Line]) -> dict[str, str]:
    """``name:<substance>`` → the key of the line for that substance (unmapped names join it)."""
    return {"name:" + substance_key(line.vtm_name): line.key for line in lines if line.vtm_name}


def key_of(
    medicine: str | None, dmd_code: str | None, result: Reconciliation, dictionary: DictionaryLike
) -> str:
    key = _item(medicine, dmd_code, dictionary).key
    return _substance_keys(result.lines).get(key, key)


def find_line(
    result: Reconciliation, medicine: str | None, dmd_code: str | None, dictionary: DictionaryLike
) -> Line | None:
    key = key_of(medicine, dmd_code, result, dictionary)
    return next((line for line in result.lines if line.key == key), None)


def check(amendment: Amendment, result: Reconciliation, dictionary: DictionaryLike) -> None:
    """Refuse (``AmendmentError``) a change that does not fit the list at ``result.index_date``:
    stopping or re-dosing a medicine that is not current, starting one that already is, or a dose
    change without a (different) dose."""
    line = find_line(result, amendment.medicine, amendment.dmd_code, dictionary)
    current = line is not None and line.status == "current"
    name = amendment.label
    when = result.index_date.isoformat()
    if amendment.kind not in AmendmentKind.ALL:
        raise AmendmentError(f"unknown change {amendment.kind!r}")
    if amendment.kind in (AmendmentKind.STOP, AmendmentKind.DOSE_CHANGE) and not current:
        raise AmendmentError(
            f"{name} is not on the current list on {when}, so it cannot be "
            f"{'stopped' if amendment.kind == AmendmentKind.STOP else 're-dosed'}; "
            "reject the proposal if it no longer applies"
        )
    if amendment.kind == AmendmentKind.DOSE_CHANGE:
        new = (amendment.dose_text or "").strip()
        if not new:
            raise AmendmentError("a dose change needs the new dose")
        if line is not None and (line.dose_text or "").strip().lower() == new.lower():
            raise AmendmentError(f"{name} is already taken at that dose ({new})")
    if amendment.kind == AmendmentKind.START and current:
        raise AmendmentError(
            f"{name} is already on the current list; reject the proposal, or propose a dose "
            "change instead"
        )
    if amendment.kind == AmendmentKind.START and not name.strip():
        raise AmendmentError("a start must name the medicine")


def _latest_source_news(sources: list[SourceDocument], keys: dict[str, str]) -> dict[str, date]:
    """Per medicine key, the latest date any source said something about it (M3)."""
    latest: dict[str, date] = {}
    for doc in sources:
        for item in doc.items:
            dates = [d for d in (item.authored_on, item.last_issued) if d is not None]
            if item.status in _ENDED and item.end_date is not None:
                dates.append(item.end_date)
            if not dates:
                continue
            key = keys.get(item.key, item.key)
            newest = max(dates)
            if key not in latest or newest > latest[key]:
                latest[key] = newest
    return latest


def _change(a: Amendment, **extra: Any) -> dict[str, Any]:
    text = f"{_VERB[a.kind]} on {a.effective_on.isoformat()} by {a.by}"
    if a.kind != AmendmentKind.STOP and a.dose_text:
        text += f" (dose: {a.dose_text})"
    if a.reason:
        text += f": {a.reason}"
    return {
        "kind": a.kind,
        "on": a.effective_on.isoformat(),
        "by": a.by,
        "reason": a.reason,
        "dose_text": a.dose_text,
        "proposal_id": a.proposal_id,
        "text": text,
        **extra,
    }


def apply(
    result: Reconciliation,
    sources: list[SourceDocument],
    amendments: list[Amendment],
    dictionary: DictionaryLike,
) -> list[str]:
    """Apply ``amendments`` (oldest first) to ``result`` in place (M1–M3). Returns each
    amendment's state: ``applied``, ``not-yet`` (M1), ``superseded`` (M3), ``no-line`` (the
    medicine is no longer current, so there is nothing to stop or re-dose) or ``in-sources`` (a
    started medicine a source already has current)."""
    states: list[str] = []
    if not amendments:
        return states
    keys = _substance_keys(result.lines)
    news = _latest_source_news(sources, keys)
    by_key = {line.key: line for line in result.lines}
    for a in amendments:
        if a.effective_on > result.index_date:
            states.append("not-yet")
            continue
        item = _item(a.medicine, a.dmd_code, dictionary)
        key = keys.get(item.key, item.key)
        newer = news.get(key)
        if newer is not None and newer > a.effective_on:
            states.append("superseded")
            continue
        line = by_key.get(key)
        if a.kind == AmendmentKind.START:
            if line is None:
                item.status, item.dose_text = "active", a.dose_text
                line = Line(
                    key,
                    item.vtm_name or item.vmp_name or item.name,
                    item.vtm,
                    item.vtm_name,
                    item.vmp,
                    item.vmp_name,
                    a.dose_text,
                    "current",
                    {AMENDMENT_LABEL: [item]},
                )
                result.lines.append(line)
                by_key[key] = line
            elif line.status == "current":  # a source has it current since: the source stands
                states.append("in-sources")
                continue
            else:
                line.status = "current"
                line.dose_text = a.dose_text or line.dose_text
            line.changes.append(_change(a))
            states.append("applied")
            continue
        if line is None or line.status != "current":
            states.append("no-line")
            continue
        if a.kind == AmendmentKind.STOP:
            line.status = "stopped"
            line.changes.append(_change(a))
        else:
            line.changes.append(_change(a, previous_dose=line.dose_text))
            line.dose_text = a.dose_text
        states.append("applied")
    return states
