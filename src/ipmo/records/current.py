"""Which medication lines are "current" at an index date.

Rule: Faculty of Clinical Informatics, *Rendering of a Consolidated Medications Record*
(FCIPUB:2309-01, September 2023), Appendix A, as summarised in FHIR terms by the NHS England
Implementation guide for digital medicines, "Use case: query for current medication"
(STANDARDS.md §2):

* A1 acute — current if its end date has not passed, or, with no end date, it was issued
  (started) in the two years before the index date.
* A2 repeat (incl. repeat dispensing) — current if it has no end date or ends on/after the index
  date, AND the later of its authorised date and last issue date is within two years.

Additions made by ipmo, outside the FCI rule, and marked as such:

* X1 a line explicitly ``stopped`` or ``entered-in-error`` is not current, whatever its dates
  (UK Core MedicationStatement ``status`` guidance: stopped ⇒ reason in ``statusReason``).
* X2 a line that starts after the index date is not yet current (so a past index date shows the
  list as it stood then).
* X3 lines that are neither acute nor repeat (hospital inpatient/discharge statements, dispenses,
  patient-reported) are current when active/on-hold/intended and their end date has not passed.
"""

from __future__ import annotations

from datetime import date, timedelta

from ipmo.records.canonical import MedItem

ACUTE = frozenset({"acute"})
REPEAT = frozenset({"repeat", "repeat-dispensing", "continuous"})
NOT_CURRENT_STATUS = frozenset({"stopped", "entered-in-error"})
OPEN_STATUS = frozenset({"active", "on-hold", "intended", "unknown"})


def two_years_before(index: date) -> date:
    try:
        return index.replace(year=index.year - 2)
    except ValueError:  # 29 February
        return index.replace(year=index.year - 2, day=28)


def is_current(item: MedItem, index: date, *, window_start: date | None = None) -> bool:
    """FCI Appendix A (A1, A2) plus ipmo's X1–X3, at ``index``."""
    if item.status in NOT_CURRENT_STATUS:  # X1
        return False
    started = item.authored_on
    if started is not None and started > index:  # X2
        return False
    since = window_start if window_start is not None else two_years_before(index)
    if item.category in ACUTE:  # A1
        if item.end_date is not None:
            return item.end_date >= index
        issued = item.last_issued or started
        return issued is not None and issued >= since
    if item.category in REPEAT:  # A2
        if item.end_date is not None and item.end_date < index:
            return False
        dates = [d for d in (started, item.last_issued) if d is not None]
        return bool(dates) and max(dates) >= since
    if item.status not in OPEN_STATUS:  # X3
        return False
    return item.end_date is None or item.end_date >= index


def is_stopped(item: MedItem, index: date, *, recent_days: int = 365) -> bool:
    """Explicitly stopped (or a repeat ended) before the index date, recently enough to matter.

    Used to tell "stopped elsewhere" from a plain omission; the 1-year look-back keeps long-dead
    history from raising discrepancies (STANDARDS.md §7.3 step 2 keeps recent stops for context).
    """
    when = item.end_date
    if item.status == "stopped":
        return when is None or when >= index - timedelta(days=recent_days)
    if item.category in REPEAT and when is not None and when < index:
        return when >= index - timedelta(days=recent_days)
    return False
