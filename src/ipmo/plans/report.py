"""The "plan on a page": one printable page per plan (HTML, and PDF through WeasyPrint).

Each objective shows its owner, dates, baseline → current → target, a trend chart (inline SVG, so
the HTML is one self-contained file and the PDF needs no browser) and its RAG status.
"""

from __future__ import annotations

from markupsafe import Markup

from ipmo.web.charts import line_chart
from ipmo.web.pdf import PdfUnavailable, html_to_pdf, report_templates  # noqa: F401 (re-exported)

RAG_LABELS = {"green": "On track", "amber": "At risk", "red": "Off track", "grey": "No data"}


def chart(objective: dict) -> Markup:
    from datetime import date

    points = [(date.fromisoformat(p["date"]), p["value"]) for p in objective["series"]]
    svg = line_chart(
        points,
        f"Trend of {objective['metric']['title']}",
        target=objective["target"],
        unit=objective["metric"]["unit"],
    )
    return Markup(svg)  # built by our own code from numbers and escaped text  # noqa: S704


def render_html(view: dict) -> str:
    charts = {o["id"]: chart(o) for o in view["objectives"]}
    return (
        report_templates("ipmo.plans", RAG_LABELS=RAG_LABELS)
        .get_template("plan_on_a_page.html")
        .render(plan=view, charts=charts)
    )


def render_pdf(view: dict) -> bytes:
    """PDF from the same HTML (``PdfUnavailable`` when WeasyPrint/pango are missing)."""
    return html_to_pdf(render_html(view))
