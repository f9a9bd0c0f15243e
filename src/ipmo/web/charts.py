"""Hand-built SVG: a top-down tree layout for organograms and a small line chart for trends.

Why hand-built: the pictures are simple boxes, lines and polylines; a few dozen lines of layout
avoid a graph-drawing dependency with system libraries (Graphviz), render the same in the page,
in the HTML report and in WeasyPrint's PDF, and can be checked in tests by parsing the XML.
"""

from __future__ import annotations

import itertools
import textwrap
from dataclasses import dataclass, field
from datetime import date
from xml.sax.saxutils import escape

BOX_W = 180
LINE_H = 14
PAD = 6
GAP_X = 16
GAP_Y = 34
STACK_GAP = 8
STYLES = {
    "org": ("#ffffff", "#005eb8", ""),
    "pharmacy": ("#e8f4ea", "#007f3b", ""),
    "vacant": ("#fff9e6", "#ed8b00", "4 3"),
    "gap": ("#fdecea", "#d5281b", ""),
}


_IDS = itertools.count(1)


def _title_id(kind: str) -> str:
    """An id for the chart's <title> that no other chart on the page shares (axe: duplicate-id;
    five line charts on one page used to say ``id="c"`` each)."""
    return f"{kind}-title-{next(_IDS)}"


@dataclass
class Node:
    lines: list[str]
    style: str = "org"
    children: list[Node] = field(default_factory=list)
    stack: bool = False  # draw children as a vertical list under this node (for long leaf lists)
    # layout results
    x: float = 0.0
    y: float = 0.0
    w: float = BOX_W

    def wrapped(self) -> list[str]:
        out: list[str] = []
        for i, line in enumerate(self.lines):
            out.extend(textwrap.wrap(line, 28) or [""] if i == 0 else textwrap.wrap(line, 30))
        return out

    @property
    def height(self) -> float:
        return len(self.wrapped()) * LINE_H + 2 * PAD


def _width(node: Node) -> float:
    if not node.children:
        return BOX_W
    if node.stack:
        return BOX_W
    return max(BOX_W, sum(_width(c) for c in node.children) + GAP_X * (len(node.children) - 1))


def _place(node: Node, left: float, top: float, rows: dict[int, float], depth: int) -> float:
    """Position ``node`` and its subtree; returns the bottom edge used."""
    width = _width(node)
    node.x, node.y = left + (width - BOX_W) / 2, top
    bottom = top + node.height
    if not node.children:
        return bottom
    if node.stack:
        y = bottom + STACK_GAP
        for child in node.children:
            child.x, child.y, child.w = node.x + 14, y, BOX_W - 14
            y += child.height + STACK_GAP
        return y
    child_top = top + rows.get(depth, node.height) + GAP_Y
    cursor = (
        left
        + (width - (sum(_width(c) for c in node.children) + GAP_X * (len(node.children) - 1))) / 2
    )
    for child in node.children:
        bottom = max(bottom, _place(child, cursor, child_top, rows, depth + 1))
        cursor += _width(child) + GAP_X
    return bottom


def _row_heights(roots: list[Node]) -> dict[int, float]:
    rows: dict[int, float] = {}

    def walk(n: Node, d: int) -> None:
        rows[d] = max(rows.get(d, 0), n.height)
        if not n.stack:
            for c in n.children:
                walk(c, d + 1)

    for r in roots:
        walk(r, 0)
    return rows


def tree_svg(roots: list[Node], title: str) -> str:
    """An accessible SVG (role="img", <title>) of one or more trees side by side."""
    rows = _row_heights(roots)
    left, bottom = 10.0, 0.0
    for root in roots:
        bottom = max(bottom, _place(root, left, 10, rows, 0))
        left += _width(root) + GAP_X * 2
    width, height = left - GAP_X * 2 + 10, bottom + 10
    tid = _title_id("tree")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{tid}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
        f'font-family="Arial, sans-serif" font-size="11">',
        f'<title id="{tid}">{escape(title)}</title>',
    ]
    for root in roots:
        _draw(root, parts)
    parts.append("</svg>")
    return "\n".join(parts)


