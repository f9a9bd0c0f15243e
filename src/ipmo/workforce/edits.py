"""Create or edit one post from the web UI or API with the same rules as the CSV import.

A new post is one import row (``importer.COLUMNS``) checked by the import's own ``parse_row`` and
``check_assignments`` and written by its ``write_assignments``, so the form and the file can never
disagree; the only extra rule is that a new post's assignment number must not exist yet (the
import would replace it; the form says to change that post instead).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ipmo.organisations import Organisation
from ipmo.workforce.importer import (
    COLUMNS,
    WorkforceImportError,
    check_assignments,
    existing_assignments,
    parse_row,
    write_assignments,
)
from ipmo.workforce.models import Post
from ipmo.workforce.vocab import AFC_BANDS, StaffRole

EDITABLE = ("wte", "band", "end_date", "title", "independent_prescriber", "prescriber_scope")
# what the create-post form calls each import column (errors name the field the user sees)
FIELD_LABELS = {
    "assignment_number": "Assignment number",
    "employee_number": "Employee number",
    "full_name": "Full name",
    "gphc_number": "GPhC number",
    "organisation_code": "Organisation",
    "position_title": "Position title",
    "staff_role": "Staff role",
    "afc_band": "Agenda for Change band",
    "wte": "Whole-time equivalent",
    "assignment_start": "Start date",
    "assignment_end": "End date",
    "independent_prescriber": "Independent prescriber",
    "prescriber_scope": "Prescribing scope",
    "sector_split": "Sector split",
    "reports_to": "Reports to",
    "leadership": "Leadership post",
    "training_programme": "Training programme",
}
_COLUMN = re.compile(r"\b(" + "|".join(sorted(COLUMNS, key=len, reverse=True)) + r")\b")


class EditError(ValueError):
    """Bad input, safe to show; ``field`` names the form field (import column) when known."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _form_error(exc: WorkforceImportError) -> EditError:
    """The import's "line N: column …" message in the form's words."""
    text = re.sub(r"^line \d+: ", "", str(exc))
    found = _COLUMN.search(text)

    def label(m: re.Match) -> str:
        words = FIELD_LABELS[m.group(1)]
        return words if m.start() == 0 or words.startswith("GPhC") else words.lower()

    text = _COLUMN.sub(label, text)
    return EditError(text[:1].upper() + text[1:], found.group(1) if found else None)


def create_post(session: Session, form: Mapping[str, str]) -> Post:
    """Create one post from form fields named like the import columns (blank = not given)."""
    row = {c: str(form.get(c) or "").strip() for c in COLUMNS}
    orgs = dict(session.execute(select(Organisation.ods_code, Organisation.kind)).all())
    existing = existing_assignments(session)
    numbers = [n for n, *_ in existing]
    try:
        assignment = parse_row(row, 1, orgs)
        if assignment.assignment_number in numbers:
            raise EditError(
                f"Assignment number {assignment.assignment_number} already exists: change that "
                "post instead",
                "assignment_number",
            )
        check_assignments([assignment], existing, numbers)
    except WorkforceImportError as exc:
        raise _form_error(exc) from None
    write_assignments(session, [assignment])
    return session.scalars(
        select(Post).filter_by(assignment_number=assignment.assignment_number)
    ).one()


_TYPES: dict[str, tuple[type, ...]] = {
    "wte": (int, float, str),
    "band": (str, type(None)),
    "title": (str,),
    "end_date": (str, type(None)),
    "independent_prescriber": (bool,),
    "prescriber_scope": (str, type(None)),
}


def _overlaps(a: Post, start: date, end: date | None) -> bool:
    return start <= (a.end_date or date.max) and a.start_date <= (end or date.max)


def edit_post(session: Session, assignment_number: str, changes: dict) -> Post:
    post = session.scalar(select(Post).filter_by(assignment_number=assignment_number))
    if post is None:
        raise EditError(f"no post with assignment number {assignment_number!r}")
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise EditError(f"cannot change {', '.join(unknown)}; editable: {', '.join(EDITABLE)}")
    # each value must have its field's JSON type: an object, a list or a huge number reached
    # the database (or float()) and failed there, a 500
    for name, types in _TYPES.items():
        value = changes.get(name)
        wrong_bool = isinstance(value, bool) and bool not in types
        if name in changes and (wrong_bool or not isinstance(value, types)):
            raise EditError(f"{name} has the wrong type ({type(changes[name]).__name__})")
    if "wte" in changes:
        try:
            wte = float(changes["wte"])
        except (TypeError, ValueError, OverflowError):
            raise EditError(f"wte {str(changes['wte'])[:40]!r} is not a number") from None
        if not 0 < wte <= 1.0:
            raise EditError(f"wte {wte:g} must be more than 0 and at most 1.0")
        scale = wte / post.wte
        for a in post.allocations:  # a split post keeps its proportions
            a.wte = round(a.wte * scale, 6)
        post.wte = wte
    if "band" in changes:
        band = (changes["band"] or "").strip().lower().removeprefix("band ") or None
        if band is not None and band not in AFC_BANDS:
            raise EditError(f"unknown Agenda for Change band {changes['band']!r}")
        post.band = band
    if "title" in changes:
        title = str(changes["title"] or "").strip()
        if not title:
            raise EditError("title cannot be empty")
        post.title = title
    if "end_date" in changes:
        end = None
        if changes["end_date"]:
            try:
                end = date.fromisoformat(str(changes["end_date"]))
            except ValueError:
                raise EditError(f"end_date {changes['end_date']!r} is not a date") from None
            if end < post.start_date:
                raise EditError("end_date is before the post's start date")
        if post.staff_id is not None:
            others = session.scalars(
                select(Post).where(Post.staff_id == post.staff_id, Post.id != post.id)
            )
            for other in others:
                if _overlaps(other, post.start_date, end):
                    raise EditError(f"the new end date overlaps contract {other.assignment_number}")
        post.end_date = end
    if "independent_prescriber" in changes or "prescriber_scope" in changes:
        if post.staff is None:
            raise EditError("a vacant post has no prescriber status")
        if "independent_prescriber" in changes:
            ip = bool(changes["independent_prescriber"])
            if ip and post.role != StaffRole.PHARMACIST:
                raise EditError("only a pharmacist can be an independent prescriber")
            post.staff.independent_prescriber = ip
        if "prescriber_scope" in changes:
            post.staff.prescriber_scope = changes["prescriber_scope"] or None
    session.flush()
    return post
