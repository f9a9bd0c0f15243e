"""Paging for long lists: which rows a page shows, and the NHS.UK pagination component's
parameters with an honest count ("Showing 51 to 100 of 1,234")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

PER_PAGE = 50


@dataclass(frozen=True)
class Page:
    number: int  # 1-based
    per_page: int = PER_PAGE

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.per_page


def page_from(value: str | int | None, per_page: int = PER_PAGE) -> Page:
    """The page asked for (``?page=``); anything that is not a positive number is page 1."""
    try:
        number = int(value or 1)
    except (TypeError, ValueError):
        number = 1
    return Page(max(1, min(number, 1_000_000)), per_page)


def pagination(request: Request, page: Page, total: int, shown: int, noun: str) -> dict[str, Any]:
    """What ``pagination.html`` needs: the count line and the component's links (numbered, with
    ellipses, as the NHS.UK pagination component's "numbered" variant)."""
    pages = max(1, -(-total // page.per_page))

    def href(n: int) -> str:  # relative: a page never links to a host (offline, proxies)
        url = request.url.include_query_params(page=n).remove_query_params("csrf_token")
        return f"{url.path}?{url.query}" if url.query else url.path

    numbers = sorted(
        {1, pages, page.number - 1, page.number, page.number + 1} & set(range(1, pages + 1))
    )
    items: list[dict[str, Any]] = []
    for i, n in enumerate(numbers):
        if i and n - numbers[i - 1] > 1:
            items.append({"ellipsis": True})
        items.append({"number": n, "href": href(n), "current": n == page.number})
    first = page.offset + 1 if shown else 0
    return {
        "total": total,
        "first": first,
        "last": page.offset + shown,
        "noun": _singular(noun) if total == 1 else noun,
        "pages": pages,
        "params": {
            "previous": {"href": href(page.number - 1)} if page.number > 1 else None,
            "next": {"href": href(page.number + 1)} if page.number < pages else None,
            "items": items if pages > 1 else [],
        },
    }


def _singular(noun: str) -> str:
    """ "1 patients" reads wrong: "patients" → "patient", "entries" → "entry"."""
    if noun.endswith("ies"):
        return noun[:-3] + "y"
    return noun[:-1] if noun.endswith("s") else noun


RATE_SORTS = {"rate": "Highest rate first", "name": "Organisation name (A to Z)"}


@dataclass(frozen=True)
class RatesFilter:
    """The rates table's query (``Depends(RatesFilter)``): one indicator (``rule``), a name or
    code filter (``q``), the sort and the page."""

    rule: str = ""
    q: str = ""
    sort: str = "rate"
    page: str = "1"


def rates_view(request: Request, rows: list[dict], asked: RatesFilter) -> dict[str, Any]:
    """A long rates table (organisation × indicator) as people use it: one indicator or all,
    organisations whose name or code contains ``q``, sorted by rate or name, 50 to a page with
    an honest count. Each row needs ``org``, ``org_name``, ``rule_id``, ``rule_title`` and
    ``rate``; what ``rates_table.html`` renders."""
    rule, q, sort = asked.rule, asked.q, asked.sort
    rules = dict(sorted({(r["rule_id"], r["rule_title"]) for r in rows}, key=lambda x: x[1]))
    wanted = q.strip().lower()
    shown = [
        r
        for r in rows
        if (not rule or r["rule_id"] == rule)
        and (not wanted or wanted in f"{r['org_name']} {r['org']}".lower())
    ]
    if sort == "name":
        shown.sort(key=lambda r: (r["org_name"].lower(), r["rule_title"]))
    else:
        sort = "rate"
        shown.sort(key=lambda r: (r["rate"] is None, -(r["rate"] or 0), r["org_name"].lower()))
    at = page_from(asked.page)
    window = shown[at.offset : at.offset + at.per_page]
    noun = "rates" + (f" for “{rules.get(rule, rule)}”" if rule else "")
    return {
        "rows": window,
        "paging": pagination(request, at, len(shown), len(window), noun),
        "rules": rules,
        "rule": rule,
        "q": q,
        "sort": sort,
        "sorts": RATE_SORTS,
    }
