"""What a resident's administrations reveal (pure functions over :class:`Administration`).

Each rule cites its source. NICE SC1 ("Managing medicines in care homes", 2014) says WHAT care
homes must notice and act on; it sets no numeric thresholds, so every count and window here is
ipmo's own choice, marked "ipmo's threshold" and kept in one constant so it can be tuned.
NICE NG5 ("Medicines optimisation", 2015, recommendations 1.4 on structured medication review)
is why each finding feeds the resident's medication review: a finding is a reason to review,
never an automatic change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from ipmo.carehomes.administrations import GIVEN, OMITTED, REFUSED, Administration

# ipmo's thresholds (NICE SC1 gives none)
NON_ADMIN_COUNT = 3
NON_ADMIN_WINDOW = timedelta(days=7)
PRN_REGULAR_DAYS = 5
PRN_REGULAR_WINDOW_DAYS = 7
PRN_UNUSED_DAYS = 28
# Parkinson's UK "Get It On Time" and NPSA Rapid Response Report NPSA/2010/RRR009 ("Reducing
# harm from omitted and delayed medicines") name Parkinson's medicines as time-critical; Parkinson's
# UK asks for them within 30 minutes of the prescribed time.
TIME_CRITICAL_LATE = timedelta(minutes=30)
# Every finding this module can raise, by its rule name (the hazard log names each one).
RULES = (
    "repeated-refusals-or-omissions",
    "prn-used-regularly",
    "prn-never-used",
    "covert-without-best-interests",
    "time-critical-late",
    "antipsychotic-in-dementia",
)
# Parkinson's medicines by name (generic names and common brands), as listed by Parkinson's UK
# "Get It On Time"; matched on the dm+d name because an eMAR export carries it.
TIME_CRITICAL_NAMES = (
    "levodopa",
    "co-careldopa",
    "co-beneldopa",
    "madopar",
    "sinemet",
    "stalevo",
    "entacapone",
    "opicapone",
    "ropinirole",
    "pramipexole",
    "rotigotine",
    "apomorphine",
    "rasagiline",
    "selegiline",
    "safinamide",
    "amantadine",
)

# NICE NG97 ("Dementia: assessment, management and support", 2018), section 1.7 "Managing
# non-cognitive symptoms": antipsychotics only for a risk of harm or severe distress, at the
# lowest dose for the shortest time, and reassess at least every 6 weeks whether they are still
# needed (https://www.nice.org.uk/guidance/ng97). Banerjee, "The use of antipsychotic medication
# for people with dementia: time for action" (Department of Health, 2009) is why NHS England
# tracks their use in dementia; STOMP is the same programme for people with a learning
# disability or autism (not what this rule looks for).
ANTIPSYCHOTIC_REVIEW = timedelta(weeks=6)
# How far back the store-backed findings read a resident's administrations: the longest window
# any rule looks at (the antipsychotic reassessment's 6 weeks).
LOOKBACK = ANTIPSYCHOTIC_REVIEW
# Antipsychotics (BNF 4.2.1 first- and second-generation, 4.2.2 depots) by generic name, matched
# on the dm+d name the eMAR carries.
ANTIPSYCHOTIC_NAMES = (
    "amisulpride",
    "aripiprazole",
    "benperidol",
    "chlorpromazine",
    "clozapine",
    "flupentixol",
    "haloperidol",
    "levomepromazine",
    "lurasidone",
    "olanzapine",
    "paliperidone",
    "pericyazine",
    "pimozide",
    "prochlorperazine",
    "promazine",
    "quetiapine",
    "risperidone",
    "sulpiride",
    "trifluoperazine",
    "zuclopenthixol",
)


@dataclass(frozen=True)
class Finding:
    rule: str
    medicine_code: str
    medicine_name: str
    summary: str
    source: str
    evidence: tuple[str, ...] = field(default=())  # administration identifiers


# Each rule's summary ({n}: the count it rests on) and source, shared by the Python functions
# below and the DuckDB SQL (findings_sql.py), so both engines say the same thing.
TEXT = {
    "repeated-refusals-or-omissions": (
        f"{NON_ADMIN_COUNT} doses refused or omitted within 7 days",
        "NICE SC1 (2014) 1.12 and 1.5; threshold ipmo's",
    ),
    "prn-used-regularly": (
        "when-required medicine given on {n} of the last 7 days",
        "NICE SC1 (2014) 1.12 and 1.8; threshold ipmo's",
    ),
    "prn-never-used": (
        "when-required medicine not given in the last 28 days",
        "NICE SC1 (2014) 1.8 and 1.9; threshold ipmo's",
    ),
    "covert-without-best-interests": (
        "{n} covert dose(s) without a recorded best-interests decision",
        "NICE SC1 (2014) 1.14; Mental Capacity Act 2005",
    ),
    "time-critical-late": (
        "{n} dose(s) of a time-critical medicine given over 30 minutes late",
        "Parkinson's UK Get It On Time; NPSA/2010/RRR009; NICE SC1 (2014) 1.12",
    ),
    "antipsychotic-in-dementia": (
        "antipsychotic given {n} time(s) in the last 6 weeks to a resident with dementia: "
        "reassess whether it is still needed",
        "NICE NG97 (2018) 1.7; reassess at least every 6 weeks",
    ),
}


def finding(rule: str, code: str, name: str, n: int, evidence: Iterable[str] = ()) -> Finding:
    summary, source = TEXT[rule]
    return Finding(rule, code, name, summary.format(n=n), source, tuple(evidence))


def _by_medicine(admins: Iterable[Administration]) -> dict[str, list[Administration]]:
    """Doses per medicine in time order (ties by identifier, as the SQL engine orders them)."""
    out: dict[str, list[Administration]] = defaultdict(list)
    for a in admins:
        out[a.medicine_code].append(a)
    for items in out.values():
        items.sort(key=lambda a: (a.at, a.identifier))
    return out


def _counted(rule: str, code: str, doses: list[Administration]) -> Finding:
    """A finding resting on these doses (named after the first, counted, cited as evidence)."""
    return finding(rule, code, doses[0].medicine_name, len(doses), (a.identifier for a in doses))


def repeated_refusals_or_omissions(
    admins: Iterable[Administration], as_of: datetime
) -> list[Finding]:
    """A regular medicine refused or omitted NON_ADMIN_COUNT times within any NON_ADMIN_WINDOW.

    Source: NICE SC1 section 1.12 (care home staff administering medicines) — record when a dose
    is refused or not given and tell the prescriber / GP when a resident repeatedly refuses, and
    section 1.5 (identifying and reporting medicines-related problems). 3 in 7 days is ipmo's
    threshold (the issue's example). Withheld doses are a decision, not a missed dose: excluded.
    """
    out = []
    for code, items in _by_medicine(admins).items():
        missed = [
            a for a in items if not a.prn and a.outcome in (REFUSED, OMITTED) and a.at <= as_of
        ]
        for i in range(len(missed) - NON_ADMIN_COUNT + 1):
            run = missed[i : i + NON_ADMIN_COUNT]
            if run[-1].at - run[0].at < NON_ADMIN_WINDOW:
                evidence = (a.identifier for a in run)
                name = run[0].medicine_name
                out.append(
                    finding("repeated-refusals-or-omissions", code, name, len(run), evidence)
                )
                break
    return out


def prn_used_regularly(admins: Iterable[Administration], as_of: datetime) -> list[Finding]:
    """A PRN ("when required") medicine given on PRN_REGULAR_DAYS or more of the last 7 days.

    Source: NICE SC1 section 1.12 (when-required medicines: the care plan says when to give them)
    and section 1.8 (medication review) — a PRN medicine given most days should be reviewed as
    possibly needing to be regular, or stopped. ≥5 of 7 days is ipmo's threshold.
    """
    start = as_of - timedelta(days=PRN_REGULAR_WINDOW_DAYS)
    out = []
    for code, items in _by_medicine(admins).items():
        given = [a for a in items if a.prn and a.outcome == GIVEN and start < a.at <= as_of]
        days = {a.at.date() for a in given}
        if len(days) >= PRN_REGULAR_DAYS:
            evidence = (a.identifier for a in given)
            name = given[0].medicine_name
            out.append(finding("prn-used-regularly", code, name, len(days), evidence))
    return out


def prn_never_used(
    admins: Iterable[Administration],
    prn_on_record: Mapping[str, tuple[str, date]],
    as_of: datetime,
) -> list[Finding]:
    """A PRN medicine on the record for PRN_UNUSED_DAYS or more and not given in that time.

    ``prn_on_record`` maps a medicine code to (name, date it was started). Source: NICE SC1
    section 1.8 (medication review) and 1.9 (ordering: do not reorder medicines that are not
    needed — unused PRN supplies are a large part of care-home waste). 28 days is ipmo's
    threshold (one monthly ordering cycle).
    """
    cutoff = as_of - timedelta(days=PRN_UNUSED_DAYS)
    given_since = {a.medicine_code for a in admins if a.outcome == GIVEN and cutoff < a.at <= as_of}
    out = []
    for code, (name, started) in prn_on_record.items():
        if started <= cutoff.date() and code not in given_since:
            out.append(finding("prn-never-used", code, name, 0))
    return out


def covert_without_best_interests(
    admins: Iterable[Administration], best_interests_for: set[str]
) -> list[Finding]:
    """A dose given covertly for a medicine with no recorded best-interests decision.

    ``best_interests_for`` holds the medicine codes a recorded decision covers. Source: NICE SC1
    section 1.14 (covert administration): only after a best-interests meeting under the Mental
    Capacity Act 2005, recording the decision and the medicines it covers. No threshold: one
    such dose is a finding.
    """
    out = []
    for code, items in _by_medicine(admins).items():
        covert = [a for a in items if a.covert and a.outcome == GIVEN]
        if covert and code not in best_interests_for:
            out.append(_counted("covert-without-best-interests", code, covert))
    return out


def is_time_critical(medicine_name: str) -> bool:
    name = medicine_name.lower()
    return any(n in name for n in TIME_CRITICAL_NAMES)


def time_critical_late(admins: Iterable[Administration]) -> list[Finding]:
    """A Parkinson's medicine given more than 30 minutes after its scheduled round.

    Source: Parkinson's UK "Get It On Time" (within 30 minutes of the prescribed time) and NPSA
    RRR009 (2010) on time-critical medicines; NICE SC1 1.12 asks homes to give medicines at the
    right time. Only doses whose source records a scheduled time can be judged (FHIR
    MedicationAdministration has none; the CSV's scheduled_at does).
    """
    out = []
    for code, items in _by_medicine(admins).items():
        late = [
            a
            for a in items
            if a.outcome == GIVEN
            and a.scheduled_at is not None
            and is_time_critical(a.medicine_name)
            and a.at - a.scheduled_at > TIME_CRITICAL_LATE
        ]
        if late:
            out.append(_counted("time-critical-late", code, late))
    return out


def is_antipsychotic(medicine_name: str) -> bool:
    name = medicine_name.lower()
    return any(n in name for n in ANTIPSYCHOTIC_NAMES)


def antipsychotic_in_dementia(
    admins: Iterable[Administration], has_dementia: bool, as_of: datetime
) -> list[Finding]:
    """An antipsychotic given in the last 6 weeks to a resident with a dementia diagnosis.

    Source: NICE NG97 (2018) section 1.7 (antipsychotics only for risk of harm or severe
    distress; reassess at least every 6 weeks whether still needed). The finding asks for that
    reassessment in the resident's medication review; it never says the medicine is wrong.
    ``has_dementia``: the GP record holds a dementia diagnosis (the review domain's codelist)."""
    if not has_dementia:
        return []
    start = as_of - ANTIPSYCHOTIC_REVIEW
    out = []
    for code, items in _by_medicine(admins).items():
        given = [
            a
            for a in items
            if a.outcome == GIVEN and start < a.at <= as_of and is_antipsychotic(a.medicine_name)
        ]
        if given:
            out.append(_counted("antipsychotic-in-dementia", code, given))
    return out


def all_findings(
    admins: list[Administration],
    as_of: datetime,
    prn_on_record: Mapping[str, tuple[str, date]] | None = None,
    best_interests_for: set[str] | None = None,
    has_dementia: bool = False,
) -> list[Finding]:
    return (
        repeated_refusals_or_omissions(admins, as_of)
        + prn_used_regularly(admins, as_of)
        + prn_never_used(admins, prn_on_record or {}, as_of)
        + covert_without_best_interests(admins, best_interests_for or set())
        + time_critical_late(admins)
        + antipsychotic_in_dementia(admins, has_dementia, as_of)
    )
