"""Organograms generated from the registry: the ICS with where pharmacy sits, and the pharmacy
leadership structure with its lines of accountability (``Post.reports_to``).

The ICS picture is aggregate (WTE per organisation, no names) so it suits every role with
``workforce.view``; the leadership picture shows names only when asked (``workforce.detail``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ipmo.organisations import OrgKind
from ipmo.web.charts import Node, tree_svg
from ipmo.workforce.geography import Geography, load_geography
from ipmo.workforce.models import Post
from ipmo.workforce.staffing import PostFacts, load_posts
from ipmo.workforce.vocab import SECTOR_LABELS, Sector

STACK_OVER = 6


def _wte_by_org(posts: list[PostFacts], on: date) -> dict[str, dict[str, float]]:
    """In-post and vacant WTE per organisation where it is worked."""
    out: dict[str, dict[str, float]] = defaultdict(lambda: {"in_post": 0.0, "vacant": 0.0})
    for p in posts:
        if not p.active_on(on):
            continue
        for _sector, org, wte in p.allocations:
            out[org]["vacant" if not p.filled else "in_post"] += wte
    return out


def _pharmacy_line(wte: dict[str, float] | None) -> str:
    if not wte or (wte["in_post"] == 0 and wte["vacant"] == 0):
        return "Pharmacy: none recorded"
    vacant = f", {wte['vacant']:.1f} vacant" if wte["vacant"] else ""
    return f"Pharmacy: {wte['in_post']:.1f} WTE{vacant}"


def ics_tree(geo: Geography, posts: list[PostFacts], on: date | None = None) -> list[Node]:
    """ICB → places → PCNs → practices, with trusts, 111, community pharmacies and care homes
    where they sit, each box saying how much pharmacy workforce works there."""
    on = on or date.today()
    wte = _wte_by_org(posts, on)
    patients = geo.patients_under()

    def org_node(code: str, style: str = "org", extra: list[str] | None = None) -> Node:
        o = geo.orgs[code]
        lines = [f"{o.name}", f"{o.kind.replace('_', ' ').upper()} {o.code}"]
        if patients.get(code):
            lines.append(f"{patients[code]:,} patients")
        lines.append(_pharmacy_line(wte.get(code)))
        return Node(lines + (extra or []), style=style)

    def group_node(title: str, codes: list[str], style: str) -> Node:
        total = {"in_post": 0.0, "vacant": 0.0}
        for c in codes:
            for k, v in (wte.get(c) or {}).items():
                total[k] += v
        return Node([title, f"{len(codes)} organisation(s)", _pharmacy_line(total)], style=style)

    roots = []
    for icb in geo.of_kind(OrgKind.ICB):
        root = org_node(icb.code, "pharmacy")
        for child in geo.children(icb.code):
            if child.kind == OrgKind.PLACE:
                place = org_node(child.code)
                for sub in geo.children(child.code):
                    if sub.kind == OrgKind.PCN:
                        pcn = org_node(sub.code)
                        pcn.stack = True
                        pcn.children = [org_node(p.code) for p in geo.children(sub.code)]
                        place.children.append(pcn)
                kinds = defaultdict(list)
                for sub in geo.children(child.code):
                    if sub.kind in (OrgKind.PHARMACY, OrgKind.CARE_HOME):
                        kinds[sub.kind].append(sub.code)
                if kinds[OrgKind.PHARMACY]:
                    place.children.append(
                        group_node("Community pharmacies", kinds[OrgKind.PHARMACY], "pharmacy")
                    )
                if kinds[OrgKind.CARE_HOME]:
                    place.children.append(group_node("Care homes", kinds[OrgKind.CARE_HOME], "org"))
                root.children.append(place)
            elif child.kind in (OrgKind.TRUST, OrgKind.NHS111):
                root.children.append(org_node(child.code, "pharmacy"))
        roots.append(root)
    return roots


def ics_organogram(session: Session, on: date | None = None) -> str:
    geo = load_geography(session)
    roots = ics_tree(geo, load_posts(session), on)
    if not roots:
        return tree_svg([Node(["No ICB recorded"])], "ICS structure")
    return tree_svg(roots, "ICS structure and where the pharmacy workforce sits")


def leadership_tree(
    posts: list[PostFacts], names: dict[str, str] | None = None, on: date | None = None
) -> list[Node]:
    """Leadership posts joined by their lines of accountability. Each box says how many other
    staff (and WTE) report into it, directly or through non-leadership posts."""
    on = on or date.today()
    active = {p.assignment_number: p for p in posts if p.active_on(on)}
    leaders = {n for n, p in active.items() if p.leadership}

    def leader_above(number: str) -> str | None:
        seen: set[str] = set()
        cursor = active[number].reports_to
        while cursor is not None and cursor in active and cursor not in seen:
            if cursor in leaders:
                return cursor
            seen.add(cursor)
            cursor = active[cursor].reports_to
        return None

    team: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    for n, p in active.items():
        if n not in leaders:
            boss = leader_above(n)
            if boss:
                team[boss][0] += 1
                team[boss][1] += p.wte
    nodes: dict[str, Node] = {}
    for n in sorted(leaders):
        p = active[n]
        sectors = sorted({SECTOR_LABELS[Sector(s)] for s, _o, _w in p.allocations})
        lines = [p.title]
        if names is not None:
            lines.append(names.get(n) or "Vacant")
        lines.append(f"{p.org_code} · band {p.band or 'n/a'} · {p.wte:g} WTE")
        lines.append(" / ".join(sectors))
        if team[n][0]:
            lines.append(f"team: {int(team[n][0])} post(s), {team[n][1]:.1f} WTE")
        nodes[n] = Node(lines, style="vacant" if not p.filled else "pharmacy")
    roots: list[Node] = []
    for n in sorted(leaders):
        boss = leader_above(n)
        (nodes[boss].children if boss else roots).append(nodes[n])
    for node in nodes.values():
        # many leaf reports (e.g. 30 PCN leads) read better as a list than as one very wide row
        if len(node.children) > STACK_OVER and not any(c.children for c in node.children):
            node.stack = True
    return roots


def leadership_organogram(
    session: Session, show_names: bool = False, on: date | None = None
) -> str:
    posts = load_posts(session)
    names = None
    if show_names:
        names = {
            p.assignment_number: p.staff.name
            for p in session.scalars(select(Post).where(Post.staff_id.is_not(None)))
            if p.staff
        }
    roots = leadership_tree(posts, names, on)
    if not roots:
        return tree_svg([Node(["No leadership posts recorded"])], "Pharmacy leadership")
    return tree_svg(roots, "Pharmacy leadership and lines of accountability")
