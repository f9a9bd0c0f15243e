"""Import the workforce registry from an ESR-like CSV (layout in ``workforce/README.md``).

All or nothing: every row is parsed and checked (organisations, roles, bands, WTE, sector splits,
overlapping contracts, reporting lines) before anything is written, and the first problem is
reported as one line naming the CSV line. Re-importing an assignment number replaces it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ipmo.limits import CheckedDictReader
from ipmo.organisations import Organisation
from ipmo.workforce.models import Post, PostAllocation, StaffMember, TrainingPlanLine
from ipmo.workforce.vocab import AFC_BANDS, DEFAULT_SECTOR, Programme, Sector, StaffRole

# An ICS's ESR extract is a few thousand rows (~1 MB); anything far larger is a mistake.
MAX_UPLOAD_BYTES = 5 * 1024 * 1024

COLUMNS = (
    "assignment_number",
    "employee_number",
    "full_name",
    "gphc_number",
    "organisation_code",
    "position_title",
    "staff_role",
    "afc_band",
    "wte",
    "assignment_start",
    "assignment_end",
    "independent_prescriber",
    "prescriber_scope",
    "sector_split",
    "reports_to",
    "leadership",
    "training_programme",
)
REQUIRED = ("assignment_number", "organisation_code", "position_title", "staff_role", "wte")
TRAINING_PLAN_COLUMNS = ("programme", "year", "planned_places")
WTE_TOLERANCE = 1e-6


class WorkforceImportError(ValueError):
    """Bad input; the message names the CSV line and is safe to show."""


@dataclass(frozen=True)
class Allocation:
    sector: str
    org_code: str
    wte: float


@dataclass
class Assignment:
    line: int
    assignment_number: str
    employee_number: str | None
    full_name: str | None
    gphc_number: str | None
    org_code: str
    title: str
    role: str
    band: str | None
    wte: float
    start: date
    end: date | None
    independent_prescriber: bool
    prescriber_scope: str | None
    allocations: list[Allocation] = field(default_factory=list)
    reports_to: str | None = None
    leadership: bool = False
    training_programme: str | None = None


def _date(text: str, line: int, column: str) -> date:
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise WorkforceImportError(f"line {line}: {column} {text!r} is not a date (YYYY-MM-DD)")


def _flag(text: str, line: int, column: str) -> bool:
    value = text.strip().upper()
    if value in ("", "N", "NO", "FALSE", "0"):
        return False
    if value in ("Y", "YES", "TRUE", "1"):
        return True
    raise WorkforceImportError(f"line {line}: {column} must be Y or N, not {text!r}")


def _wte(text: str, line: int, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise WorkforceImportError(f"line {line}: {what} {text!r} is not a number") from None
    # WTE is a share of one full-time contract (37.5 h/week under AfC): 0 < WTE <= 1.0.
    if not 0 < value <= 1.0:
        raise WorkforceImportError(
            f"line {line}: {what} {text} must be more than 0 and at most 1.0"
        )
    return value


def _split(
    text: str, line: int, org_code: str, wte: float, orgs: Mapping[str, str]
) -> list[Allocation]:
    if not text.strip():
        sector = DEFAULT_SECTOR.get(orgs[org_code])  # type: ignore[call-overload]
        if sector is None:
            raise WorkforceImportError(
                f"line {line}: say which sector this post works in (sector_split)"
            )
        return [Allocation(str(sector), org_code, wte)]
    parts = []
    for chunk in text.split(";"):
        head, sep, share = chunk.strip().partition(":")
        if not sep:
            raise WorkforceImportError(
                f"line {line}: sector_split part {chunk!r} should look like sector[@ODS]:WTE"
            )
        sector, _, where = head.strip().partition("@")
        if sector not in Sector.__members__.values():
            raise WorkforceImportError(
                f"line {line}: unknown sector {sector!r}; known: {', '.join(Sector)}"
            )
        where = where.strip() or org_code
        if where not in orgs:
            raise WorkforceImportError(f"line {line}: unknown organisation {where!r} in split")
        parts.append(Allocation(sector, where, _wte(share.strip(), line, "split WTE")))
    total = sum(p.wte for p in parts)
    if abs(total - wte) > WTE_TOLERANCE:
        raise WorkforceImportError(
            f"line {line}: sector_split adds up to {total:g} WTE but the post is {wte:g} WTE"
        )
    return parts


def parse_row(row: Mapping[str, str], line: int, orgs: Mapping[str, str]) -> Assignment:
    """One CSV row → an :class:`Assignment`, or a one-line error naming the line."""
    get = {k: (row.get(k) or "").strip() for k in COLUMNS}
    for column in REQUIRED:
        if not get[column]:
            raise WorkforceImportError(f"line {line}: {column} is empty")
    org = get["organisation_code"]
    if org not in orgs:
        raise WorkforceImportError(f"line {line}: unknown organisation {org!r}")
    role = get["staff_role"]
    if role not in StaffRole.__members__.values():
        raise WorkforceImportError(
            f"line {line}: unknown staff_role {role!r}; known: {', '.join(StaffRole)}"
        )
    band = get["afc_band"] or None
    if band is not None and band.lower().removeprefix("band ") not in AFC_BANDS:
        raise WorkforceImportError(f"line {line}: unknown Agenda for Change band {band!r}")
    band = band.lower().removeprefix("band ") if band else None
    wte = _wte(get["wte"], line, "wte")
    start = (
        _date(get["assignment_start"], line, "assignment_start")
        if get["assignment_start"]
        else None
    )
    if start is None:
        raise WorkforceImportError(f"line {line}: assignment_start is empty")
    end = _date(get["assignment_end"], line, "assignment_end") if get["assignment_end"] else None
    if end is not None and end < start:
        raise WorkforceImportError(f"line {line}: assignment_end is before assignment_start")
    employee = get["employee_number"] or None
    if employee and not get["full_name"]:
        raise WorkforceImportError(f"line {line}: full_name is empty for employee {employee}")
    ip = _flag(get["independent_prescriber"], line, "independent_prescriber")
    # GPhC: the independent prescriber annotation is made on a registered pharmacist's entry.
    if ip and role != StaffRole.PHARMACIST:
        raise WorkforceImportError(
            f"line {line}: only a pharmacist can be an independent prescriber (role is {role})"
        )
    if ip and not employee:
        raise WorkforceImportError(f"line {line}: a vacant post cannot be independent_prescriber")
    programme = get["training_programme"] or None
    if programme is not None and programme not in Programme.__members__.values():
        raise WorkforceImportError(
            f"line {line}: unknown training_programme {programme!r}; known: {', '.join(Programme)}"
        )
    return Assignment(
        line=line,
        assignment_number=get["assignment_number"],
        employee_number=employee,
        full_name=get["full_name"] or None,
        gphc_number=get["gphc_number"] or None,
        org_code=org,
        title=get["position_title"],
        role=role,
        band=band,
        wte=wte,
        start=start,
        end=end,
        independent_prescriber=ip,
        prescriber_scope=get["prescriber_scope"] or None,
        allocations=_split(get["sector_split"], line, org, wte, orgs),
        reports_to=get["reports_to"] or None,
        leadership=_flag(get["leadership"], line, "leadership"),
        training_programme=programme,
    )


def _overlaps(a_start: date, a_end: date | None, b_start: date, b_end: date | None) -> bool:
    return a_start <= (b_end or date.max) and b_start <= (a_end or date.max)


def check_assignments(
    rows: list[Assignment],
    existing: Iterable[tuple[str, str | None, date, date | None]] = (),
    existing_numbers: Iterable[str] = (),
) -> None:
    """Cross-row rules: unique assignment numbers, one name per employee, no overlapping
    contracts for one person (rotational work is one post with a sector split, not two
    contracts), and every ``reports_to`` names a known assignment without a cycle.

    ``existing`` = (assignment_number, employee_number, start, end) already in the store; rows
    with the same assignment number are replaced by the file, so they are not compared.
    """
    seen: dict[str, int] = {}
    names: dict[str, tuple[str | None, int]] = {}
    for r in rows:
        if r.assignment_number in seen:
            raise WorkforceImportError(
                f"line {r.line}: assignment_number {r.assignment_number} repeats line "
                f"{seen[r.assignment_number]}"
            )
        seen[r.assignment_number] = r.line
        if r.employee_number:
            first = names.setdefault(r.employee_number, (r.full_name, r.line))
            if first[0] != r.full_name:
                raise WorkforceImportError(
                    f"line {r.line}: employee {r.employee_number} has a different full_name "
                    f"from line {first[1]}"
                )
    by_person: dict[str, list[tuple[str, date, date | None, int | None]]] = defaultdict(list)
    for number, employee, start, end in existing:
        if number not in seen and employee:
            by_person[employee].append((number, start, end, None))
    for r in rows:
        if not r.employee_number:
            continue
        for number, start, end, line in by_person[r.employee_number]:
            if _overlaps(r.start, r.end, start, end):
                where = f"line {line}" if line else "the registry"
                raise WorkforceImportError(
                    f"line {r.line}: employee {r.employee_number}'s contract "
                    f"{r.assignment_number} overlaps contract {number} ({where})"
                )
        by_person[r.employee_number].append((r.assignment_number, r.start, r.end, r.line))
    known = set(seen) | set(existing_numbers)
    manager = {r.assignment_number: r.reports_to for r in rows}
    for r in rows:
        if r.reports_to is None:
            continue
        if r.reports_to not in known:
            raise WorkforceImportError(
                f"line {r.line}: reports_to {r.reports_to!r} is not a known assignment_number"
            )
        chain = {r.assignment_number}
        cursor: str | None = r.reports_to
        while cursor is not None and cursor in manager:
            if cursor in chain:
                raise WorkforceImportError(
                    f"line {r.line}: reports_to makes a loop in the line of accountability"
                )
            chain.add(cursor)
            cursor = manager[cursor]


def _read_csv(text: str, expected: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    reader = CheckedDictReader(text.lstrip("\ufeff"))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in expected if c not in header]
    if missing:
        raise WorkforceImportError(f"line 1: missing column(s): {', '.join(missing)}")
    reader.fieldnames = header
    return [(reader.line_num, row) for row in reader]


@dataclass(frozen=True)
class ImportReport:
    assignments: int
    people: int
    vacancies: int

    def __str__(self) -> str:
        return (
            f"{self.assignments} assignment(s) imported: {self.people} people, "
            f"{self.vacancies} vacancies"
        )


def import_assignments(session: Session, text: str) -> ImportReport:
    """Validate the whole file, then write it in the caller's transaction."""
    orgs = dict(session.execute(select(Organisation.ods_code, Organisation.kind)).all())
    rows = [parse_row(row, line, orgs) for line, row in _read_csv(text, COLUMNS)]
    if not rows:
        raise WorkforceImportError("line 2: the file has no rows")
    existing = existing_assignments(session)
    check_assignments(rows, existing, [n for n, *_ in existing])
    write_assignments(session, rows)
    return ImportReport(
        assignments=len(rows),
        people=len({r.employee_number for r in rows if r.employee_number}),
        vacancies=sum(1 for r in rows if not r.employee_number),
    )