def _draw(node: Node, parts: list[str]) -> None:
    fill, stroke, dash = STYLES.get(node.style, STYLES["org"])
    for child in node.children:
        if node.stack:
            x = node.x + 7
            parts.append(
                f'<path d="M{x:.0f},{node.y + node.height:.0f} V{child.y + child.height / 2:.0f} '
                f'H{child.x:.0f}" fill="none" stroke="#768692"/>'
            )
        else:
            mid = node.y + node.height + GAP_Y / 2
            parts.append(
                f'<path d="M{node.x + BOX_W / 2:.0f},{node.y + node.height:.0f} V{mid:.0f} '
                f'H{child.x + BOX_W / 2:.0f} V{child.y:.0f}" fill="none" stroke="#768692"/>'
            )
    w = node.w
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    parts.append(
        f'<g class="node {node.style}"><rect x="{node.x:.0f}" y="{node.y:.0f}" width="{w:.0f}" '
        f'height="{node.height:.0f}" rx="3" fill="{fill}" stroke="{stroke}"{dash_attr}/>'
    )
    for i, line in enumerate(node.wrapped()):
        weight = ' font-weight="bold"' if i == 0 else ""
        parts.append(
            f'<text x="{node.x + PAD:.0f}" y="{node.y + PAD + (i + 1) * LINE_H - 3:.0f}"'
            f"{weight}>{escape(line)}</text>"
        )
    parts.append("</g>")
    for child in node.children:
        _draw(child, parts)


def line_chart(
    points: list[tuple[date, float]],
    title: str,
    target: float | None = None,
    width: int = 320,
    height: int = 120,
    unit: str = "",
) -> str:
    """A small trend chart: the series, a dashed target line and the first/last values."""
    tid = _title_id("chart")
    # width 100% up to its natural size: a row of charts wraps instead of widening the page
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{tid}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'style="max-width:100%;height:auto" '
        f'font-family="Arial, sans-serif" font-size="10"><title id="{tid}">{escape(title)}</title>'
    )
    if not points:
        return head + f'<text x="10" y="{height / 2:.0f}">No data yet</text></svg>'
    values = [v for _d, v in points] + ([target] if target is not None else [])
    lo, hi = min(values), max(values)
    if hi == lo:
        lo, hi = lo - 1, hi + 1
    left, right, top, bottom = 40, width - 10, 10, height - 22
    span = max(len(points) - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return left + (right - left) * i / span, bottom - (bottom - top) * (v - lo) / (hi - lo)

    coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, (_d, v) in enumerate(points)))
    parts = [
        head,
        f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#aeb7bd"/>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end">{_num(hi)}</text>',
        f'<text x="{left - 4}" y="{bottom}" text-anchor="end">{_num(lo)}</text>',
        f'<text x="{left}" y="{height - 6}">{points[0][0]:%b %Y}</text>',
        f'<text x="{right}" y="{height - 6}" text-anchor="end">{points[-1][0]:%b %Y}</text>',
    ]
    if target is not None:
        _x, ty = xy(0, target)
        parts.append(
            f'<line class="target" x1="{left}" y1="{ty:.1f}" x2="{right}" y2="{ty:.1f}" '
            f'stroke="#007f3b" stroke-dasharray="4 3"/>'
            f'<text x="{right}" y="{ty - 3:.1f}" text-anchor="end" fill="#007f3b">target '
            f"{_num(target)}{escape(unit)}</text>"
        )
    parts.append(
        f'<polyline class="series" points="{coords}" fill="none" stroke="#005eb8" '
        f'stroke-width="2"/>'
    )
    lx, ly = xy(len(points) - 1, points[-1][1])
    parts.append(f'<circle cx="{lx:.1f}" cy="{ly:.1f}" r="3" fill="#005eb8"/></svg>')
    return "".join(parts)


def _num(v: float) -> str:
    return f"{v:.1f}" if abs(v) < 1000 else f"{v:,.0f}"
