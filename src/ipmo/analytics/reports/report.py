"""The "medicines on a page": one printable report of an organisation's prescribing measures
(HTML, and PDF through WeasyPrint), the analytics counterpart of the plans domain's plan on a page.

For one practice, PCN, place (sub-ICB), ICB or region and its latest month, every measure with a
value, biggest opportunity first:

1. cost-based measures with a positive saving at the 50th percentile (OpenPrescribing's
   ``cost_saving_50``: what the organisation would save at the median organisation's level),
   largest saving first;
2. then every other measure, worst percentile first (the percentile where low is good, 100 minus
   it where high is good).

Each row shows the value, percentile and decile band among all organisations of the same type in
the loaded data (national when the national EPD is loaded), the saving, and a static SVG of that
type's deciles and the organisation's line over time (no script, so it prints and works in the
PDF). Antibiotic (AWaRe) and inhaler headlines come first when those measures have values;
footnotes cite each measure's OpenPrescribing definition.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

import pyarrow as pa
import pyarrow.compute as pc
from markupsafe import Markup

from ipmo.analytics.compute.levels import DECILES, LEVELS
from ipmo.analytics.measures.aware import MEASURE_ID as AWARE_ID
from ipmo.analytics.measures.definitions import MeasureDefinition, load_definitions
from ipmo.web.downloads import csv_text
from ipmo.web.pdf import PdfUnavailable, html_to_pdf, report_templates  # noqa: F401 (re-exported)

LEVEL_NAMES = {
    "practice": "Practice",
    "pcn": "Primary care network",
    "place": "Place (sub-ICB)",
    "icb": "Integrated care board",
    "region": "Region",
    "national": "England",
}
# Headline topics: each item is a tuple of alternatives (the first with a value is shown; the
# OpenPrescribing measure before ipmo's equivalent), at most HEADLINE_ITEMS items per topic.
HEADLINES = {
    "Antibiotic stewardship": (
        ("aware_antibiotics", AWARE_ID), ("broad_spectrum",), ("all_antibiotics",)
    ),
    "Inhalers": (
        ("environmental_inhalers", "ipmo_inhalers_mdi_share"),
        ("ipmo_inhalers_co2e_per_inhaler", "carbon_salbutamol"),
        ("saba",),
    ),
}  # fmt: skip
HEADLINE_ITEMS = 2
# Watch + Reserve share of Access + Watch + Reserve items (OpenPrescribing's and aware.py's)
AWARE_IDS = ("aware_antibiotics", AWARE_ID)
OP_MEASURE_URL = "https://openprescribing.net/measure/{id}/"
OP_DEFINITION_URL = (
    "https://github.com/bennettoxford/openprescribing/blob/main/openprescribing/measures/"
    "definitions/{id}.json"
)
# aware.py: NHS England's ambition that ≥ 70% of antibiotic use is from the Access group
AWARE_ACCESS_TARGET = 70.0
CSV_COLUMNS = ["rank", "measure", "name", "org_type", "org_code", "month", "numerator"]
CSV_COLUMNS += ["denominator", "calc_value", "percentile", "decile", "cost_saving_50"]


class ReportError(LookupError):
    """Unknown or ambiguous organisation, or no data; the message is one line for the user."""


def report_definitions(root: Path | None = None) -> dict[str, MeasureDefinition]:
    """The shipped definitions plus ipmo's own for the data in ``root`` (AWaRe, biosimilars,
    inhalers, ICS YAML measures — ipmo_measures.py), so every measure in the results has a name
    and a direction. Only their metadata is used here; cached per state of the inputs."""
    if root is None:
        return dict(_definitions(None, ()))
    inputs = [root / "presentations.parquet", *sorted((root / "ics_measures").glob("*"))]
    stamp = tuple((str(p), p.stat().st_mtime_ns) for p in inputs if p.exists())
    return dict(_definitions(str(root), stamp))


@lru_cache(maxsize=4)
def _definitions(root: str | None, stamp: tuple) -> dict[str, MeasureDefinition]:  # noqa: ARG001
    from ipmo.analytics.measures.ics_measures import shipped_dir
    from ipmo.analytics.planning.ipmo_measures import ics_folders, ipmo_definitions

    codes: dict[str, str] = {}
    if root is not None and (Path(root) / "presentations.parquet").exists():
        import pyarrow.parquet as pq

        table = pq.read_table(Path(root) / "presentations.parquet")
        codes = dict(zip(table["bnf_code"].to_pylist(), table["bnf_name"].to_pylist(), strict=True))
    folders = ics_folders(Path(root)) if root is not None else [shipped_dir()]
    return load_definitions() | {d.id: d for d in ipmo_definitions(codes, folders)}


def find_org(values: pa.Table, org_code: str, org_type: str | None = None) -> tuple[str, str]:
    """(org_type, org_code) of an organisation in the results, or ReportError."""
    if org_type is not None and org_type not in LEVELS:
        raise ReportError(f"unknown organisation type {org_type!r}: use {', '.join(LEVELS)}")
    for code in dict.fromkeys((org_code.strip(), org_code.strip().upper())):
        rows = values.filter(pc.equal(values["org_code"], code))
        types = [t for t in LEVELS if t in set(rows["org_type"].to_pylist())]
        if org_type is not None:
            types = [t for t in types if t == org_type]
        if len(types) == 1:
            return types[0], code
        if len(types) > 1:
            raise ReportError(
                f"{code} is a code at several levels ({', '.join(types)}): pass --org-type"
            )
    where = f" {org_type}" if org_type else " practice, PCN, place, ICB or region"
    raise ReportError(f"unknown organisation {org_code!r}: not a{where} code in the loaded data")


def decile_band(percentile: float | None) -> int | None:
    """1 = the lowest-valued tenth of organisations … 10 = the highest."""
    return None if percentile is None else min(10, int(percentile // 10) + 1)


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def format_value(value: float | None, is_percentage: bool) -> str:
    if value is None:
        return "–"
    if is_percentage:
        return f"{value * 100:.1f}%"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"


def badness(row: dict, definition: MeasureDefinition) -> float:
    """Higher = worse; the percentile already runs from low to high value."""
    if row["percentile"] is None:
        return -1.0
    return 100 - row["percentile"] if definition.low_is_good is False else row["percentile"]


def order_key(row: dict, definition: MeasureDefinition) -> tuple:
    saving = row.get("cost_saving_50") if definition.is_cost_based else None
    if saving is not None and saving > 0:
        return (0, -saving, 0.0, row["measure"])
    return (1, 0.0, -badness(row, definition), row["measure"])


# ── static SVG: deciles band, median and the organisation's line ───────────────────────────────


def sparkline(
    months: list[date],
    deciles: dict[date, dict[int, float | None]],
    own: dict[date, float | None],
    title: str,
    width: int = 150,
    height: int = 30,
) -> Markup:
    """A small accessible SVG: 10th–90th percentile band (grey), median (blue, dashed) and the
    organisation (red, last point marked). Built from numbers and escaped text only."""
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" class="sparkline"><title>{escape(title)}</title>'
    )
    candidates = [
        v for m in months for v in (deciles.get(m, {}).get(10), deciles.get(m, {}).get(90))
    ]
    candidates += [own.get(m) for m in months]
    numbers = [v for v in candidates if v is not None]
    if not months or not numbers:
        return Markup(head + "</svg>")  # noqa: S704 - numbers and escaped text only
    lo, hi = min(numbers), max(numbers)
    if hi == lo:
        lo, hi = lo - 1, hi + 1
    pad, span = 3, max(len(months) - 1, 1)

    def x(i: int) -> float:
        return pad + (width - 2 * pad) * i / span

    def y(v: float) -> float:
        return height - pad - (height - 2 * pad) * (v - lo) / (hi - lo)

    def line(points: Sequence[tuple[int, float | None]]) -> str:
        return " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in points if v is not None)

    parts = [head]
    band: list[tuple[int, float, float]] = []
    for i, m in enumerate(months):
        a, b = deciles.get(m, {}).get(10), deciles.get(m, {}).get(90)
        if a is not None and b is not None:
            band.append((i, a, b))
    if band:
        upper = " ".join(f"{x(i):.1f},{y(b):.1f}" for i, _a, b in band)
        lower = " ".join(f"{x(i):.1f},{y(a):.1f}" for i, a, _b in reversed(band))
        parts.append(f'<polygon class="band" points="{upper} {lower}" fill="#d8dde0"/>')
    median = line([(i, deciles.get(m, {}).get(50)) for i, m in enumerate(months)])
    if median:
        parts.append(
            f'<polyline class="median" points="{median}" fill="none" stroke="#005eb8" '
            'stroke-width="1.2" stroke-dasharray="3 2"/>'
        )
    mine = [(i, v) for i, m in enumerate(months) if (v := own.get(m)) is not None]
    if mine:
        parts.append(
            f'<polyline class="own" points="{line(mine)}" fill="none" stroke="#d5281b" '
            'stroke-width="2"/>'
        )
        i, v = mine[-1]
        parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.5" fill="#d5281b"/>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - numbers and escaped text only


# ── the report as data ─────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Practices:
    """Names and parents from the practices table (None where unknown)."""

    rows: dict[str, dict]

    @classmethod
    def read(cls, root: Path) -> Practices:
        import pyarrow.parquet as pq

        path = root / "practices.parquet"
        if not path.exists():
            return cls({})
        return cls({r["practice"]: r for r in pq.read_table(path).to_pylist()})


def report_view(
    values: pa.Table,
    globals_: pa.Table,
    org_code: str,
    org_type: str | None = None,
    definitions: dict[str, MeasureDefinition] | None = None,
    practices: Practices | None = None,
    root: Path | None = None,
) -> dict:
    """Everything the template shows, as plain data (also the CSV's source). ``definitions``
    default to ``report_definitions(root)``."""
    definitions = definitions if definitions is not None else report_definitions(root)
    org_type, org_code = find_org(values, org_code, org_type)
    mine = values.filter(
        pc.and_(pc.equal(values["org_type"], org_type), pc.equal(values["org_code"], org_code))
    ).to_pylist()
    mine = [r for r in mine if r["measure"] in definitions]
    with_value = [r for r in mine if r["calc_value"] is not None]
    if not with_value:
        raise ReportError(f"{org_code} has no measure values in the loaded data")
    month = max(r["month"] for r in with_value)
    months = sorted({r["month"] for r in mine})
    latest = [r for r in mine if r["month"] == month]
    shown = sorted(
        (r for r in latest if r["calc_value"] is not None),
        key=lambda r: order_key(r, definitions[r["measure"]]),
    )
    no_data = sorted(r["measure"] for r in latest if r["calc_value"] is None)
    deciles = _deciles(globals_, org_type, {r["measure"] for r in shown})
    own: dict[str, dict[date, float | None]] = {}
    for r in mine:
        own.setdefault(r["measure"], {})[r["month"]] = r["calc_value"]
    peers = pc.count_distinct(
        values.filter(
            pc.and_(pc.equal(values["org_type"], org_type), pc.equal(values["month"], month))
        )["org_code"]
    ).as_py()
    from ipmo.analytics.planning.ipmo_measures import shipped_measure_ids

    shipped = shipped_measure_ids()
    rows = []
    for rank, r in enumerate(shown, start=1):
        d = definitions[r["measure"]]
        band = decile_band(r["percentile"])
        rows.append(
            r | {
                "rank": rank,
                "name": d.name,
                "definition": d,
                "value_text": format_value(r["calc_value"], d.is_percentage),
                "decile": band,
                "band_text": _band_text(band),
                "unit": "" if d.is_percentage else _text(d.raw.get("y_label")),
                "direction": "no better direction"
                if d.low_is_good is None
                else "lower is better"
                if d.low_is_good
                else "higher is better",
                "saving": r["cost_saving_50"] if d.is_cost_based else None,
                "chart": sparkline(
                    months, deciles.get(r["measure"], {}), own.get(r["measure"], {}),
                    f"{d.name}: {org_code} (red) against {org_type} deciles, 10th to 90th "
                    f"percentile (grey band) and median (blue), {months[0]:%b %Y} to "
                    f"{months[-1]:%b %Y}",
                ),
                "footnote": rank,
                "source": _source(d, shipped, root),
            }
        )  # fmt: skip
    info = (practices or Practices({})).rows.get(org_code, {}) if org_type == "practice" else {}
    return {
        "org_code": org_code,
        "org_type": org_type,
        "level": LEVEL_NAMES[org_type],
        "name": info.get("name"),
        "parents": [(label, info[key]) for key, label in
                    (("pcn", "PCN"), ("place", "Place"), ("icb", "ICB"), ("region", "Region"))
                    if info.get(key)],
        "month": month,
        "first_month": months[0],
        "peers": peers,
        "rows": rows,
        "headlines": _headlines(rows),
        "no_data": no_data,
        "generated": date.today(),
    }  # fmt: skip


def _text(value) -> str:
    return " ".join(value) if isinstance(value, list) else str(value or "")


def _deciles(globals_: pa.Table, org_type: str, measures: set[str]) -> dict:
    out: dict[str, dict[date, dict[int, float | None]]] = {}
    rows = globals_.filter(pc.equal(globals_["org_type"], org_type)).to_pylist()
    for g in rows:
        if g["measure"] in measures:
            out.setdefault(g["measure"], {})[g["month"]] = {c: g[f"p{c}"] for c in DECILES}
    return out


def _band_text(band: int | None) -> str:
    if band is None:
        return "–"
    return f"{ordinal(band)} ({(band - 1) * 10}–{band * 10})"


def _source(d: MeasureDefinition, shipped: set[str], root: Path | None = None) -> dict:
    """What a footnote cites: the OpenPrescribing measure page and its definition file, or for
    ipmo's own measures (ipmo_measures.py) their module or ICS YAML file (catalogue.py)."""
    if d.id == AWARE_ID:
        return {
            "text": "ipmo measure: UKHSA AWaRe 2024 classification of BNF 5.1 antibacterials"
            " (ipmo/analytics/measures/aware.py),"
            " the list behind OpenPrescribing's aware_antibiotics",
            "links": [("aware_antibiotics", OP_MEASURE_URL.format(id="aware_antibiotics"))],
        }
    if d.id not in shipped:
        from ipmo.analytics.reports.catalogue import ics_files, source_of

        return {"text": source_of(d, shipped, ics_files(root)).text, "links": []}
    return {
        "text": f"OpenPrescribing measure {d.id}",
        "links": [
            ("measure page", OP_MEASURE_URL.format(id=d.id)),
            ("definition", OP_DEFINITION_URL.format(id=d.id)),
        ],
    }


def _headlines(rows: list[dict]) -> list[dict]:
    by_id = {r["measure"]: r for r in rows}
    out = []
    for topic, choices in HEADLINES.items():
        items: list[dict] = []
        for alternatives in choices:
            r = next((by_id[m] for m in alternatives if m in by_id), None)
            if r is None or len(items) == HEADLINE_ITEMS:
                continue
            text = f"{r['name']}: {r['value_text']}" + (f" {r['unit']}" if r["unit"] else "")
            if r["measure"] in AWARE_IDS:
                access = 100 - r["calc_value"] * 100
                met = "meets" if access >= AWARE_ACCESS_TARGET else "below"
                text = (
                    f"Access antibiotics {access:.1f}% of AWaRe-classified items, Watch + Reserve "
                    f"{r['value_text']} ({met} the NHS England ambition of ≥ "
                    f"{AWARE_ACCESS_TARGET:.0f}% Access)"
                )
            items.append({"text": text, "percentile": r["percentile"], "footnote": r["footnote"]})
        if items:
            out.append({"topic": topic, "items": items})
    return out


# ── output ─────────────────────────────────────────────────────────────────────────────────────


def render_html(view: dict) -> str:
    env = report_templates("ipmo.analytics", filters={"ordinal": ordinal})
    return env.get_template("medicines_on_a_page.html").render(r=view)


def render_pdf(view: dict) -> bytes:
    """PDF from the same HTML (``PdfUnavailable`` when WeasyPrint/pango are missing)."""
    return html_to_pdf(render_html(view))


def render_csv(view: dict) -> str:
    return csv_text(view["rows"], CSV_COLUMNS)


def render(view: dict, fmt: str) -> bytes:
    """The report as ``html``, ``pdf`` or ``csv`` bytes."""
    if fmt == "html":
        return render_html(view).encode("utf-8")
    if fmt == "pdf":
        return render_pdf(view)
    if fmt == "csv":
        return render_csv(view).encode("utf-8")
    raise ValueError(f"format must be html, pdf or csv, not {fmt!r}")


def for_org(
    results, root: Path, org_code: str, org_type: str | None, fmt: str
) -> tuple[dict, bytes]:
    """The report of one organisation from the cached ``results``: its view and its bytes in
    ``fmt`` (the CLI and the web page both call this). ReportError, PdfUnavailable."""
    view = report_view(
        results.values, results.globals, org_code, org_type,
        practices=Practices.read(root), root=root,
    )  # fmt: skip
    return view, render(view, fmt)


def file_name(view: dict, fmt: str) -> str:
    return f"medicines-on-a-page-{view['org_code']}-{view['month']:%Y-%m}.{fmt}"
