"""HTML → PDF for the printable reports (plan on a page, medicines on a page).

WeasyPrint needs Debian's pango at run time; when it cannot load, callers get one clear
:class:`PdfUnavailable` instead of an import error deep in a request.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape


class PdfUnavailable(RuntimeError):
    """PDF output cannot be produced on this machine (WeasyPrint or pango missing)."""


def report_templates(package: str, **names: Any) -> Environment:
    """The Jinja environment of a printable report: ``<package>/report_templates`` (self-contained
    HTML, no site layout), autoescaped, with ``names`` as template globals and filters (a
    callable named in ``filters=`` is a filter)."""
    env = Environment(
        loader=PackageLoader(package, "report_templates"), autoescape=select_autoescape(["html"])
    )
    env.filters.update(names.pop("filters", {}))
    env.globals.update(names)
    return env


def html_to_pdf(html: str) -> bytes:
    try:
        import weasyprint
    except (ImportError, OSError) as exc:
        raise PdfUnavailable(f"PDF output needs WeasyPrint and pango: {exc}") from None
    return weasyprint.HTML(string=html).write_pdf()
