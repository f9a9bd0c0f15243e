"""HTML → PDF for the printable reports (plan on a page, medicines on a page).

WeasyPrint needs Debian's pango at run time; when it cannot load, callers get one clear
:class:`PdfUnavailable` instead of an import error deep in a request.
"""

from __future__ import annotations


class PdfUnavailable(RuntimeError):
    """PDF output cannot be produced on this machine (WeasyPrint or pango missing)."""


def html_to_pdf(html: str) -> bytes:
    try:
        import weasyprint
    except (ImportError, OSError) as exc:
        raise PdfUnavailable(f"PDF output needs WeasyPrint and pango: {exc}") from None
    return weasyprint.HTML(string=html).write_pdf()
