"""JSON API: ``GET /api/terminology/search?q=`` for any signed-in user (terminology.view).

Terminology holds no patient data, so nothing here is audited; the activity check still applies
so the endpoint is not open to anonymous callers.
"""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from pydantic.dataclasses import dataclass as pydantic_dataclass

from ipmo.security import Activity, Principal
from ipmo.terminology.bnf import therapeutic_class
from ipmo.terminology.concept import Concept
from ipmo.terminology.service import search
from ipmo.web.deps import DbSession, require

router = APIRouter(prefix="/api/terminology", tags=["terminology"])


@pydantic_dataclass(frozen=True)
class ConceptRead(Concept):
    """One dm+d concept (its fields are :class:`Concept`'s) with ipmo's therapeutic class."""

    therapeutic_class: str | None = None


class SearchResults(BaseModel):
    query: str
    count: int
    results: list[ConceptRead]


@router.get("/search")
def search_concepts(
    session: DbSession,
    q: str = Query(..., min_length=2, max_length=200, description="Name words or a dm+d id"),
    limit: int = Query(20, ge=1, le=100),
    principal: Principal = Depends(require(Activity.TERMINOLOGY_VIEW)),
) -> SearchResults:
    """dm+d concepts whose name holds every word of ``q`` (VTMs, then VMPs, then AMPs)."""
    results = [
        ConceptRead(**asdict(c), therapeutic_class=therapeutic_class(c.bnf_code))
        for c in search(session, q, limit)
    ]
    return SearchResults(query=q, count=len(results), results=results)
