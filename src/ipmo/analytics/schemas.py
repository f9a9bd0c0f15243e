"""Response models of the analytics JSON API, so /openapi.json describes every body.

``format=csv`` answers the same rows as text/csv (documented beside each route as ``CSV``).
Population figures only: no row here identifies a patient.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}}
}


class SourceLink(BaseModel):
    label: str
    url: str


class MeasureSource(BaseModel):
    """reports.catalogue.Source.as_dict: where a measure's definition comes from."""

    origin: str  # openprescribing | ipmo | ics
    label: str
    text: str
    file: str
    links: list[SourceLink]


class MeasureRead(BaseModel):
    id: str
    name: str
    title: str
    description: str
    origin: str
    source: MeasureSource
    is_percentage: bool
    is_cost_based: bool
    low_is_good: bool | None
    tags: list[str]
    has_values: bool  # the loaded data gave it results


class MeasureValue(BaseModel):
    """One organisation's value of one measure in one month (dashboard.CSV_COLUMNS and more:
    ``cost_saving_<decile>`` columns and the catalogue's fields ride along as extra keys)."""

    model_config = ConfigDict(extra="allow")

    measure: str
    org_type: str
    org_code: str
    month: str
    numerator: float | None = None
    denominator: float | None = None
    calc_value: float | None = None
    percentile: float | None = None


class InequalityRow(BaseModel):
    """One measure × month × IMD quintile (1 = most deprived), with that month's gap
    (Q1 − Q5) and slope index of inequality (reports.inequalities.inequality_rows)."""

    measure: str
    month: str
    quintile: int
    practices: int
    numerator: float | None
    denominator: float | None
    value: float | None
    gap: float | None
    sii: float | None
