"""Urgent medicine supply (ex-NUMSAS): the emergency supply rules, item by item (pure).

Source: The Human Medicines Regulations 2012 (SI 2012/1916), regulation 225 "Emergency sale etc.
by pharmacist at patient's request", https://www.legislation.gov.uk/uksi/2012/1916/regulation/225
(with the NHS Pharmacy First service specification, urgent medicine supply element, which
applies it), and The Misuse of Drugs Regulations 2001 (SI 2001/3998) Schedules 1 to 5,
https://www.legislation.gov.uk/uksi/2001/3998/schedules, for which medicines are controlled and
in which schedule. Each rule below names its paragraph; one spec test per rule
(``tests/pharmacyfirst/test_spec_urgent_supply.py``).

- ``previously-prescribed`` (225(1)(a)(iii)): the medicine has been prescribed for the patient
  before by a relevant prescriber (ipmo checks the One Medication Record and shows the pharmacist).
- ``immediate-need`` (225(1)(a)(i)-(ii)): there is an immediate need and a prescription cannot be
  obtained without undue delay (the pharmacist's interview; confirmed on the form).
- ``controlled-drug-schedule-1-3`` (225(1)(c)–(d) and 225(2)): not a controlled drug in Schedule
  1, 2 or 3, except phenobarbital or phenobarbital sodium for a patient with epilepsy.
- ``controlled-drug-5-days`` (225(1)(b)(ii)): a Schedule 4 or 5 controlled drug, no more than 5
  days' treatment.
- ``thirty-days`` (225(1)(b)(i)): no more than 30 days' treatment, except the smallest pack for
  a medicine that comes in one (insulin, an ointment or cream, an inhaler), a full cycle of an
  oral contraceptive, or the smallest course of an oral liquid antibiotic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

REG_225 = "Human Medicines Regulations 2012, reg. 225"

# substance (lower case, as it starts a dm+d name) → schedule, Misuse of Drugs Regulations 2001.
# Codeine, dihydrocodeine and similar are Schedule 2 as substances but Schedule 5 in the low
# strength preparations pharmacies dispense (Schedule 5 para 2): listed here as 5, with the
# Schedule 2 injections caught by their own names (e.g. "codeine phosphate 60mg/1ml").
SCHEDULES: dict[str, int] = {
    # Schedule 1 (no therapeutic use)
    "cannabis": 1,
    "lysergide": 1,
    "psilocin": 1,
    # Schedule 2
    "alfentanil": 2,
    "cocaine": 2,
    "dexamfetamine": 2,
    "diamorphine": 2,
    "fentanyl": 2,
    "hydromorphone": 2,
    "ketamine": 2,
    "lisdexamfetamine": 2,
    "methadone": 2,
    "methylphenidate": 2,
    "morphine": 2,
    "nabilone": 2,
    "oxycodone": 2,
    "pethidine": 2,
    "remifentanil": 2,
    "tapentadol": 2,
    # Schedule 3
    "buprenorphine": 3,
    "gabapentin": 3,
    "midazolam": 3,
    "pentazocine": 3,
    "phenobarbital": 3,
    "pregabalin": 3,
    "temazepam": 3,
    "tramadol": 3,
    # Schedule 4 (part 1: benzodiazepines and z-drugs; part 2: anabolic steroids)
    "alprazolam": 4,
    "chlordiazepoxide": 4,
    "clobazam": 4,
    "clonazepam": 4,
    "diazepam": 4,
    "lorazepam": 4,
    "nitrazepam": 4,
    "oxazepam": 4,
    "zaleplon": 4,
    "zolpidem": 4,
    "zopiclone": 4,
    "testosterone": 4,
    # Schedule 5 (low strength preparations)
    "codeine": 5,
    "dihydrocodeine": 5,
    "co-codamol": 5,
    "co-dydramol": 5,
}
PHENOBARBITAL = ("phenobarbital", "phenobarbitone")
PACK_EXCEPTIONS = {
    "pack": "the smallest pack (insulin, ointment or cream, inhaler)",
    "oral-contraceptive": "a full treatment cycle of an oral contraceptive",
    "liquid-antibiotic": "the smallest quantity for a full course of an oral liquid antibiotic",
}


@dataclass(frozen=True)
class UrgentItem:
    name: str
    days: int  # days of treatment the quantity gives
    previously_prescribed: bool
    immediate_need: bool
    pack_exception: str | None = None  # a PACK_EXCEPTIONS key
    epilepsy: bool = False  # the patient has epilepsy (phenobarbital exception)


@dataclass(frozen=True)
class RuleBreach:
    rule: str
    text: str
    source: str


def schedule_of(name: str) -> int | None:
    """The Misuse of Drugs Regulations schedule of a medicine named like dm+d, or None."""
    text = name.lower()
    words = re.findall(r"[a-z][a-z-]+", text)
    for word in words:
        if word in PHENOBARBITAL:
            return 3
        if word in SCHEDULES:
            # codeine etc. by injection are Schedule 2 (not low strength preparations)
            if SCHEDULES[word] == 5 and "injection" in text:
                return 2
            return SCHEDULES[word]
    return None


def check_item(item: UrgentItem) -> list[RuleBreach]:
    """Every emergency supply rule the item breaks (empty: it may be supplied)."""
    out = []
    if not item.previously_prescribed:
        out.append(
            RuleBreach(
                "previously-prescribed",
                f"{item.name} has not been prescribed for this patient before",
                f"{REG_225}(1)(a)(iii)",
            )
        )
    if not item.immediate_need:
        out.append(
            RuleBreach(
                "immediate-need",
                "an immediate need, and no prescription without undue delay, must be confirmed",
                f"{REG_225}(1)(a)(i)-(ii)",
            )
        )
    schedule = schedule_of(item.name)
    phenobarbital = any(p in item.name.lower() for p in PHENOBARBITAL)
    if schedule in (1, 2, 3) and not (phenobarbital and item.epilepsy):
        out.append(
            RuleBreach(
                "controlled-drug-schedule-1-3",
                f"{item.name} is a Schedule {schedule} controlled drug: no emergency supply"
                + (" (phenobarbital only for epilepsy)" if phenobarbital else ""),
                f"{REG_225}(1)(c)-(d), (2); Misuse of Drugs Regulations 2001 Schedules 1-3",
            )
        )
    if schedule in (4, 5) and item.days > 5:
        out.append(
            RuleBreach(
                "controlled-drug-5-days",
                f"{item.name} is a Schedule {schedule} controlled drug: at most 5 days' "
                f"treatment, not {item.days}",
                f"{REG_225}(1)(b)(ii)",
            )
        )
    if item.pack_exception is not None and item.pack_exception not in PACK_EXCEPTIONS:
        raise ValueError(
            f"unknown pack exception {item.pack_exception!r}; use one of: "
            + ", ".join(PACK_EXCEPTIONS)
        )
    if item.days > 30 and item.pack_exception is None:
        out.append(
            RuleBreach(
                "thirty-days",
                f"at most 30 days' treatment, not {item.days}",
                f"{REG_225}(1)(b)(i)",
            )
        )
    if item.days < 1:
        out.append(RuleBreach("thirty-days", "days of treatment must be 1 or more", REG_225))
    return out