def existing_assignments(session: Session) -> list[tuple[str, str | None, date, date | None]]:
    """(assignment_number, employee_number, start, end) of every post in the store."""
    rows = session.execute(
        select(
            Post.assignment_number, StaffMember.staff_number, Post.start_date, Post.end_date
        ).join(StaffMember, Post.staff_id == StaffMember.id, isouter=True)
    ).all()
    return [(n, e, s, en) for n, e, s, en in rows]


def write_assignments(session: Session, rows: list[Assignment]) -> None:
    """Write checked assignments (an assignment number already stored is replaced); used by the
    import and by the create-post form (``edits.create_post``), so both write the same way."""
    staff = {s.staff_number: s for s in session.scalars(select(StaffMember))}
    posts = {p.assignment_number: p for p in session.scalars(select(Post))}
    for r in rows:
        person = None
        if r.employee_number:
            person = staff.get(r.employee_number)
            if person is None:
                person = staff[r.employee_number] = StaffMember(staff_number=r.employee_number)
                session.add(person)
            person.name = r.full_name or person.name
            person.gphc_number = r.gphc_number
            person.independent_prescriber = r.independent_prescriber
            person.prescriber_scope = r.prescriber_scope
        post = posts.get(r.assignment_number) or Post(assignment_number=r.assignment_number)
        post.org_code, post.title, post.role, post.band = r.org_code, r.title, r.role, r.band
        post.wte, post.start_date, post.end_date = r.wte, r.start, r.end
        post.staff = person
        post.reports_to, post.leadership = r.reports_to, r.leadership
        post.training_programme = r.training_programme
        post.allocations = [
            PostAllocation(sector=a.sector, org_code=a.org_code, wte=a.wte) for a in r.allocations
        ]
        session.add(post)
    session.flush()


def import_training_plan(session: Session, text: str) -> int:
    """``programme,year,planned_places`` rows; a repeated (programme, year) replaces the plan."""
    lines = []
    for line, row in _read_csv(text, TRAINING_PLAN_COLUMNS):
        programme = (row.get("programme") or "").strip()
        if programme not in Programme.__members__.values():
            raise WorkforceImportError(f"line {line}: unknown programme {programme!r}")
        try:
            year, planned = int(row["year"]), int(row["planned_places"])
        except (TypeError, ValueError):
            raise WorkforceImportError(
                f"line {line}: year and planned_places must be whole numbers"
            ) from None
        if planned < 0 or not 2000 <= year <= 2100:
            raise WorkforceImportError(f"line {line}: year or planned_places out of range")
        lines.append((programme, year, planned))
    for programme, year, planned in lines:
        current = session.scalar(
            select(TrainingPlanLine).filter_by(programme=programme, year=year)
        ) or TrainingPlanLine(programme=programme, year=year)
        current.planned_places = planned
        session.add(current)
    session.flush()
    return len(lines)
