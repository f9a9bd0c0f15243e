"""Where an organisation sits in the ICS and how many patients are registered under it.

The hierarchy is ``Organisation.parent_code`` (ICB → place → PCN → practice; pharmacies and care
homes under a place; trusts under the ICB). Registered patients are the count of ``Patient`` rows
per practice, rolled up the same chain, so a PCN's list is the sum of its practices'.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ipmo.organisations import Organisation, OrgKind
from ipmo.patients import Patient


@dataclass(frozen=True)
class Org:
    code: str
    name: str
    kind: str
    parent: str | None


@dataclass(frozen=True)
class Geography:
    orgs: dict[str, Org]
    practice_patients: dict[str, int]

    def ancestor(self, code: str, kind: str) -> str | None:
        """The nearest organisation of ``kind`` at or above ``code`` (None when there is none)."""
        seen: set[str] = set()
        cursor: str | None = code
        while cursor is not None and cursor in self.orgs and cursor not in seen:
            seen.add(cursor)
            if self.orgs[cursor].kind == kind:
                return cursor
            cursor = self.orgs[cursor].parent
        return None

    def patients_under(self) -> Counter[str]:
        """Registered patients for every organisation that has practices under it."""
        totals: Counter[str] = Counter()
        for practice, n in self.practice_patients.items():
            seen: set[str] = set()
            cursor: str | None = practice
            while cursor is not None and cursor in self.orgs and cursor not in seen:
                seen.add(cursor)
                totals[cursor] += n
                cursor = self.orgs[cursor].parent
        return totals

    @property
    def total_patients(self) -> int:
        return sum(self.practice_patients.values())

    def of_kind(self, kind: str) -> list[Org]:
        return sorted((o for o in self.orgs.values() if o.kind == kind), key=lambda o: o.code)

    def children(self, code: str) -> list[Org]:
        return sorted((o for o in self.orgs.values() if o.parent == code), key=lambda o: o.code)

    def icb(self) -> Org | None:
        icbs = self.of_kind(OrgKind.ICB)
        return icbs[0] if icbs else None


def load_geography(session: Session) -> Geography:
    orgs = {
        code: Org(code, name, kind, parent)
        for code, name, kind, parent in session.execute(
            select(
                Organisation.ods_code,
                Organisation.name,
                Organisation.kind,
                Organisation.parent_code,
            )
        )
    }
    counts = dict(
        session.execute(
            select(Patient.practice_code, func.count(Patient.id))
            .where(Patient.practice_code.is_not(None), Patient.date_of_death.is_(None))
            .group_by(Patient.practice_code)
        ).all()
    )
    return Geography(orgs, {k: int(v) for k, v in counts.items() if k is not None})
