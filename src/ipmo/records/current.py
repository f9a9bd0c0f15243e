"""Which medication lines are "current" at an index date, and the clause that decided it.

Rule: Faculty of Clinical Informatics, *Rendering of a Consolidated Medications Record*
(FCIPUB:2309-01, September 2023), Appendix A, as summarised in FHIR terms by the NHS England
Implementation guide for digital medicines, "Use case: query for current medication"
(STANDARDS.md §2):

* A1 acute — current if its end date has not passed, or, with no end date, it was issued
  (started) in the two years before the index date.
* A2 repeat (incl. repeat dispensing) — current if it has no end date or ends on/after the index
  date, AND the later of its authorised date and last issue date is within two years.

Dispenses (D1). The same IG use case lets a consumer build "current" from dispensing records
itself (its example search is ``MedicationDispense?…&whenPrepared=ge…``: a dispense counts while
it is recent) but states no duration. ipmo's rule, stated here and in the README: a dispense
(FHIR ``MedicationDispense``, whatever its status short of stopped/entered in error — a handed
over dispense is ``completed``) is current from its handover until its supply runs out plus a
grace period. The supply is, in order: ``daysSupply``; else the quantity ÷ the daily dose from
its dosage; else :data:`DEFAULT_SUPPLY_DAYS` (the usual 28-day NHS supply). Partial dispenses
of one item add up (the adapter sums their supply). :data:`GRACE_DAYS` allows for the patient
collecting the next supply late.

Additions made by ipmo, outside the FCI rule, and marked as such:

* X1 a line explicitly ``stopped`` (or cancelled) or ``entered-in-error`` is not current,
  whatever its dates (UK Core MedicationStatement ``status`` guidance: stopped ⇒ reason in
  ``statusReason``).
* X2 a line that starts after the index date is not yet current (so a past index date shows the
  list as it stood then).
* X3 lines that are neither acute nor repeat nor dispenses (hospital inpatient/discharge
  statements, patient-reported) are current when active/on-hold/intended/unknown and their end
  date has not passed.

:func:`decide` returns the clause (a short code, explained by :func:`explain`); the codes are
shown with every line in the CLI, the API, the FHIR output and the page, so that no line leaves
the list without its reason.
"""

from __future__ import annotations

from datetime import date, timedelta

from ipmo.records.canonical import MedItem

ACUTE = frozenset({"acute"})
REPEAT = frozenset({"repeat", "repeat-dispensing", "continuous"})
NOT_CURRENT_STATUS = frozenset({"stopped", "entered-in-error"})
OPEN_STATUS = frozenset({"active", "on-hold", "intended", "unknown"})
DISPENSE = "MedicationDispense"
DEFAULT_SUPPLY_DAYS = 28  # ipmo's stated default when a dispense says nothing of its supply
GRACE_DAYS = 14  # ipmo's stated grace after the supply runs out (late collection)

# clause code → (current?, explanation). Codes starting with the FCI clause name (A1, A2) are
# the published rule; D1 and X* are ipmo's (module doc).
CLAUSES: dict[str, tuple[bool, str]] = {
    "X1": (False, "X1: stopped, cancelled or entered in error"),
    "X2": (False, "X2: starts after the index date"),
    "A1": (True, "FCI A1: acute, end date not passed"),
    "A1-issued": (True, "FCI A1: acute with no end date, issued within two years"),
    "A1-ended": (False, "FCI A1: acute, end date passed"),
    "A1-old": (False, "FCI A1: acute with no end date, issued more than two years ago"),
    "A1-undated": (False, "FCI A1: acute with no date at all, so it cannot be shown current"),
    "A2": (True, "FCI A2: repeat, not ended, authorised or issued within two years"),
    "A2-ended": (False, "FCI A2: repeat, end date passed"),
    "A2-old": (False, "FCI A2: repeat, neither authorised nor issued within two years"),
    "A2-undated": (False, "FCI A2: repeat with no date at all, so it cannot be shown current"),
    "D1": (True, "D1: dispensed, supply (plus grace) lasts to the index date"),
    "D1-out": (False, "D1: dispensed, supply (plus grace) ran out before the index date"),
    "D1-undated": (False, "D1: dispense with no handover date, so it cannot be shown current"),
    "X3": (True, "X3: other line, open and not ended"),
    "X3-ended": (False, "X3: other line, end date passed"),
    "X3-closed": (False, "X3: other line, completed or otherwise closed"),
}
CURRENT_CLAUSES = frozenset(code for code, (cur, _) in CLAUSES.items() if cur)


def two_years_before(index: date) -> date:
    try:
        return index.replace(year=index.year - 2)
    except ValueError:  # 29 February
        return index.replace(year=index.year - 2, day=28)


def supply_end(item: MedItem) -> date | None:
    """Last day a dispense's supply (plus grace) covers; ``None`` without a handover date."""
    handed = item.authored_on or item.last_issued
    if handed is None:
        return None
    days = item.supply_days if item.supply_days is not None else DEFAULT_SUPPLY_DAYS
    return handed + timedelta(days=int(round(days)) + GRACE_DAYS)


def decide(item: MedItem, index: date, *, window_start: date | None = None) -> str:
    """The clause (a key of :data:`CLAUSES`) that makes ``item`` current or not at ``index``."""
    if item.status in NOT_CURRENT_STATUS:  # X1
        return "X1"
    started = item.authored_on
    if started is not None and started > index:  # X2
        return "X2"
    category = item.category
    if category in ACUTE and item.resource_type != DISPENSE:  # A1
        if item.end_date is not None:
            return "A1" if item.end_date >= index else "A1-ended"
        issued = item.last_issued or started
        if issued is None:
            return "A1-undated"
        since = window_start if window_start is not None else two_years_before(index)
        return "A1-issued" if issued >= since else "A1-old"
    if category in REPEAT and item.resource_type != DISPENSE:  # A2
        if item.end_date is not None and item.end_date < index:
            return "A2-ended"
        last = started
        if item.last_issued is not None and (last is None or item.last_issued > last):
            last = item.last_issued
        if last is None:
            return "A2-undated"
        since = window_start if window_start is not None else two_years_before(index)
        return "A2" if last >= since else "A2-old"
    if item.resource_type == DISPENSE:  # D1
        end = supply_end(item)
        if end is None:
            return "D1-undated"
        return "D1" if end >= index else "D1-out"
    if item.status not in OPEN_STATUS:  # X3
        return "X3-closed"
    if item.end_date is not None and item.end_date < index:
        return "X3-ended"
    return "X3"


def is_current(item: MedItem, index: date, *, window_start: date | None = None) -> bool:
    """FCI Appendix A (A1, A2), dispenses (D1) and ipmo's X1–X3, at ``index``."""
    return decide(item, index, window_start=window_start) in CURRENT_CLAUSES


def explain(item: MedItem, clause: str) -> str:
    """The clause in words, with the dates of this line that it turned on."""
    text = CLAUSES.get(clause, (False, clause))[1]
    if clause.startswith("D1") and clause != "D1-undated":
        days = item.supply_days if item.supply_days is not None else DEFAULT_SUPPLY_DAYS
        basis = item.supply_basis or f"default {DEFAULT_SUPPLY_DAYS} days"
        end = supply_end(item)
        text += f" ({days:g} days' supply from {basis}, + {GRACE_DAYS} days' grace: to {end})"
    elif clause == "X1" and item.status_reason:
        text += f" ({item.status_reason})"
    return text


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
