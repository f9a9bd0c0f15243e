"""Residents' admissions, discharges and deaths at a care home (issue 17, item 1).

The registration data says only where a patient is registered as living *now*
(``patients.care_home_code``) and when they died (``patients.date_of_death``), so the movements
are kept (``carehome_movements``), fed two ways:

* the home's staff record them with the real date (``source = "home"``);
* the registration data changing (:func:`registration_changes`, run by ``ipmo carehomes
  registrations`` and the demo): a patient newly registered at the home → *admitted*, a resident
  whose registration moved elsewhere → *discharged*, both dated the day the change was seen (the
  registration carries no date, so the page says "seen in the registration data on …"); a death
  registered → *died* on the date of death. The home's own record stands over the registration's:
  while the registration still shows a resident the home recorded as discharged (it lags), that
  is not a re-admission. The first look at a home records its residents as they are
  (:data:`FIRST_LOOK`), not as admissions.

Also here: :func:`medication_changes`, what changed between a resident's current medicines on
two days (the resident page's "changed since the last discharge or review").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

ADMITTED, DISCHARGED, DIED = "admitted", "discharged", "died"
KINDS = (ADMITTED, DISCHARGED, DIED)
HOME, REGISTRATION = "home", "registration"
#: the residents a home already had when ipmo first looked at its registrations: kept so that
#: later changes are seen, never listed as admissions (their date is not known)
FIRST_LOOK = "first-look"


def registration_changes(
    registered: Mapping[int, date | None],
    latest: Mapping[int, tuple[str, str]],
    today: date,
) -> list[tuple[int, str, date]]:
    """The movements the registration data shows at one home since the last look.

    ``registered``: patient id → date of death (None: living) for every patient registered at
    the home now; ``latest``: patient id → (kind, source) of their latest movement at the home.
    Returns (patient id, kind, date) to record."""
    out: list[tuple[int, str, date]] = []
    for pid, died_on in registered.items():
        kind, source = latest.get(pid, (None, None))
        if died_on is not None:
            if kind != DIED:
                out.append((pid, DIED, died_on))
        elif kind is None or (kind == DISCHARGED and source == REGISTRATION):
            out.append((pid, ADMITTED, today))
    for pid, (kind, _source) in latest.items():
        if pid not in registered and kind == ADMITTED:
            out.append((pid, DISCHARGED, today))
    return out


class MedicineLine(Protocol):
    """A line of the One Medication Record's current list (``records.current_medications``)."""

    @property
    def name(self) -> str: ...
    @property
    def dose_text(self) -> str | None: ...
    @property
    def key(self) -> str: ...


@dataclass(frozen=True)
class Change:
    kind: str  # started | stopped | dose changed
    name: str
    before: str | None  # the dose then
    after: str | None  # the dose now


def medication_changes(then: Sequence[MedicineLine], now: Sequence[MedicineLine]) -> list[Change]:
    """What changed between two current lists of one resident: a medicine current now and not
    then was started, current then and not now was stopped, in both with another dose text had
    its dose changed. Lines are the same medicine when the record's reconciliation says so: the
    same match key (VTM, else VMP, else name); started and stopped first, then by name."""
    before_by_key = {t.key: t for t in reversed(then)}  # the first line of a key, as listed
    now_keys = {line.key for line in now}
    out: list[Change] = []
    for line in now:
        before = before_by_key.get(line.key)
        if before is None:
            out.append(Change("started", line.name, None, line.dose_text))
        elif (before.dose_text or "") != (line.dose_text or ""):
            out.append(Change("dose changed", line.name, before.dose_text, line.dose_text))
    out += [Change("stopped", t.name, t.dose_text, None) for t in then if t.key not in now_keys]
    order = {"started": 0, "stopped": 1, "dose changed": 2}
    return sorted(out, key=lambda c: (order[c.kind], c.name.lower()))
