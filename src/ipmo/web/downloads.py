"""CSV out: one way to turn rows into CSV text and to answer it as a download."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence

from fastapi.responses import Response


def csv_text(rows: Iterable[Mapping], columns: Sequence[str], lineterminator: str = "\r\n") -> str:
    """``rows`` as CSV with a header of ``columns`` (other keys of a row are left out)."""
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=list(columns), extrasaction="ignore", lineterminator=lineterminator
    )
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def csv_download(text: str, filename: str) -> Response:
    """A ``text/csv`` response the browser saves as ``filename``."""
    return Response(
        text,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
