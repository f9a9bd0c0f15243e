"""Edit one post from the web UI or API with the same rules as the CSV import."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ipmo.workforce.models import Post
from ipmo.workforce.vocab import AFC_BANDS, StaffRole

EDITABLE = ("wte", "band", "end_date", "title", "independent_prescriber", "prescriber_scope")


class EditError(ValueError):
    pass


def _overlaps(a: Post, start: date, end: date | None) -> bool:
    return start <= (a.end_date or date.max) and a.start_date <= (end or date.max)


def edit_post(session: Session, assignment_number: str, changes: dict) -> Post:
    post = session.scalar(select(Post).filter_by(assignment_number=assignment_number))
    if post is None:
        raise EditError(f"no post with assignment number {assignment_number!r}")
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise EditError(f"cannot change {', '.join(unknown)}; editable: {', '.join(EDITABLE)}")
    if "wte" in changes:
        try:
            wte = float(changes["wte"])
        except (TypeError, ValueError):
            raise EditError(f"wte {changes['wte']!r} is not a number") from None
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
